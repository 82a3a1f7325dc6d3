//! Checkpoints: how far each file has been *processed*, saved atomically so
//! that a restart, even after `kill -9`, resumes where the last save left off.
//!
//! Entries are keyed by (device, inode) and carry a fingerprint of the file's
//! first bytes (up to 1 KiB), so that a file replaced by another that reuses
//! the inode is detected. Offsets are those of complete lines the pipeline
//! has recorded, never of lines merely read, so a crash loses nothing; lines
//! processed after the last save are read again after a restart (at most one
//! `checkpoint_interval` of them).

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

/// Bytes of a file's beginning that identify it.
pub const FINGERPRINT_BYTES: u64 = 1024;

/// A file's identity on its filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
}

impl FileKey {
    /// The identity of an open file or a path's metadata.
    pub fn of(meta: &fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// A hash of a file's first `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub len: u64,
    pub hash: u64,
}

impl Fingerprint {
    /// The fingerprint of no bytes (a file seen empty).
    pub const EMPTY: Fingerprint = Fingerprint {
        len: 0,
        hash: FNV_OFFSET_BASIS,
    };

    /// Fingerprints the first `min(size, 1 KiB)` bytes of `file`.
    pub fn of(file: &mut File, size: u64) -> io::Result<Self> {
        Self::of_len(file, size.min(FINGERPRINT_BYTES))
    }

    /// Fingerprints exactly the first `len` bytes; `None` when the file is shorter.
    pub fn of_len(file: &mut File, len: u64) -> io::Result<Self> {
        let mut buf = vec![0; len as usize];
        file.seek(SeekFrom::Start(0))?;
        file.read_exact(&mut buf)?;
        Ok(Self {
            len,
            hash: fnv1a(&buf),
        })
    }

    /// True when `file` still starts with the bytes this fingerprint saw.
    pub fn matches(&self, file: &mut File) -> bool {
        Self::of_len(file, self.len).is_ok_and(|now| now == *self)
    }
}

/// FNV-1a: stable across Rust releases, unlike `DefaultHasher`, so saved
/// fingerprints stay valid after an upgrade.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// One file's saved position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Where the file was last seen (to find it again after a rotation).
    pub path: PathBuf,
    pub key: FileKey,
    pub fingerprint: Fingerprint,
    /// Bytes of complete lines processed.
    pub offset: u64,
}

impl Entry {
    /// True when the saved fingerprint matches `file` and covers the bytes
    /// the offset went past (up to 1 KiB).
    pub fn is_trustworthy_for(&self, file: &mut File) -> bool {
        self.fingerprint.len >= self.offset.min(FINGERPRINT_BYTES) && self.fingerprint.matches(file)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    files: Vec<Entry>,
}

/// The positions of every open file, shared by tailers (which register
/// files), the pipeline (which advances offsets) and the saver.
#[derive(Debug, Default)]
pub struct Checkpoints {
    entries: Mutex<HashMap<FileKey, Entry>>,
    /// The state file; `None` without `--state-dir`.
    path: Option<PathBuf>,
    /// Entries found at start-up, for tailers to resume from.
    restored: Mutex<HashMap<FileKey, Entry>>,
    /// Whether an earlier run left a state file.
    history: bool,
    /// Sources whose first scan is not recorded yet: until it is, nothing is
    /// saved, so that a crash during start-up cannot leave a state file that
    /// lacks files a source was about to read from their end.
    pending_scans: AtomicUsize,
}

/// Name of the state file inside the state directory.
const STATE_FILE: &str = "checkpoints.json";

impl Checkpoints {
    /// Loads the state of `state_dir` (creating the directory). Without a
    /// state directory nothing is saved.
    pub fn open(state_dir: Option<&Path>) -> io::Result<Self> {
        let Some(dir) = state_dir else {
            return Ok(Self::default());
        };
        fs::create_dir_all(dir)?;
        let path = dir.join(STATE_FILE);
        let restored = match fs::read(&path) {
            Ok(bytes) => {
                let state: StateFile = serde_json::from_slice(&bytes).map_err(|error| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {error}", path.display()),
                    )
                })?;
                state.files.into_iter().map(|e| (e.key, e)).collect()
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => HashMap::new(),
            Err(error) => return Err(error),
        };
        let history = path.exists();
        Ok(Self {
            entries: Mutex::new(HashMap::new()),
            path: Some(path),
            restored: Mutex::new(restored),
            history,
            pending_scans: AtomicUsize::new(0),
        })
    }

    /// True when an earlier run saved state: files without an entry are then
    /// new and read from their beginning.
    pub fn has_history(&self) -> bool {
        self.history
    }

    /// Takes the restored entry for `key` if its fingerprint matches `file`
    /// and covers what the offset read of it (an entry whose fingerprint is
    /// shorter would match any file).
    pub fn take_restored(&self, key: FileKey, file: &mut File) -> Option<Entry> {
        let entry = lock(&self.restored).remove(&key)?;
        entry.is_trustworthy_for(file).then_some(entry)
    }

    /// A source will report its first scan (`Message::ScanDone`).
    pub fn expect_first_scan(&self) {
        self.pending_scans.fetch_add(1, Ordering::SeqCst);
    }

    /// A source's first scan is recorded.
    pub fn first_scan_done(&self) {
        let _ = self
            .pending_scans
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// Takes the restored entries whose path `mine` accepts (a tailer's own
    /// patterns), to look for files renamed while the exporter was stopped.
    pub fn take_unclaimed_where(&self, mine: impl Fn(&Path) -> bool) -> Vec<Entry> {
        let mut restored = lock(&self.restored);
        let keys: Vec<FileKey> = restored
            .iter()
            .filter(|(_, e)| mine(&e.path))
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| restored.remove(&k))
            .collect()
    }

    /// Puts back a restored entry for the normal scan to claim.
    pub fn restore(&self, entry: Entry) {
        lock(&self.restored).insert(entry.key, entry);
    }

    /// Starts tracking a file at `offset`.
    pub fn track(&self, entry: Entry) {
        lock(&self.entries).insert(entry.key, entry);
    }

    /// Updates a tracked file's fingerprint (it grew) or path (it was renamed).
    pub fn update(&self, key: FileKey, path: Option<&Path>, fingerprint: Option<Fingerprint>) {
        if let Some(entry) = lock(&self.entries).get_mut(&key) {
            if let Some(path) = path {
                entry.path = path.to_owned();
            }
            if let Some(fp) = fingerprint {
                entry.fingerprint = fp;
            }
        }
    }

    /// Records that `key` was processed up to `offset`.
    pub fn processed(&self, key: FileKey, offset: u64) {
        if let Some(entry) = lock(&self.entries).get_mut(&key) {
            entry.offset = offset;
        }
    }

    /// Hands tracked files back as restored entries, for the tailer that
    /// takes over after a reload to resume them.
    pub fn release(&self, keys: &[FileKey]) {
        let mut entries = lock(&self.entries);
        let mut restored = lock(&self.restored);
        for key in keys {
            if let Some(entry) = entries.remove(key) {
                restored.insert(*key, entry);
            }
        }
    }

    /// Stops tracking a file that was read to its end and closed.
    pub fn forget(&self, key: FileKey) {
        lock(&self.entries).remove(&key);
    }

    /// The processed offset of a tracked file.
    pub fn offset(&self, key: FileKey) -> Option<u64> {
        lock(&self.entries).get(&key).map(|e| e.offset)
    }

    /// Writes the state file atomically: a temporary file, fsync, rename,
    /// fsync of the directory. Restored entries not yet claimed are kept.
    pub fn save(&self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        // Nothing is written before every source's first scan is recorded.
        if self.pending_scans.load(Ordering::SeqCst) > 0 {
            return Ok(());
        }
        let mut files: Vec<Entry> = lock(&self.entries).values().cloned().collect();
        files.extend(lock(&self.restored).values().cloned());
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let bytes = serde_json::to_vec_pretty(&StateFile { version: 1, files })
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        let tmp = path.with_extension("json.tmp");
        let mut file = File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(dir: &Path, name: &str, content: &[u8]) -> (PathBuf, File) {
        let path = dir.join(name);
        fs::write(&path, content).unwrap();
        let file = File::open(&path).unwrap();
        (path, file)
    }

    #[test]
    fn checkpoint_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut file) = file_with(dir.path(), "a.log", b"line one\nline two\n");
        let key = FileKey::of(&file.metadata().unwrap());
        let fingerprint = Fingerprint::of(&mut file, 18).unwrap();
        let cp = Checkpoints::open(Some(dir.path())).unwrap();
        assert!(!cp.has_history());
        cp.track(Entry {
            path: path.clone(),
            key,
            fingerprint,
            offset: 0,
        });
        cp.processed(key, 9);
        cp.save().unwrap();

        let again = Checkpoints::open(Some(dir.path())).unwrap();
        assert!(again.has_history());
        let entry = again.take_restored(key, &mut file).unwrap();
        assert_eq!((entry.offset, entry.path), (9, path));
    }

    #[test]
    fn checkpoint_rejects_a_fingerprint_shorter_than_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut file) = file_with(dir.path(), "a.log", b"line one\nline two\n");
        let key = FileKey::of(&file.metadata().unwrap());
        let cp = Checkpoints::open(Some(dir.path())).unwrap();
        cp.track(Entry {
            path,
            key,
            fingerprint: Fingerprint::EMPTY,
            offset: 9,
        });
        cp.save().unwrap();
        let again = Checkpoints::open(Some(dir.path())).unwrap();
        assert_eq!(again.take_restored(key, &mut file), None);
    }

    #[test]
    fn checkpoint_is_not_saved_before_first_scans_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoints::open(Some(dir.path())).unwrap();
        cp.expect_first_scan();
        cp.save().unwrap();
        assert!(!dir.path().join(STATE_FILE).exists());
        cp.first_scan_done();
        cp.save().unwrap();
        assert!(dir.path().join(STATE_FILE).exists());
    }

    #[test]
    fn checkpoint_rejects_a_replaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut file) = file_with(dir.path(), "a.log", b"original\n");
        let key = FileKey::of(&file.metadata().unwrap());
        let cp = Checkpoints::open(Some(dir.path())).unwrap();
        cp.track(Entry {
            path: path.clone(),
            key,
            fingerprint: Fingerprint::of(&mut file, 9).unwrap(),
            offset: 9,
        });
        cp.save().unwrap();
        fs::write(&path, b"replaced\n").unwrap();
        let again = Checkpoints::open(Some(dir.path())).unwrap();
        let mut reopened = File::open(&path).unwrap();
        assert_eq!(again.take_restored(key, &mut reopened), None);
    }

    #[test]
    fn checkpoint_save_is_atomic_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoints::open(Some(dir.path())).unwrap();
        cp.save().unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(STATE_FILE)]);
    }

    #[test]
    fn checkpoint_corrupt_state_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        let error = Checkpoints::open(Some(dir.path())).unwrap_err();
        assert!(error.to_string().contains(STATE_FILE), "{error}");
    }

    #[test]
    fn fingerprint_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
