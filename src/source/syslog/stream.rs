//! TCP and TLS listeners: a task per connection reads, frames (RFC 6587
//! octet counting or LF, detected per connection) and sends batches to the
//! pipeline, waiting when it is busy so that TCP flow control slows the
//! sender instead of memory growing. Bounds: `max_connections` (further ones
//! are closed and counted), `max_connections_per_sender`, `idle_timeout`,
//! `max_message_bytes` (a longer frame or a broken length closes that
//! connection and is counted), and a TLS handshake timeout.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;

use super::senders::SenderSlots;
use super::udp::{annotate, resolve};
use super::{DropReason, Listener, push_message};
use crate::parse::stream::{FramingError, StreamFramer};
use crate::source::Message;

/// How long a TLS client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Read size per connection.
const READ_BYTES: usize = 64 * 1024;
/// How long one message may take to arrive once it has begun.
const FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of a TCP or TLS listener.
#[derive(Clone)]
pub struct StreamSettings {
    pub max_message_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_sender: usize,
    pub idle_timeout: Duration,
    /// `Some` for TLS.
    pub tls: Option<TlsAcceptor>,
}

/// Binds a TCP listener (`:6514` means every interface).
pub async fn bind(address: &str) -> io::Result<TcpListener> {
    let addr = resolve(address)?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    if addr.is_ipv6() {
        let _ = socket.set_only_v6(false);
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket
        .bind(&addr.into())
        .map_err(|error| annotate(address, error))?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Accepts until the task is aborted.
pub async fn run(
    listener_socket: TcpListener,
    listener: Listener,
    settings: StreamSettings,
    tx: mpsc::Sender<Message>,
) {
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let senders = SenderSlots::new(settings.max_connections_per_sender);
    loop {
        let (socket, peer) = match listener_socket.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(source = %listener.name, %error, "Accept failed.");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !listener.allows(peer.ip()) {
            listener.dropped_from(DropReason::DeniedSource, 1, peer.ip());
            continue;
        }
        let Some(sender) = senders.try_take(peer.ip()) else {
            listener.dropped_from(DropReason::ConnectionLimit, 1, peer.ip());
            continue;
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            listener.dropped_from(DropReason::ConnectionLimit, 1, peer.ip());
            continue;
        };
        let (listener, settings, tx) = (listener.clone(), settings.clone(), tx.clone());
        tokio::spawn(async move {
            let gauge = listener
                .metrics
                .syslog_connections
                .with_label_values(&[&*listener.name]);
            gauge.inc();
            connection(socket, &listener, &settings, &tx).await;
            gauge.dec();
            drop((permit, sender));
        });
    }
}

async fn connection(
    socket: TcpStream,
    listener: &Listener,
    settings: &StreamSettings,
    tx: &mpsc::Sender<Message>,
) {
    let _ = socket.set_nodelay(true);
    let Some(acceptor) = &settings.tls else {
        return read_messages(socket, listener, settings, tx).await;
    };
    let peer = socket.peer_addr().ok().map(|a| a.ip());
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
        Ok(Ok(tls)) => read_messages(tls, listener, settings, tx).await,
        Ok(Err(error)) => {
            listener.dropped_at(DropReason::TlsHandshake, 1, peer);
            tracing::debug!(source = %listener.name, %error, "TLS handshake failed.");
        }
        Err(_) => {
            listener.dropped_at(DropReason::TlsHandshake, 1, peer);
            tracing::debug!(source = %listener.name, "TLS handshake timed out.");
        }
    }
}

/// Reads one connection to its end: frames, batches, sends.
async fn read_messages(
    mut io: impl AsyncRead + Unpin,
    listener: &Listener,
    settings: &StreamSettings,
    tx: &mpsc::Sender<Message>,
) {
    let Some(stream) = listener.open(tx).await else {
        return;
    };
    let mut framer = StreamFramer::new(settings.max_message_bytes);
    let mut buf = vec![0u8; READ_BYTES];
    let mut block = Vec::new();
    // A message once begun must end within FRAME_TIMEOUT, so that a sender
    // dribbling a byte now and then cannot hold a connection slot forever.
    let mut frame_deadline: Option<Instant> = None;
    let result: Result<(), FramingError> = loop {
        let wait = frame_deadline.map_or(settings.idle_timeout, |d| {
            d.saturating_duration_since(Instant::now())
                .min(settings.idle_timeout)
        });
        let n = match tokio::time::timeout(wait, io.read(&mut buf)).await {
            Ok(Ok(0)) => break framer.finish(&mut |m| push_message(&mut block, m)),
            Ok(Ok(n)) => n,
            // A reset, or TLS cut without close_notify, ends the stream like a
            // close does: a frame cut short is counted, an LF line delivered.
            Ok(Err(error)) => {
                tracing::debug!(source = %listener.name, %error, "Connection read failed.");
                break framer.finish(&mut |m| push_message(&mut block, m));
            }
            Err(_) if framer.mid_message() => {
                tracing::debug!(source = %listener.name, "Closing a connection that stalled mid-message.");
                break Err(FramingError::Truncated);
            }
            Err(_) => {
                tracing::debug!(source = %listener.name, "Idle connection closed.");
                break Ok(());
            }
        };
        listener.source_metrics.bytes_read(n as u64);
        if let Err(error) = framer.push(&buf[..n], &mut |m| push_message(&mut block, m)) {
            break Err(error);
        }
        let skipped = framer.take_too_large();
        if skipped > 0 {
            listener.dropped(DropReason::TooLarge, skipped);
        }
        // A message completed in this read: what is pending now is a new one.
        let progressed = !block.is_empty() || skipped > 0;
        frame_deadline = match (framer.mid_message(), frame_deadline) {
            (false, _) => None,
            (true, Some(deadline)) if !progressed => Some(deadline),
            (true, _) => Some(Instant::now() + FRAME_TIMEOUT),
        };
        if !block.is_empty() {
            let lines = std::mem::take(&mut block);
            if tx
                .send(Message::Lines {
                    stream,
                    block: lines,
                    end_offset: None,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    };
    if let Err(error) = result {
        let reason = if error.code() == "too_large" {
            DropReason::TooLarge
        } else {
            DropReason::Framing
        };
        listener.dropped(reason, 1);
        tracing::debug!(source = %listener.name, %error, "Closing a connection that broke the framing.");
    }
    if !block.is_empty() {
        let _ = tx
            .send(Message::Lines {
                stream,
                block,
                end_offset: None,
            })
            .await;
    }
    let _ = tx.send(Message::Close { stream }).await;
}

/// A TLS acceptor from PEM files; with a client CA, clients must present a
/// certificate it signed.
pub fn tls_acceptor(files: &crate::config::TlsFiles) -> anyhow::Result<TlsAcceptor> {
    use anyhow::Context;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;

    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert_file)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .with_context(|| format!("cannot read the certificate {}", files.cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .with_context(|| format!("cannot read the private key {}", files.key_file.display()))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match &files.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca)
                .with_context(|| format!("cannot read the client CA {}", ca.display()))?
            {
                roots.add(cert.with_context(|| format!("bad certificate in {}", ca.display()))?)?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build()?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
