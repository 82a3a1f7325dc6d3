//! The UDP listener: one datagram is one message. The socket is always
//! drained: batches go to the pipeline with `try_send`, and a batch that
//! finds the queue full is dropped and counted (`queue_full`).

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{DropReason, Listener, push_message};
use crate::source::{Message, next_stream_id};

/// Bytes of messages gathered before a batch is handed over.
const BATCH_BYTES: usize = 256 * 1024;

/// Binds a UDP socket, with a receive buffer of `receive_buffer_bytes` if set.
pub fn bind(address: &str, receive_buffer_bytes: Option<usize>) -> io::Result<UdpSocket> {
    let addr = resolve(address)?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        None,
    )?;
    if addr.is_ipv6() {
        let _ = socket.set_only_v6(false);
    }
    if let Some(bytes) = receive_buffer_bytes {
        socket.set_recv_buffer_size(bytes)?;
    }
    socket.set_nonblocking(true)?;
    socket
        .bind(&addr.into())
        .map_err(|error| annotate(address, error))?;
    UdpSocket::from_std(socket.into())
}

/// `:514` means every interface (IPv6 and IPv4).
pub fn resolve(address: &str) -> io::Result<SocketAddr> {
    let full = if address.starts_with(':') {
        format!("[::]{address}")
    } else {
        address.to_owned()
    };
    std::net::ToSocketAddrs::to_socket_addrs(&full)?
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{address}: no address"),
            )
        })
}

/// A bind error that names the address.
pub fn annotate(address: &str, error: io::Error) -> io::Error {
    let hint = if error.kind() == io::ErrorKind::AddrInUse {
        " (is another syslog daemon listening?)"
    } else {
        ""
    };
    io::Error::new(
        error.kind(),
        format!("cannot listen on {address}: {error}{hint}"),
    )
}

/// Receives until the task is aborted or the pipeline is gone.
pub async fn run(
    socket: UdpSocket,
    listener: Listener,
    max_message_bytes: usize,
    tx: mpsc::Sender<Message>,
) {
    let stream = next_stream_id();
    let open = Message::Open {
        stream,
        source: listener.name.clone(),
        device: listener.device.clone(),
        file: None,
    };
    if tx.send(open).await.is_err() {
        return;
    }
    // One byte more than allowed tells an over-long datagram from a full one.
    let mut buf = vec![0u8; max_message_bytes + 1];
    let mut block: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    let mut count = 0u64;
    loop {
        let received = if block.is_empty() {
            socket.recv_from(&mut buf).await
        } else {
            match socket.try_recv_from(&mut buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if !flush(&tx, stream, &mut block, &mut count, &listener) {
                        return;
                    }
                    continue;
                }
                other => other,
            }
        };
        let (n, from) = match received {
            Ok(received) => received,
            Err(error) => {
                tracing::debug!(source = %listener.name, %error, "UDP receive failed.");
                continue;
            }
        };
        listener.source_metrics.bytes_read(n as u64);
        if !listener.allows(from.ip()) {
            listener.dropped(DropReason::DeniedSource, 1);
            continue;
        }
        if n > max_message_bytes {
            listener.dropped(DropReason::TooLarge, 1);
            continue;
        }
        push_message(&mut block, &buf[..n]);
        count += 1;
        if block.len() >= BATCH_BYTES && !flush(&tx, stream, &mut block, &mut count, &listener) {
            return;
        }
    }
}

/// Hands a batch over without waiting; false when the pipeline is gone.
fn flush(
    tx: &mpsc::Sender<Message>,
    stream: u64,
    block: &mut Vec<u8>,
    count: &mut u64,
    listener: &Listener,
) -> bool {
    let lines = std::mem::replace(block, Vec::with_capacity(BATCH_BYTES));
    let n = std::mem::take(count);
    match tx.try_send(Message::Lines {
        stream,
        block: lines,
        end_offset: None,
    }) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            listener.dropped(DropReason::QueueFull, n);
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}
