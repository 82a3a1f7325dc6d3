//! The tailer's scenarios, driven pass by pass through `poll_once` on real
//! files, with the pipeline's side (lines, checkpoint offsets, closes)
//! played by the harness. No sleeps: rotation grace periods are set to zero
//! or ended by hand.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;

use super::*;

struct Harness {
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
    tailer: Tailer,
    rx: mpsc::Receiver<Message>,
    checkpoints: Arc<Checkpoints>,
    metrics: Arc<Metrics>,
    streams: HashMap<StreamId, Option<FileKey>>,
    lines: Vec<String>,
    too_long: usize,
    closed: usize,
}

impl Harness {
    fn new(pattern: &str, read_from: ReadFrom) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        Self::with_dirs(dir, state, pattern, read_from)
    }

    fn with_dirs(
        dir: tempfile::TempDir,
        state: tempfile::TempDir,
        pattern: &str,
        read_from: ReadFrom,
    ) -> Self {
        let (tx, rx) = mpsc::channel(100_000);
        let checkpoints = Arc::new(Checkpoints::open(Some(state.path())).unwrap());
        let metrics = Arc::new(Metrics::new());
        let cfg = FileSourceConfig {
            name: Arc::from("test"),
            patterns: vec![dir.path().join(pattern).to_string_lossy().into_owned()],
            device: None,
            read_from,
            rotate_wait: Duration::ZERO,
            poll_interval: Duration::from_millis(10),
            max_line_bytes: 64,
        };
        let fresh = !checkpoints.has_history();
        checkpoints.expect_first_scan();
        let tailer = Tailer::new(
            fresh,
            cfg,
            tx,
            Arc::clone(&checkpoints),
            Arc::new(Readiness::default()),
            Arc::clone(&metrics),
        );
        Self {
            dir,
            state,
            tailer,
            rx,
            checkpoints,
            metrics,
            streams: HashMap::new(),
            lines: Vec::new(),
            too_long: 0,
            closed: 0,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn append(&self, name: &str, text: &str) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path(name))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    /// One tailer pass, then what the pipeline would do with its messages.
    fn poll(&mut self) {
        while self.tailer.poll_once().unwrap() {}
        while let Ok(message) = self.rx.try_recv() {
            match message {
                Message::Open { stream, file, .. } => {
                    let key = file.as_ref().map(|e| e.key);
                    if let Some(entry) = file {
                        self.checkpoints.track(entry);
                    }
                    self.streams.insert(stream, key);
                }
                Message::Reset {
                    stream,
                    fingerprint,
                } => {
                    if let Some(Some(key)) = self.streams.get(&stream) {
                        self.checkpoints.update(*key, None, Some(fingerprint));
                        self.checkpoints.processed(*key, 0);
                    }
                }
                Message::Fingerprint {
                    stream,
                    fingerprint,
                } => {
                    if let Some(Some(key)) = self.streams.get(&stream) {
                        self.checkpoints.update(*key, None, Some(fingerprint));
                    }
                }
                Message::ScanDone => self.checkpoints.first_scan_done(),
                Message::Lines {
                    stream,
                    block,
                    end_offset,
                } => {
                    let text = String::from_utf8(block).unwrap();
                    self.lines.extend(text.lines().map(str::to_owned));
                    self.advance(stream, end_offset);
                }
                Message::TooLong { stream, end_offset } => {
                    self.too_long += 1;
                    self.advance(stream, end_offset);
                }
                Message::Close { stream } => {
                    if let Some(Some(key)) = self.streams.remove(&stream) {
                        self.checkpoints.forget(key);
                    }
                    self.closed += 1;
                }
                Message::Bytes { .. }
                | Message::Reconfigure(_)
                | Message::Detach { .. }
                | Message::Barrier(_) => {}
            }
        }
    }

    fn advance(&self, stream: StreamId, end_offset: Option<u64>) {
        if let (Some(Some(key)), Some(offset)) = (self.streams.get(&stream), end_offset) {
            self.checkpoints.processed(*key, offset);
        }
    }

    fn take_lines(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lines)
    }

    fn counter(&self, name: &str) -> String {
        self.metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with(name))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn file_read_from_beginning_and_end_at_first_start() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "old 1\nold 2\n");
    h.poll();
    assert_eq!(h.take_lines(), ["old 1", "old 2"]);

    let mut h = Harness::new("a.log", ReadFrom::End);
    h.append("a.log", "old 1\n");
    h.poll();
    h.append("a.log", "new 1\n");
    h.poll();
    assert_eq!(h.take_lines(), ["new 1"]);
}

#[test]
fn file_rotation_by_rename_counts_late_writes_to_the_old_file() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.tailer.cfg.rotate_wait = Duration::from_secs(3600);
    h.append("a.log", "one\n");
    h.poll();
    fs::rename(h.path("a.log"), h.path("a.log.1")).unwrap();
    h.append("a.log", "three\n");
    h.poll();
    h.append("a.log.1", "two, written after the rename\nunfinished");
    h.poll();
    assert_eq!(
        h.take_lines(),
        ["one", "three", "two, written after the rename"]
    );
    assert_eq!(h.closed, 0, "the old file is still read during rotate_wait");
    h.tailer.cfg.rotate_wait = Duration::ZERO;
    h.poll();
    assert_eq!(
        h.take_lines(),
        ["unfinished"],
        "the partial last line is flushed at the switch"
    );
    assert_eq!(h.closed, 1);
    assert!(
        h.counter("ike_exporter_file_rotations_total")
            .ends_with(" 1")
    );
    assert!(h.counter("ike_exporter_files_watched").ends_with(" 1"));
}

#[test]
fn file_copytruncate_starts_again_from_zero() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "one\ntwo\n");
    h.poll();
    fs::copy(h.path("a.log"), h.path("a.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(h.path("a.log"))
        .unwrap();
    h.poll();
    h.append("a.log", "three\n");
    h.poll();
    assert_eq!(h.take_lines(), ["one", "two", "three"]);
    let truncations = h.counter("ike_exporter_file_truncations_total");
    assert!(truncations.ends_with(" 1"), "{truncations}");
}

#[test]
fn file_truncated_and_refilled_past_the_old_offset_is_detected() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "aaaa\n");
    h.poll();
    fs::write(h.path("a.log"), "bbbb\ncccc\n").unwrap();
    h.poll();
    assert_eq!(h.take_lines(), ["aaaa", "bbbb", "cccc"]);
}

#[test]
fn file_delete_and_recreate() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "one\n");
    h.poll();
    fs::remove_file(h.path("a.log")).unwrap();
    h.poll();
    h.append("a.log", "two\n");
    h.poll();
    assert_eq!(h.take_lines(), ["one", "two"]);
    assert!(
        !h.counter("ike_exporter_file_rotations_total")
            .ends_with(" 1"),
        "a delete is not a rotation"
    );
}

#[test]
fn file_created_after_start_in_a_glob_is_read_from_its_beginning() {
    let mut h = Harness::new("*.log", ReadFrom::End);
    h.append("a.log", "before start\n");
    h.poll();
    h.append("b.log", "first line of a new file\n");
    h.poll();
    assert_eq!(h.take_lines(), ["first line of a new file"]);
}

#[test]
fn file_missing_path_waits_and_is_reported() {
    let mut h = Harness::new("later.log", ReadFrom::End);
    h.poll();
    assert!(h.tailer.readiness.status().is_err());
    h.append("later.log", "hello\n");
    h.poll();
    assert_eq!(
        h.take_lines(),
        ["hello"],
        "a file that appears after start is read from its beginning"
    );
    assert_eq!(h.tailer.readiness.status(), Ok(()));
}

#[test]
fn file_partial_line_is_held_until_its_newline() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "par");
    h.poll();
    assert!(h.take_lines().is_empty());
    h.append("a.log", "tial\n");
    h.poll();
    assert_eq!(h.take_lines(), ["partial"]);
}

#[test]
fn file_long_line_is_skipped_and_the_next_read() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", &format!("good 1\n{}\ngood 2\n", "x".repeat(1000)));
    h.poll();
    assert_eq!(h.take_lines(), ["good 1", "good 2"]);
    assert_eq!(h.too_long, 1);
}

#[test]
fn file_restart_resumes_from_the_checkpoint() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "one\ntwo\n");
    h.poll();
    h.checkpoints.save().unwrap();
    h.append("a.log", "three, written while stopped\n");
    let (dir, state) = (h.dir, h.state);
    let mut h = Harness::with_dirs(dir, state, "a.log", ReadFrom::End);
    h.poll();
    assert_eq!(h.take_lines(), ["three, written while stopped"]);
}

#[test]
fn file_rotated_while_stopped_is_read_to_its_end() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "one\n");
    h.poll();
    h.checkpoints.save().unwrap();
    h.append("a.log", "two, before the rotation\n");
    fs::rename(h.path("a.log"), h.path("a.log.1")).unwrap();
    h.append("a.log", "three, in the new file\n");
    let (dir, state) = (h.dir, h.state);
    let mut h = Harness::with_dirs(dir, state, "a.log", ReadFrom::End);
    h.poll();
    let mut lines = h.take_lines();
    lines.sort();
    assert_eq!(
        lines,
        ["three, in the new file", "two, before the rotation"]
    );
    assert_eq!(
        h.closed, 1,
        "the rotated file is closed after its grace period"
    );
}

#[test]
fn file_with_history_reads_new_files_from_the_beginning() {
    let mut h = Harness::new("*.log", ReadFrom::End);
    h.poll();
    h.checkpoints.save().unwrap();
    let (dir, state) = (h.dir, h.state);
    fs::write(dir.path().join("b.log"), "created while stopped\n").unwrap();
    let mut h = Harness::with_dirs(dir, state, "*.log", ReadFrom::End);
    h.poll();
    assert_eq!(h.take_lines(), ["created while stopped"]);
}

#[test]
fn file_renamed_inside_the_glob_is_not_read_twice() {
    let mut h = Harness::new("*.log", ReadFrom::Beginning);
    h.tailer.cfg.rotate_wait = Duration::from_secs(3600);
    h.append("a.log", "one\n");
    h.poll();
    fs::rename(h.path("a.log"), h.path("b.log")).unwrap();
    h.poll();
    h.append("b.log", "two\n");
    h.poll();
    assert_eq!(h.take_lines(), ["one", "two"]);
}

#[test]
fn file_static_dir_of_patterns() {
    assert_eq!(static_dir("/var/log/pa.log"), PathBuf::from("/var/log"));
    assert_eq!(static_dir("/var/log/*.log"), PathBuf::from("/var/log"));
    assert_eq!(static_dir("logs/fw-*/x.log"), PathBuf::from("logs"));
    assert_eq!(static_dir("x.log"), PathBuf::from("."));
    assert_eq!(static_dir("/x.log"), PathBuf::from("/"));
}

#[test]
fn file_fingerprint_grows_into_the_checkpoint() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "");
    h.poll();
    h.append("a.log", "one\ntwo\nthree\n");
    h.poll();
    h.checkpoints.save().unwrap();
    // Replaced by copytruncate while stopped, then refilled past the old offset.
    fs::write(h.path("a.log"), "new 1\nnew 2\nnew 3\nnew 4\n").unwrap();
    let (dir, state) = (h.dir, h.state);
    let mut h = Harness::with_dirs(dir, state, "a.log", ReadFrom::End);
    h.poll();
    assert_eq!(h.take_lines(), ["new 1", "new 2", "new 3", "new 4"]);
}

#[test]
fn file_truncation_resets_the_checkpoint_in_order() {
    let mut h = Harness::new("a.log", ReadFrom::Beginning);
    h.append("a.log", "one\ntwo\n");
    h.poll();
    fs::write(h.path("a.log"), "").unwrap();
    h.poll();
    h.checkpoints.save().unwrap();
    h.append("a.log", "three\n");
    let (dir, state) = (h.dir, h.state);
    let mut h = Harness::with_dirs(dir, state, "a.log", ReadFrom::End);
    h.poll();
    assert_eq!(h.take_lines(), ["three"]);
}
