//! Command-line interface (Prometheus exporter conventions, design.md §6).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{
    LogFormat, LogLevel, RawConfig, RawFileSource, RawSource, RawStdinSource, RawSyslogSource,
    RawTls, ReadFrom,
};
use crate::{app, diagnose};

/// Prometheus exporter that tells why PAN-OS IPsec VPNs fail.
///
/// Without a subcommand it runs the exporter: it follows the log files (or
/// standard input) and serves the metrics over HTTP.
#[derive(Debug, Parser)]
#[command(
    name = "ike_exporter",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Flags of the exporter; each overrides the configuration file's setting.
#[derive(Debug, Default, Args)]
pub struct ServeArgs {
    /// YAML configuration file (sources, limits, gateways, …); see
    /// deploy/config.example.yaml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A log file or glob to follow, in addition to the configuration's
    /// sources (repeatable); `-` reads standard input. The `source` label is
    /// the value as given.
    #[arg(long = "file", value_name = "PATH|GLOB")]
    pub files: Vec<String>,
    /// Device name for records of the --file sources that name none.
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// Listen for syslog over UDP on ADDR (e.g. `:5514`); source label `syslog_udp`.
    #[arg(long = "syslog.udp", value_name = "ADDR")]
    pub syslog_udp: Option<String>,
    /// Listen for syslog over TCP on ADDR (octet counting or LF framing,
    /// detected per connection); source label `syslog_tcp`.
    #[arg(long = "syslog.tcp", value_name = "ADDR")]
    pub syslog_tcp: Option<String>,
    /// Listen for syslog over TLS on ADDR (needs --syslog.tls-cert and
    /// --syslog.tls-key); source label `syslog_tls`.
    #[arg(long = "syslog.tls", value_name = "ADDR", requires_all = ["syslog_tls_cert", "syslog_tls_key"])]
    pub syslog_tls: Option<String>,
    /// PEM certificate chain for --syslog.tls.
    #[arg(long = "syslog.tls-cert", value_name = "PEM", requires = "syslog_tls")]
    pub syslog_tls_cert: Option<PathBuf>,
    /// PEM private key for --syslog.tls.
    #[arg(long = "syslog.tls-key", value_name = "PEM", requires = "syslog_tls")]
    pub syslog_tls_key: Option<PathBuf>,
    /// Where to start in files present at the first start (every file source).
    #[arg(long = "read-from", value_enum)]
    pub read_from: Option<ReadFrom>,
    /// Directory for checkpoints (read positions), so that a restart resumes.
    #[arg(long = "state-dir", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Address to listen on [default: :9765].
    #[arg(long = "web.listen-address", value_name = "ADDR")]
    pub listen_address: Option<String>,
    /// TLS and basic authentication for every HTTP path, in the Prometheus
    /// exporter-toolkit format; re-read on SIGHUP and when it changes.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
    /// Path of the metrics [default: /metrics].
    #[arg(long = "web.telemetry-path", value_name = "PATH")]
    pub telemetry_path: Option<String>,
    /// Log level [default: info].
    #[arg(long = "log.level", value_enum)]
    pub log_level: Option<LogLevel>,
    /// Log format [default: text].
    #[arg(long = "log.format", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Validate the configuration (file and flags), then exit: 0 if valid,
    /// 1 with a message naming the offending key if not.
    #[arg(long = "check-config")]
    pub check_config: bool,
}

impl ServeArgs {
    /// Applies the flags over a configuration file's contents.
    pub fn apply(&self, raw: &mut RawConfig) {
        for file in &self.files {
            let (name, device) = (file.clone(), self.device.clone());
            raw.sources.push(if file == "-" {
                RawSource::Stdin(RawStdinSource {
                    name: "stdin".to_owned(),
                    device,
                })
            } else {
                let read_from = self.read_from.unwrap_or(ReadFrom::End);
                RawSource::File(RawFileSource {
                    name,
                    device,
                    paths: vec![file.clone()],
                    read_from,
                })
            });
        }
        let listener = |name: &str, address: &String, tls: Option<RawTls>| RawSyslogSource {
            name: name.to_owned(),
            device: self.device.clone(),
            listen_address: address.clone(),
            allowed_senders: Vec::new(),
            max_message_bytes: None,
            max_connections: None,
            max_connections_per_sender: None,
            idle_timeout_secs: None,
            receive_buffer_bytes: None,
            tls,
        };
        if let Some(address) = &self.syslog_udp {
            raw.sources
                .push(RawSource::SyslogUdp(listener("syslog_udp", address, None)));
        }
        if let Some(address) = &self.syslog_tcp {
            raw.sources
                .push(RawSource::SyslogTcp(listener("syslog_tcp", address, None)));
        }
        if let (Some(address), Some(cert), Some(key)) = (
            &self.syslog_tls,
            &self.syslog_tls_cert,
            &self.syslog_tls_key,
        ) {
            let tls = RawTls {
                cert_file: cert.clone(),
                key_file: key.clone(),
                client_ca_file: None,
            };
            raw.sources.push(RawSource::SyslogTls(listener(
                "syslog_tls",
                address,
                Some(tls),
            )));
        }
        if let Some(read_from) = self.read_from {
            for source in &mut raw.sources {
                if let RawSource::File(file) = source {
                    file.read_from = read_from;
                }
            }
        }
        if let Some(dir) = &self.state_dir {
            raw.state_dir = Some(dir.clone());
        }
        if let Some(address) = &self.listen_address {
            raw.web.listen_address.clone_from(address);
        }
        if let Some(path) = &self.telemetry_path {
            raw.web.telemetry_path.clone_from(path);
        }
        if let Some(level) = self.log_level {
            raw.log.level = level;
        }
        if let Some(format) = self.log_format {
            raw.log.format = format;
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read log files to the end and report, per device and peer, why IKE
    /// negotiations failed and what to check.
    Diagnose(DiagnoseArgs),
    /// Exit 0 if the exporter at URL answers its health check (for container
    /// HEALTHCHECKs in images without curl).
    Healthcheck {
        /// The exporter's health URL.
        #[arg(long, default_value = "http://127.0.0.1:9765/-/healthy")]
        url: String,
    },
}

/// Output formats of `diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A report for a person.
    Text,
    /// The same report for a script.
    Json,
    /// The Prometheus exposition the exporter would serve for this input.
    Prometheus,
}

/// Arguments of `diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Time zone of log times that carry none (PAN-OS CSV times are the
    /// firewall's local time), e.g. `Asia/Tokyo`.
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// Device name for records that name none (ikemgr.log, GUI exports without
    /// a Device Name column).
    #[arg(long)]
    pub device: Option<String>,
    /// Language of the advice (what to check): `en` or `ja`.
    #[arg(long, value_enum, default_value_t = crate::advice::Lang::En)]
    pub lang: crate::advice::Lang,
    /// Lines longer than this many bytes are skipped and counted.
    #[arg(long, default_value_t = crate::parse::framing::DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// Log files to read; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Command::Diagnose(args)) => diagnose::main(&args),
        Some(Command::Healthcheck { url }) => healthcheck(&url),
        None => app::main(&cli.serve),
    }
}

/// GET `url` (plain HTTP) with a short timeout; success on a 200 answer.
fn healthcheck(url: &str) -> ExitCode {
    use std::io::{Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;
    let result = (|| -> Result<u16, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or("only http:// URLs are supported")?;
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
        let addr = host
            .to_socket_addrs()
            .map_err(|e| e.to_string())?
            .next()
            .ok_or("no address")?;
        let timeout = Duration::from_secs(3);
        let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").map_err(|e| e.to_string())?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).map_err(|e| e.to_string())?;
        let status = std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|s| s.parse().ok());
        status.ok_or_else(|| "not an HTTP answer".to_owned())
    })();
    match result {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("ike_exporter: {url} answered {status}");
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("ike_exporter: {url}: {error}");
            ExitCode::from(1)
        }
    }
}
