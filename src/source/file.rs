//! The file tailer: follows paths and globs through rotation, truncation,
//! deletion and late creation, and loses no line.
//!
//! Files are identified by (device, inode), never by name:
//! - *rotation* (rename, then create): the path now names another inode. The
//!   old file is kept open and read to its end for `rotate_wait`, so lines
//!   written to it after the rename are counted, then its partial last line
//!   is flushed and it is closed; the new file is read from its beginning.
//!   A path that disappears is treated the same way.
//! - *truncation* (copytruncate, `> file`): the same inode, but shorter than
//!   the read offset, or no longer starting with the bytes it started with
//!   (a writer may have refilled it past the old offset before we looked).
//!   Reading starts again from 0.
//! - files that appear after start are read from their beginning; files
//!   present at the first start (no saved state) from `read_from`.
//!
//! The tailer wakes on inotify events (notify) and on a poll interval, which
//! covers lost or unavailable events; [`Tailer::poll_once`] is the whole
//! algorithm and tests drive it directly, with no sleeps.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::Watcher;
use tokio::sync::mpsc;

use super::checkpoint::{Checkpoints, Entry, FINGERPRINT_BYTES, FileKey, Fingerprint};
use super::{Message, StreamId, next_stream_id};
use crate::config::ReadFrom;
use crate::log_limit::LogLimiter;
use crate::metrics::Metrics;
use crate::parse::framing::{Frame, LineFramer};
use crate::readiness::Readiness;

/// What a file source reads and how.
#[derive(Debug, Clone)]
pub struct FileSourceConfig {
    /// The `source` label.
    pub name: Arc<str>,
    /// Paths and globs.
    pub patterns: Vec<String>,
    /// Device for records that name none.
    pub device: Option<Arc<str>>,
    /// Where to start in files present at the first start.
    pub read_from: ReadFrom,
    /// How long a rotated file is still read.
    pub rotate_wait: Duration,
    /// Fallback poll interval.
    pub poll_interval: Duration,
    pub max_line_bytes: usize,
}

/// One open file.
#[derive(Debug)]
struct Tracked {
    stream: StreamId,
    path: PathBuf,
    file: File,
    key: FileKey,
    /// Bytes read so far (the file's cursor).
    offset: u64,
    fingerprint: Fingerprint,
    framer: LineFramer,
}

/// Why the tailer stopped reading.
#[derive(Debug)]
struct Disconnected;

/// Follows the files of one source.
#[derive(Debug)]
pub struct Tailer {
    cfg: FileSourceConfig,
    tx: mpsc::Sender<Message>,
    checkpoints: Arc<Checkpoints>,
    readiness: Arc<Readiness>,
    metrics: Arc<Metrics>,
    active: HashMap<PathBuf, Tracked>,
    draining: Vec<(Tracked, Instant)>,
    /// False until the first scan: only files seen then start at `read_from`.
    scanned: bool,
    /// Whether `read_from` applies to files found by the first scan (a first
    /// start without saved state, or a source added by a reload).
    fresh: bool,
    /// Paths that failed to open, with when the failure was last logged.
    failing: HashMap<PathBuf, LogLimiter>,
}

/// How often a persistent error on one path is logged.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

impl Tailer {
    /// A tailer sending to `tx`. With `fresh`, files found by the first scan
    /// start at `read_from`; otherwise files without a checkpoint are new and
    /// read from their beginning.
    pub fn new(
        fresh: bool,
        cfg: FileSourceConfig,
        tx: mpsc::Sender<Message>,
        checkpoints: Arc<Checkpoints>,
        readiness: Arc<Readiness>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            cfg,
            tx,
            checkpoints,
            readiness,
            metrics,
            active: HashMap::new(),
            draining: Vec::new(),
            scanned: false,
            fresh,
            failing: HashMap::new(),
        }
    }

    /// Runs until `stop` is set, waking on `wake` (inotify events; the caller
    /// also sends one after setting `stop`) or every poll interval. Returns
    /// the files it had open, detached from the pipeline but still
    /// checkpointed, so that a successor can resume them.
    pub fn run(
        mut self,
        wake: Receiver<()>,
        wake_tx: Sender<()>,
        stop: Arc<AtomicBool>,
    ) -> Vec<FileKey> {
        // Only changes wake the tailer: notify also reports opens and reads,
        // and the tailer's own directory listing would wake it forever.
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| matches!(e.kind, notify::EventKind::Access(_))) {
                return;
            }
            let _ = wake_tx.send(());
        })
        .map_err(|error| tracing::warn!(source = %self.cfg.name, %error, "Cannot use inotify; polling only."))
        .ok();
        let mut watched = Vec::new();
        let mut connected = true;
        while !stop.load(Ordering::SeqCst) {
            if let Some(w) = watcher.as_mut() {
                self.watch_dirs(w, &mut watched);
            }
            let more = match self.poll_once() {
                Ok(more) => more,
                Err(Disconnected) => {
                    connected = false;
                    break;
                }
            };
            if more {
                continue; // a backlog: read on, but look at `stop` between passes
            }
            match wake.recv_timeout(self.cfg.poll_interval) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => while wake.try_recv().is_ok() {},
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(self.cfg.poll_interval),
            }
        }
        // One last look, so that a successor after a reload does not take a
        // file this tailer would have found as one that predates it.
        if connected {
            let _ = self.poll_once();
        }
        for pattern in &self.cfg.patterns {
            self.readiness.ready(&format!("file {pattern}"));
        }
        for path in self.failing.keys() {
            self.readiness.ready(&format!("open {}", path.display()));
        }
        let open: Vec<Tracked> = self
            .active
            .drain()
            .map(|(_, t)| t)
            .chain(self.draining.drain(..).map(|(t, _)| t))
            .collect();
        for t in &open {
            let _ = self.tx.blocking_send(Message::Detach { stream: t.stream });
        }
        self.metrics
            .files_watched
            .with_label_values(&[&*self.cfg.name])
            .set(0);
        open.iter().map(|t| t.key).collect()
    }

    /// Watches the directory of each pattern (once it exists).
    fn watch_dirs(&self, watcher: &mut notify::RecommendedWatcher, watched: &mut Vec<PathBuf>) {
        for pattern in &self.cfg.patterns {
            let dir = static_dir(pattern);
            if watched.contains(&dir) || !dir.is_dir() {
                continue;
            }
            if watcher
                .watch(&dir, notify::RecursiveMode::NonRecursive)
                .is_ok()
            {
                watched.push(dir);
            }
        }
    }

    /// One pass: find files, detect rotation and truncation, read everything
    /// new, close drained rotated files. Errs only when the pipeline is gone.
    /// Returns whether a file has more to read than one pass takes.
    fn poll_once(&mut self) -> Result<bool, Disconnected> {
        if !self.scanned {
            self.resume_rotated_while_stopped()?;
        }
        let paths = self.expand();
        let gone: Vec<PathBuf> = self
            .active
            .keys()
            .filter(|p| !paths.contains(p))
            .cloned()
            .collect();
        for path in gone {
            if let Some(t) = self.active.remove(&path) {
                // A renamed file still has a link; a deleted one has none.
                if t.file.metadata().is_ok_and(|m| m.nlink() > 0) {
                    self.metrics
                        .file_rotations
                        .with_label_values(&[&*self.cfg.name])
                        .inc();
                }
                self.draining.push((t, Instant::now()));
            }
        }
        for path in &paths {
            self.check_path(path)?;
        }
        // Unreadable paths that are gone no longer hold readiness back.
        let vanished: Vec<PathBuf> = self
            .failing
            .keys()
            .filter(|p| !paths.contains(p))
            .cloned()
            .collect();
        for path in vanished {
            self.failing.remove(&path);
            self.readiness.ready(&format!("open {}", path.display()));
        }
        if !self.scanned {
            self.scanned = true;
            self.tx
                .blocking_send(Message::ScanDone)
                .map_err(|_| Disconnected)?;
        }
        let mut more = false;
        let mut tracked: Vec<&mut Tracked> = self.active.values_mut().collect();
        tracked.extend(self.draining.iter_mut().map(|(t, _)| t));
        for t in tracked {
            more |= read_available(t, &self.tx, &self.cfg.name, &self.metrics)?;
        }
        self.close_drained()?;
        let open = (self.active.len() + self.draining.len()) as i64;
        self.metrics
            .files_watched
            .with_label_values(&[&*self.cfg.name])
            .set(open);
        Ok(more)
    }

    /// The files the patterns name now; reports patterns that match nothing.
    fn expand(&mut self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for pattern in &self.cfg.patterns {
            let before = out.len();
            match glob::glob(pattern) {
                Ok(paths) => out.extend(paths.flatten().filter(|p| p.is_file())),
                Err(_) => out.push(PathBuf::from(pattern)),
            }
            let key = format!("file {pattern}");
            if out.len() == before {
                self.readiness.waiting(&key, "no file matches yet");
            } else {
                self.readiness.ready(&key);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Opens a new path, or checks a tracked one for rotation and truncation.
    fn check_path(&mut self, path: &Path) -> Result<(), Disconnected> {
        let meta = match fs::metadata(path) {
            Ok(meta) => meta,
            Err(_) => return Ok(()), // gone between the glob and now: next pass
        };
        let key = FileKey::of(&meta);
        if let Some(t) = self.active.get_mut(path) {
            if t.key == key {
                if is_truncated(t, meta.len()) {
                    self.metrics
                        .file_truncations
                        .with_label_values(&[&*self.cfg.name])
                        .inc();
                    tracing::info!(source = %self.cfg.name, path = %path.display(), "File truncated; reading it again from the start.");
                    restart_at_zero(t, &self.tx)?;
                }
                return Ok(());
            }
            // Rename and create: keep reading the old file for a while.
            if let Some(old) = self.active.remove(path) {
                self.metrics
                    .file_rotations
                    .with_label_values(&[&*self.cfg.name])
                    .inc();
                self.draining.push((old, Instant::now()));
            }
        }
        // A file renamed inside the patterns keeps its stream.
        if let Some(i) = self.draining.iter().position(|(t, _)| t.key == key) {
            let (mut t, _) = self.draining.remove(i);
            t.path = path.to_owned();
            self.active.insert(path.to_owned(), t);
            return Ok(());
        }
        if self.active.values().any(|t| t.key == key) {
            return Ok(()); // a second name (hard link) of a file already read
        }
        self.open(path, key, meta.len())
    }

    fn open(&mut self, path: &Path, key: FileKey, size: u64) -> Result<(), Disconnected> {
        let mut file = match File::open(path) {
            Ok(file) => {
                self.failing.remove(path);
                self.readiness.ready(&format!("open {}", path.display()));
                file
            }
            Err(error) => {
                self.open_failed(path, &error);
                return Ok(());
            }
        };
        let start_at = match self.checkpoints.take_restored(key, &mut file) {
            Some(entry) if entry.offset <= size => entry.offset,
            Some(_) => 0,
            None if !self.scanned && self.fresh && self.cfg.read_from == ReadFrom::End => size,
            None => 0,
        };
        self.start(path.to_owned(), file, key, size, start_at, false)
    }

    /// Starts reading `file` at `offset`, announcing the stream.
    fn start(
        &mut self,
        path: PathBuf,
        mut file: File,
        key: FileKey,
        size: u64,
        offset: u64,
        draining: bool,
    ) -> Result<(), Disconnected> {
        let fingerprint = Fingerprint::of(&mut file, size).unwrap_or(Fingerprint::EMPTY);
        if file.seek(SeekFrom::Start(offset)).is_err() {
            return Ok(());
        }
        let stream = next_stream_id();
        let entry = Entry {
            path: path.clone(),
            key,
            fingerprint,
            offset,
        };
        let open = Message::Open {
            stream,
            source: Arc::clone(&self.cfg.name),
            device: self.cfg.device.clone(),
            file: Some(entry),
            export_header: true,
        };
        self.tx.blocking_send(open).map_err(|_| Disconnected)?;
        let tracked = Tracked {
            stream,
            path: path.clone(),
            file,
            key,
            offset,
            fingerprint,
            framer: LineFramer::new(self.cfg.max_line_bytes),
        };
        if draining {
            self.draining.push((tracked, Instant::now()));
        } else {
            self.active.insert(path, tracked);
        }
        Ok(())
    }

    /// Files rotated while the exporter was stopped: their saved entry names
    /// a path that now holds another file; the old file, found by inode in
    /// the same directory (`app.log.1`), is read from its saved offset.
    fn resume_rotated_while_stopped(&mut self) -> Result<(), Disconnected> {
        let patterns: Vec<glob::Pattern> = self
            .cfg
            .patterns
            .iter()
            .filter_map(|p| glob::Pattern::new(p).ok())
            .collect();
        // `*` must not cross a `/`: a source on `d/*.log` does not own `d/sub/a.log`.
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..Default::default()
        };
        let mine = |path: &Path| patterns.iter().any(|p| p.matches_path_with(path, options));
        for entry in self.checkpoints.take_unclaimed_where(mine) {
            let Some(dir) = entry.path.parent() else {
                continue;
            };
            let Some(found) = find_by_key(dir, entry.key) else {
                continue;
            };
            if fs::canonicalize(&found).ok() == fs::canonicalize(&entry.path).ok() {
                // Still at its old path: the normal scan resumes it.
                self.checkpoints.restore(entry);
                continue;
            }
            let Ok(mut file) = File::open(&found) else {
                continue;
            };
            let size = file.metadata().map_or(0, |m| m.len());
            if entry.fingerprint.matches(&mut file) && entry.offset <= size {
                tracing::info!(source = %self.cfg.name, path = %found.display(), "Reading the rest of a file rotated while stopped.");
                self.start(
                    entry.path.clone(),
                    file,
                    entry.key,
                    size,
                    entry.offset,
                    true,
                )?;
            }
        }
        Ok(())
    }

    /// Closes rotated files whose grace period is over, after a last read.
    fn close_drained(&mut self) -> Result<(), Disconnected> {
        let wait = self.cfg.rotate_wait;
        let (done, keep): (Vec<_>, Vec<_>) = self
            .draining
            .drain(..)
            .partition(|(_, since)| since.elapsed() >= wait);
        self.draining = keep;
        for (mut t, _) in done {
            read_available(&mut t, &self.tx, &self.cfg.name, &self.metrics)?;
            let mut frames = Vec::new();
            t.framer.flush(|frame| frames.push(owned(frame)));
            send_frames(&self.tx, t.stream, frames, t.offset)?;
            self.tx
                .blocking_send(Message::Close { stream: t.stream })
                .map_err(|_| Disconnected)?;
        }
        Ok(())
    }

    fn open_failed(&mut self, path: &Path, error: &io::Error) {
        let reason = match error.kind() {
            io::ErrorKind::PermissionDenied => "permission_denied",
            io::ErrorKind::NotFound => return,
            _ => "io",
        };
        self.readiness
            .waiting(&format!("open {}", path.display()), &error.to_string());
        // Counted once each time a file starts failing; logged once a minute.
        let limiter = self.failing.entry(path.to_owned()).or_insert_with(|| {
            self.metrics
                .file_errors
                .with_label_values(&[&*self.cfg.name, reason])
                .inc();
            LogLimiter::new(ERROR_LOG_INTERVAL)
        });
        if let Some(held_back) = limiter.allow(Instant::now()) {
            tracing::error!(source = %self.cfg.name, path = %path.display(), %error, attempts_not_logged = held_back, "Cannot open log file; other files go on.");
        }
    }
}

/// True when the file shrank below what was read, or no longer begins with
/// the bytes it began with (truncated, then refilled past the old offset).
fn is_truncated(t: &mut Tracked, size: u64) -> bool {
    if size < t.offset {
        return true;
    }
    let changed = !t.fingerprint.matches(&mut t.file);
    let _ = t.file.seek(SeekFrom::Start(t.offset));
    changed
}

fn restart_at_zero(t: &mut Tracked, tx: &mpsc::Sender<Message>) -> Result<(), Disconnected> {
    t.offset = 0;
    t.framer.reset();
    t.fingerprint = Fingerprint::EMPTY;
    let _ = t.file.seek(SeekFrom::Start(0));
    let reset = Message::Reset {
        stream: t.stream,
        fingerprint: t.fingerprint,
    };
    tx.blocking_send(reset).map_err(|_| Disconnected)
}

/// Bytes read from one file in one pass, so that a backlog neither starves
/// the other files nor delays a shutdown.
const READ_BUDGET: u64 = 16 * 1024 * 1024;

/// Reads what `t` has beyond its offset (up to the budget) and sends it as
/// framed blocks. Returns whether the budget ran out before the end.
fn read_available(
    t: &mut Tracked,
    tx: &mpsc::Sender<Message>,
    source: &str,
    metrics: &Metrics,
) -> Result<bool, Disconnected> {
    let mut budget = READ_BUDGET;
    loop {
        if budget == 0 {
            return Ok(true);
        }
        let n = match t.file.read(t.framer.spare_mut()) {
            Ok(0) => return Ok(false),
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                metrics.file_errors.with_label_values(&[source, "io"]).inc();
                tracing::warn!(source, path = %t.path.display(), %error, "Read failed; retrying on the next pass.");
                return Ok(false);
            }
        };
        budget = budget.saturating_sub(n as u64);
        t.offset += n as u64;
        let bytes = Message::Bytes {
            stream: t.stream,
            count: n as u64,
        };
        tx.blocking_send(bytes).map_err(|_| Disconnected)?;
        // The fingerprint grows before the lines it covers are sent, so a
        // saved offset is never past what the saved fingerprint covers.
        grow_fingerprint(t, tx)?;
        let mut frames = Vec::new();
        t.framer.commit(n, |frame| frames.push(owned(frame)));
        let committed = t.offset - t.framer.pending() as u64;
        send_frames(tx, t.stream, frames, committed)?;
    }
}

/// Extends a short fingerprint as the file grows, up to 1 KiB.
fn grow_fingerprint(t: &mut Tracked, tx: &mpsc::Sender<Message>) -> Result<(), Disconnected> {
    if t.fingerprint.len >= FINGERPRINT_BYTES || t.offset <= t.fingerprint.len {
        return Ok(());
    }
    let grown = Fingerprint::of(&mut t.file, t.offset);
    let _ = t.file.seek(SeekFrom::Start(t.offset));
    if let Ok(fingerprint) = grown {
        t.fingerprint = fingerprint;
        tx.blocking_send(Message::Fingerprint {
            stream: t.stream,
            fingerprint,
        })
        .map_err(|_| Disconnected)?;
    }
    Ok(())
}

/// A frame whose block is copied out of the framer's buffer.
enum OwnedFrame {
    Lines(Vec<u8>),
    TooLong,
}

fn owned(frame: Frame<'_>) -> OwnedFrame {
    match frame {
        Frame::Lines(block) => OwnedFrame::Lines(block.to_vec()),
        Frame::TooLong => OwnedFrame::TooLong,
    }
}

/// Sends frames; the last carries the offset up to which the file is then
/// processed, so a checkpoint never runs ahead of the pipeline.
fn send_frames(
    tx: &mpsc::Sender<Message>,
    stream: StreamId,
    frames: Vec<OwnedFrame>,
    committed: u64,
) -> Result<(), Disconnected> {
    let last = frames.len().saturating_sub(1);
    for (i, frame) in frames.into_iter().enumerate() {
        let end_offset = (i == last).then_some(committed);
        let message = match frame {
            OwnedFrame::Lines(block) => Message::Lines {
                stream,
                block,
                end_offset,
            },
            OwnedFrame::TooLong => Message::TooLong { stream, end_offset },
        };
        tx.blocking_send(message).map_err(|_| Disconnected)?;
    }
    Ok(())
}

/// The directory part of a pattern before its first wildcard.
fn static_dir(pattern: &str) -> PathBuf {
    let cut = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..cut].rfind('/') {
        Some(0) => PathBuf::from("/"),
        Some(i) => PathBuf::from(&pattern[..i]),
        None => PathBuf::from("."),
    }
}

/// A file in `dir` with identity `key`.
fn find_by_key(dir: &Path, key: FileKey) -> Option<PathBuf> {
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| fs::metadata(p).is_ok_and(|m| FileKey::of(&m) == key))
}

#[cfg(test)]
mod tests;
