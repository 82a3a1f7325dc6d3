//! Standard input as a source (`--file -`), e.g.
//! `journalctl -f -o cat | ike_exporter --file -`. At the end of input the
//! last line is flushed and the stream closed; the exporter keeps serving.

use std::io::{self, Read};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Message, next_stream_id};
use crate::parse::framing::{Frame, LineFramer};

/// Reads `input` to its end, sending framed blocks as source `name`.
pub fn run(
    name: Arc<str>,
    device: Option<Arc<str>>,
    mut input: impl Read,
    max_line_bytes: usize,
    tx: &mpsc::Sender<Message>,
) -> io::Result<()> {
    let stream = next_stream_id();
    let send = |m: Message| {
        tx.blocking_send(m)
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    };
    send(Message::Open {
        stream,
        source: name,
        device,
        file: None,
        export_header: true,
    })?;
    let mut framer = LineFramer::new(max_line_bytes);
    let mut frames: Vec<Message> = Vec::new();
    let collect = |frame: Frame<'_>, frames: &mut Vec<Message>| {
        frames.push(match frame {
            Frame::Lines(block) => Message::Lines {
                stream,
                block: block.to_vec(),
                end_offset: None,
            },
            Frame::TooLong => Message::TooLong {
                stream,
                end_offset: None,
            },
        })
    };
    loop {
        let n = match input.read(framer.spare_mut()) {
            Ok(0) => break,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        send(Message::Bytes {
            stream,
            count: n as u64,
        })?;
        framer.commit(n, |frame| collect(frame, &mut frames));
        for m in frames.drain(..) {
            send(m)?;
        }
    }
    framer.flush(|frame| collect(frame, &mut frames));
    for m in frames.drain(..) {
        send(m)?;
    }
    send(Message::Close { stream })
}
