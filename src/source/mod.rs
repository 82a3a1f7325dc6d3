//! Sources: the inputs that feed the pipeline. Each runs on its own thread,
//! reads bytes, frames them into blocks of complete lines and sends
//! [`Message`]s into one bounded channel, so that file and stdin (and, later,
//! syslog listeners) look the same downstream and a slow pipeline slows the
//! readers instead of growing a buffer.
//!
//! A source opens one *stream* per file it reads (a rotated file and its
//! successor are two streams), so that per-stream parser state (a GUI export
//! header, the ikemgr assembler) and checkpoints follow the file, while the
//! `source` label stays the configured name.

pub mod checkpoint;
pub mod file;
pub mod stdin;
pub mod syslog;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use self::checkpoint::{Entry, Fingerprint};
use crate::record::RecordConfig;

/// Identifies one stream (one opened file, or stdin) for the life of the process.
pub type StreamId = u64;

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

/// A fresh stream identity.
pub fn next_stream_id() -> StreamId {
    NEXT_STREAM.fetch_add(1, Ordering::Relaxed)
}

/// What sources send to the pipeline.
#[derive(Debug)]
pub enum Message {
    /// A new stream starts: its source's name and device, and for a file the
    /// checkpoint entry to track. Checkpoint entries change only on the
    /// pipeline's side of the channel, in message order, so that no offset
    /// queued earlier can overwrite a later reset.
    Open {
        stream: StreamId,
        source: Arc<str>,
        device: Option<Arc<str>>,
        file: Option<Entry>,
        /// Whether the stream may be a GUI export (files and stdin; never a
        /// network listener).
        export_header: bool,
    },
    /// The stream's file was truncated: reading starts again at 0.
    Reset {
        stream: StreamId,
        fingerprint: Fingerprint,
    },
    /// The stream's file grew; its fingerprint now covers more bytes.
    Fingerprint {
        stream: StreamId,
        fingerprint: Fingerprint,
    },
    /// A source finished its first scan (every file it found is opened).
    ScanDone,
    /// Bytes read (counted whether or not they complete a line).
    Bytes { stream: StreamId, count: u64 },
    /// Complete lines; once processed, the stream's file is processed up to
    /// `end_offset` (given on the last message of each read).
    Lines {
        stream: StreamId,
        block: Vec<u8>,
        end_offset: Option<u64>,
    },
    /// A line over the maximum length was skipped.
    TooLong {
        stream: StreamId,
        end_offset: Option<u64>,
    },
    /// The stream ended (file rotated away and drained, or end of stdin).
    Close { stream: StreamId },
    /// The source stopped following the stream (a reload); its file stays
    /// checkpointed for the source that takes over.
    Detach { stream: StreamId },
    /// A reloaded configuration for the record stage.
    Reconfigure(RecordConfig),
    /// Answered once every message sent before it has been processed.
    Barrier(std::sync::mpsc::Sender<()>),
}
