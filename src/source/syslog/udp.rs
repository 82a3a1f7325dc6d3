//! The UDP listener: one datagram is one message. The socket is always
//! drained: batches go to the pipeline with `try_send`, and a batch that
//! finds the queue full is dropped and counted (`queue_full`). Datagrams the
//! kernel dropped because the socket's own queue was full count as
//! `queue_full` too, read from the kernel about once a second while traffic
//! flows (and not at all while it does not).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::kernel_drops::KernelDrops;
use super::{DropReason, Listener, push_message};
use crate::source::Message;

/// Bytes of messages gathered before a batch is handed over.
const BATCH_BYTES: usize = 256 * 1024;

/// Receive buffer asked for when none is configured: Linux's default (about
/// 200 KiB) holds only a few hundred messages, less than one burst from a
/// busy firewall. The kernel caps it at net.core.rmem_max.
const DEFAULT_RECEIVE_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// Binds a UDP socket with a receive buffer of `receive_buffer_bytes`
/// (default 4 MiB, capped by the kernel).
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
    socket.set_recv_buffer_size(receive_buffer_bytes.unwrap_or(DEFAULT_RECEIVE_BUFFER_BYTES))?;
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

/// How long a partial batch waits for more datagrams before it is handed over.
const LINGER: Duration = Duration::from_millis(2);
/// Bytes kept while the pipeline's queue is full, before they are dropped.
/// (With the queue's 64 slots this bounds UDP's share of memory to 64 MiB.)
const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// How often the kernel's drop count is read while datagrams arrive.
const KERNEL_DROPS_INTERVAL: Duration = Duration::from_secs(1);

/// Receives until the task is aborted or the pipeline is gone.
pub async fn run(
    socket: UdpSocket,
    listener: Listener,
    max_message_bytes: usize,
    tx: mpsc::Sender<Message>,
) {
    let Some(stream) = listener.open(&tx).await else {
        return;
    };
    // One byte more than allowed tells an over-long datagram from a full one.
    let mut buf = vec![0u8; max_message_bytes + 1];
    let mut batch = Batch::default();
    let mut kernel = KernelWatch::new(&socket);
    loop {
        // An empty batch waits for traffic; a partial one only briefly, so
        // that datagrams travel in batches without being held back. Once
        // traffic stops, one last look at the kernel's count.
        let received = if !batch.block.is_empty() {
            match tokio::time::timeout(LINGER, socket.recv_from(&mut buf)).await {
                Ok(received) => received,
                Err(_) => {
                    if !batch.flush(&tx, stream, &listener) {
                        return;
                    }
                    kernel.poll(&listener, false);
                    continue;
                }
            }
        } else if kernel.unchecked {
            match tokio::time::timeout(KERNEL_DROPS_INTERVAL, socket.recv_from(&mut buf)).await {
                Ok(received) => received,
                Err(_) => {
                    kernel.poll(&listener, true);
                    continue;
                }
            }
        } else {
            socket.recv_from(&mut buf).await
        };
        kernel.unchecked = true;
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
        push_message(&mut batch.block, &buf[..n]);
        batch.count += 1;
        if batch.block.len() >= BATCH_BYTES {
            if !batch.flush(&tx, stream, &listener) {
                return;
            }
            kernel.poll(&listener, false);
        }
    }
}

/// When to read the kernel's drop count.
struct KernelWatch {
    drops: Option<KernelDrops>,
    last: Instant,
    /// Datagrams arrived since the count was last read.
    unchecked: bool,
}

impl KernelWatch {
    fn new(socket: &UdpSocket) -> Self {
        Self {
            drops: KernelDrops::new(socket),
            last: Instant::now(),
            unchecked: false,
        }
    }

    /// Counts new kernel drops if `force`d or due.
    fn poll(&mut self, listener: &Listener, force: bool) {
        if !force && self.last.elapsed() < KERNEL_DROPS_INTERVAL {
            return;
        }
        self.last = Instant::now();
        self.unchecked = false;
        if let Some(drops) = &mut self.drops {
            let new = drops.new_drops();
            if new > 0 {
                listener.dropped(DropReason::QueueFull, new);
            }
        }
    }
}

/// Datagrams gathered for the pipeline.
#[derive(Default)]
struct Batch {
    block: Vec<u8>,
    count: u64,
}

impl Batch {
    /// Hands the batch over without waiting. While the queue is full the
    /// batch is kept and grows, up to a bound past which it is dropped and
    /// counted. False when the pipeline is gone.
    fn flush(&mut self, tx: &mpsc::Sender<Message>, stream: u64, listener: &Listener) -> bool {
        let block = std::mem::take(&mut self.block);
        match tx.try_send(Message::Lines {
            stream,
            block,
            end_offset: None,
        }) {
            Ok(()) => {
                self.count = 0;
                true
            }
            Err(mpsc::error::TrySendError::Full(Message::Lines { block, .. }))
                if block.len() < MAX_PENDING_BYTES =>
            {
                self.block = block;
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                listener.dropped(DropReason::QueueFull, std::mem::take(&mut self.count));
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}
