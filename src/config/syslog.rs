//! Configuration of syslog listeners (`type: syslog_udp`, `syslog_tcp`,
//! `syslog_tls`): where they listen, whom they accept, and their bounds.

use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::{Error, check_listen_address, in_range, in_range_usize};

const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// A firewall opens one connection per syslog server profile, a relay a few.
const DEFAULT_MAX_CONNECTIONS_PER_SENDER: usize = 16;
const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 300;

/// A `type: syslog_udp|syslog_tcp|syslog_tls` source as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSyslogSource {
    /// The `source` label value; unique, 1–64 printable bytes. Required.
    pub name: String,
    /// Device name for records that name none (PAN-OS records name theirs). Default: none.
    #[serde(default)]
    pub device: Option<String>,
    /// `host:port` to listen on; `:514` means every interface. Required.
    pub listen_address: String,
    /// Senders accepted, as CIDR blocks or addresses; others are dropped and
    /// counted (`denied_source`). Default: empty, meaning every sender.
    #[serde(default)]
    pub allowed_senders: Vec<String>,
    /// Longest message accepted, in bytes (256..16 MiB). Default: 65536.
    #[serde(default)]
    pub max_message_bytes: Option<usize>,
    /// TCP/TLS: connections open at once (1..100000); further ones are closed
    /// and counted (`connection_limit`). Default: 256.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// TCP/TLS: connections one sender address may have open at once
    /// (1..100000), so that one host cannot take every slot; further ones are
    /// closed and counted (`connection_limit`). Default: 16.
    #[serde(default)]
    pub max_connections_per_sender: Option<usize>,
    /// TCP/TLS: seconds a connection may stay silent before it is closed
    /// (1..86400). Default: 300.
    #[serde(default)]
    pub idle_timeout_secs: Option<u64>,
    /// UDP: socket receive buffer in bytes (the kernel caps it at
    /// net.core.rmem_max). Default: 4194304.
    #[serde(default)]
    pub receive_buffer_bytes: Option<usize>,
    /// TLS: certificate and key, and optionally a CA to verify clients. Required for `syslog_tls`.
    #[serde(default)]
    pub tls: Option<RawTls>,
}

/// `tls:` of a `syslog_tls` source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain of the listener. Required.
    pub cert_file: PathBuf,
    /// PEM private key of the listener. Required.
    pub key_file: PathBuf,
    /// PEM CA certificates; when set, clients must present a certificate
    /// signed by one of them. Default: none (any client).
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
}

/// The transport of a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Udp { receive_buffer_bytes: Option<usize> },
    Tcp,
    Tls(TlsFiles),
}

/// TLS files of a listener (read when the listener starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_ca_file: Option<PathBuf>,
}

/// A validated syslog listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogConfig {
    pub transport: Transport,
    pub listen_address: String,
    /// Empty: every sender.
    pub allowed_senders: Vec<IpNet>,
    pub max_message_bytes: usize,
    pub max_connections: usize,
    pub max_connections_per_sender: usize,
    pub idle_timeout: Duration,
}

/// Which of the three `type`s a raw listener was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Udp,
    Tcp,
    Tls,
}

impl RawSyslogSource {
    /// Validates the listener of `sources[i]`.
    pub fn validate(self, i: usize, kind: Kind) -> Result<SyslogConfig, Error> {
        let key = |field: &str| format!("sources[{i}].{field}");
        check_listen_address(&key("listen_address"), &self.listen_address)?;
        let allowed_senders = self
            .allowed_senders
            .iter()
            .enumerate()
            .map(|(j, s)| {
                parse_net(s).ok_or_else(|| {
                    Error::invalid(
                        key(&format!("allowed_senders[{j}]")),
                        format!("{s:?} is not an IP address or CIDR block"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let stream_only = |field: &str, set: bool| {
            if set && kind == Kind::Udp {
                Err(Error::invalid(
                    key(field),
                    "applies to syslog_tcp and syslog_tls only",
                ))
            } else {
                Ok(())
            }
        };
        stream_only("max_connections", self.max_connections.is_some())?;
        stream_only(
            "max_connections_per_sender",
            self.max_connections_per_sender.is_some(),
        )?;
        stream_only("idle_timeout_secs", self.idle_timeout_secs.is_some())?;
        stream_only("tls", self.tls.is_some() && kind != Kind::Tls)?;
        if self.receive_buffer_bytes.is_some() && kind != Kind::Udp {
            return Err(Error::invalid(
                key("receive_buffer_bytes"),
                "applies to syslog_udp only",
            ));
        }
        let transport = match (kind, self.tls) {
            (Kind::Udp, _) => Transport::Udp {
                receive_buffer_bytes: self.receive_buffer_bytes,
            },
            (Kind::Tcp, None) => Transport::Tcp,
            (Kind::Tcp, Some(_)) => {
                return Err(Error::invalid(key("tls"), "applies to syslog_tls only"));
            }
            (Kind::Tls, None) => {
                return Err(Error::invalid(
                    key("tls"),
                    "is required for syslog_tls (cert_file, key_file)",
                ));
            }
            (Kind::Tls, Some(tls)) => Transport::Tls(TlsFiles {
                cert_file: tls.cert_file,
                key_file: tls.key_file,
                client_ca_file: tls.client_ca_file,
            }),
        };
        Ok(SyslogConfig {
            transport,
            listen_address: self.listen_address,
            allowed_senders,
            max_message_bytes: in_range_usize(
                &key("max_message_bytes"),
                self.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES),
                (256, Some(16 * 1024 * 1024)),
            )?,
            max_connections: in_range_usize(
                &key("max_connections"),
                self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
                (1, Some(100_000)),
            )?,
            max_connections_per_sender: in_range_usize(
                &key("max_connections_per_sender"),
                self.max_connections_per_sender
                    .unwrap_or(DEFAULT_MAX_CONNECTIONS_PER_SENDER),
                (1, Some(100_000)),
            )?,
            idle_timeout: Duration::from_secs(in_range(
                &key("idle_timeout_secs"),
                self.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS),
                (1, Some(86_400)),
            )?),
        })
    }
}

/// A CIDR block, or a single address as a /32 or /128.
fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<crate::config::Config, Error> {
        crate::config::parse(yaml)
    }

    #[test]
    fn syslog_listeners_validate() {
        let config = parse(
            "sources:\n  - {name: u, type: syslog_udp, listen_address: ':5514', allowed_senders: [192.0.2.0/24, 2001:db8::1], receive_buffer_bytes: 4194304}\n  - {name: t, type: syslog_tcp, listen_address: '127.0.0.1:6514', max_connections: 10, max_connections_per_sender: 3, idle_timeout_secs: 60}\n",
        )
        .unwrap();
        let crate::config::SourceKind::Syslog(udp) = &config.sources[0].kind else {
            panic!("udp")
        };
        assert_eq!(udp.allowed_senders.len(), 2);
        assert!(matches!(
            udp.transport,
            Transport::Udp {
                receive_buffer_bytes: Some(4_194_304)
            }
        ));
        let crate::config::SourceKind::Syslog(tcp) = &config.sources[1].kind else {
            panic!("tcp")
        };
        assert_eq!(
            (
                tcp.max_connections,
                tcp.max_connections_per_sender,
                tcp.idle_timeout
            ),
            (10, 3, Duration::from_secs(60))
        );
    }

    #[test]
    fn syslog_errors_name_the_key() {
        let cases = [
            (
                "{name: u, type: syslog_udp, listen_address: ':5514', max_connections: 3}",
                "sources[0].max_connections",
            ),
            (
                "{name: u, type: syslog_udp, listen_address: ':5514', max_connections_per_sender: 3}",
                "sources[0].max_connections_per_sender",
            ),
            (
                "{name: t, type: syslog_tcp, listen_address: ':1', max_connections_per_sender: 0}",
                "sources[0].max_connections_per_sender",
            ),
            (
                "{name: u, type: syslog_udp, listen_address: ':5514', allowed_senders: [10.0.0.0/33]}",
                "sources[0].allowed_senders[0]",
            ),
            (
                "{name: t, type: syslog_tls, listen_address: ':6514'}",
                "sources[0].tls",
            ),
            (
                "{name: t, type: syslog_tcp, listen_address: 'nope'}",
                "sources[0].listen_address",
            ),
            (
                "{name: t, type: syslog_tcp, listen_address: ':1', receive_buffer_bytes: 1}",
                "sources[0].receive_buffer_bytes",
            ),
            (
                "{name: t, type: syslog_tcp, listen_address: ':1', max_message_bytes: 10}",
                "sources[0].max_message_bytes",
            ),
        ];
        for (source, key) in cases {
            let error = parse(&format!("sources:\n  - {source}\n"))
                .unwrap_err()
                .to_string();
            assert!(error.starts_with(key), "{source}: {error}");
        }
    }
}
