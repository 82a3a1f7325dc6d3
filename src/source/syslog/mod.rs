//! Syslog listeners: UDP, TCP and TLS sinks that PAN-OS (or a relay) sends to.
//!
//! Each listener is bound at start-up (a port in use is a start-up error),
//! checks senders against `allowed_senders`, and sends batches of messages to
//! the pipeline as blocks of lines, one message per line. UDP never waits for
//! the pipeline: when the queue is full the batch is dropped and counted
//! (`queue_full`), so the socket is always drained. TCP and TLS wait instead,
//! which pushes back on the sender through TCP flow control. Every drop is
//! counted in `ike_exporter_syslog_dropped_total{reason}`.

mod kernel_drops;
mod senders;
pub mod stream;
pub mod udp;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::log_limit::LogLimiter;
use crate::metrics::{Metrics, SourceMetrics};

/// At most one warning about dropped input per listener per interval.
const DROP_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Why a message or connection was dropped (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    TooLarge,
    DeniedSource,
    QueueFull,
    Framing,
    TlsHandshake,
    ConnectionLimit,
}

impl DropReason {
    /// The `reason` label value.
    pub fn code(self) -> &'static str {
        match self {
            DropReason::TooLarge => "too_large",
            DropReason::DeniedSource => "denied_source",
            DropReason::QueueFull => "queue_full",
            DropReason::Framing => "framing",
            DropReason::TlsHandshake => "tls_handshake",
            DropReason::ConnectionLimit => "connection_limit",
        }
    }
}

/// The address a sender is known by: an IPv4 client of a dual-stack socket
/// appears as `::ffff:a.b.c.d` and is `a.b.c.d`.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// What every listener shares: its name, device, sender filter and metrics.
#[derive(Debug, Clone)]
pub struct Listener {
    pub name: Arc<str>,
    pub device: Option<Arc<str>>,
    pub allowed: Arc<[IpNet]>,
    pub metrics: Arc<Metrics>,
    pub source_metrics: SourceMetrics,
    /// One warning per interval about drops, whatever the flood.
    drop_log: Arc<Mutex<LogLimiter>>,
}

impl Listener {
    pub fn new(name: &str, device: Option<&str>, allowed: &[IpNet], metrics: Arc<Metrics>) -> Self {
        Self {
            name: Arc::from(name),
            device: device.map(Arc::from),
            allowed: Arc::from(allowed),
            source_metrics: metrics.source(name),
            metrics,
            drop_log: Arc::new(Mutex::new(LogLimiter::new(DROP_LOG_INTERVAL))),
        }
    }

    /// True when `addr` may send (an empty list allows everyone).
    pub fn allows(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.allowed.is_empty() || self.allowed.iter().any(|net| net.contains(&addr))
    }

    /// Announces a new stream (a connection, or the UDP socket) to the
    /// pipeline; `None` when the pipeline is gone.
    pub async fn open(
        &self,
        tx: &tokio::sync::mpsc::Sender<crate::source::Message>,
    ) -> Option<crate::source::StreamId> {
        let stream = crate::source::next_stream_id();
        let open = crate::source::Message::Open {
            stream,
            source: self.name.clone(),
            device: self.device.clone(),
            file: None,
            export_header: false,
        };
        tx.send(open).await.ok().map(|()| stream)
    }

    /// Counts `n` dropped messages or connections (and logs it, rate-limited).
    pub fn dropped(&self, reason: DropReason, n: u64) {
        self.dropped_at(reason, n, None);
    }

    /// Counts `n` drops caused by `sender`.
    pub fn dropped_from(&self, reason: DropReason, n: u64, sender: IpAddr) {
        self.dropped_at(reason, n, Some(sender));
    }

    fn dropped_at(&self, reason: DropReason, n: u64, sender: Option<IpAddr>) {
        self.metrics
            .syslog_dropped
            .with_label_values(&[&*self.name, reason.code()])
            .inc_by(n);
        let allowed = self
            .drop_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allow(Instant::now());
        if let Some(held_back) = allowed {
            let sender = sender.map_or_else(|| "-".to_owned(), |a| canonical(a).to_string());
            tracing::warn!(
                source = %self.name,
                reason = reason.code(),
                count = n,
                %sender,
                held_back,
                "Syslog input dropped (see ike_exporter_syslog_dropped_total)."
            );
        }
    }
}

/// Appends one message to a block of lines: trailing LF, CR, NUL and blanks
/// removed, embedded line breaks made spaces (one message is one line).
pub fn push_message(block: &mut Vec<u8>, message: &[u8]) {
    let end = message
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | b'\0' | b' '))
        .map_or(0, |i| i + 1);
    let message = &message[..end];
    if message.is_empty() {
        return;
    }
    let start = block.len();
    block.extend_from_slice(message);
    if memchr::memchr2(b'\n', b'\r', message).is_some() {
        for b in &mut block[start..] {
            if matches!(*b, b'\n' | b'\r') {
                *b = b' ';
            }
        }
    }
    block.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_push_message_trims_and_keeps_one_line() {
        let mut block = Vec::new();
        push_message(&mut block, b"<14>a\r\n");
        push_message(&mut block, b"<14>b\nc\0 ");
        push_message(&mut block, b"\n");
        assert_eq!(block, b"<14>a\n<14>b c\n");
    }

    #[test]
    fn syslog_allowed_senders_match_cidrs_and_mapped_v4() {
        let allowed: Vec<IpNet> = vec!["192.0.2.0/24".parse().unwrap()];
        let l = Listener::new("u", None, &allowed, Arc::new(Metrics::new()));
        assert!(l.allows("192.0.2.7".parse().unwrap()));
        assert!(l.allows("::ffff:192.0.2.7".parse().unwrap()));
        assert!(!l.allows("198.51.100.1".parse().unwrap()));
        let open = Listener::new("u", None, &[], Arc::new(Metrics::new()));
        assert!(open.allows("198.51.100.1".parse().unwrap()));
    }
}
