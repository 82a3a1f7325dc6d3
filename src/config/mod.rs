//! The exporter's YAML configuration file (design.md §6, style.md rules 13–15).
//!
//! Two stages. [`RawConfig`] is what serde reads: every key optional, unknown
//! keys refused, units in the key names. [`RawConfig::validate`] checks every
//! value and builds [`Config`], in which addresses are parsed, globs checked
//! and durations typed. Every [`Error`] names the YAML key path it is about
//! (`sources[1].paths[0]: …`) so that `--check-config` points at the line to
//! fix. `deploy/config.example.yaml` documents each key for operators.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;
use serde::Deserialize;

pub use self::syslog::{RawSyslogSource, RawTls, SyslogConfig, TlsFiles, Transport};
use crate::parse::framing::DEFAULT_MAX_LINE_BYTES;

pub mod syslog;

/// Longest source or device name, in bytes (the label value limit, design.md §5).
const MAX_NAME_BYTES: usize = 64;
const DEFAULT_MAX_PEERS: usize = 1000;
const DEFAULT_MAX_OBJECTS: usize = 1000;
const DEFAULT_MAX_EVENT_IDS: usize = 256;
const DEFAULT_MAX_DEVICES: usize = 1000;
const MIN_LINE_BYTES: u64 = 256;
const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;
const DEFAULT_ROTATE_WAIT_SECS: u64 = 5;
const DEFAULT_POLL_INTERVAL_MS: u64 = 1000;
const DEFAULT_CHECKPOINT_INTERVAL_SECS: u64 = 10;
const DEFAULT_LISTEN_ADDRESS: &str = ":9765";
const DEFAULT_TELEMETRY_PATH: &str = "/metrics";

// ---------------------------------------------------------------- errors

/// Why a configuration was refused. Every message but [`Error::Read`]'s
/// starts with the YAML key path it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Occurs when the configuration file cannot be read.
    #[error("cannot read configuration file {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Occurs when the text is not YAML or does not fit the schema: an unknown
    /// key, a missing required key, a value of the wrong type or an unknown
    /// choice. `key` is empty when the error is about the whole document.
    #[error("{}", with_key(.key, .message))]
    Syntax { key: String, message: String },
    /// Occurs when a number lies outside its allowed range.
    #[error("{key}: must be {} (got {value})", bounds(.min, .max))]
    OutOfRange {
        key: String,
        value: u64,
        min: u64,
        max: Option<u64>,
    },
    /// Occurs when a peer or gateway address is not an IPv4 or IPv6 address.
    #[error("{key}: {value:?} is not an IP address")]
    NotAnIp { key: String, value: String },
    /// Occurs when a file source's path is not a valid glob pattern.
    #[error("{key}: {pattern:?} is not a valid glob: {source}")]
    BadGlob {
        key: String,
        pattern: String,
        #[source]
        source: glob::PatternError,
    },
    /// Occurs when any other value breaks its rule: an empty, unprintable or
    /// over-long name, a duplicate source name, a second stdin source, a bad
    /// listen address or telemetry path.
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

impl Error {
    /// The YAML key path the error is about (`""` for the whole document),
    /// or `None` for a read error.
    pub fn key(&self) -> Option<&str> {
        match self {
            Error::Read { .. } => None,
            Error::Syntax { key, .. }
            | Error::OutOfRange { key, .. }
            | Error::NotAnIp { key, .. }
            | Error::BadGlob { key, .. }
            | Error::Invalid { key, .. } => Some(key),
        }
    }

    fn from_serde(error: serde_path_to_error::Error<serde_norway::Error>) -> Self {
        let path = error.path().to_string();
        let key = if path == "." { String::new() } else { path };
        let message = strip_yaml_path(&key, error.into_inner().to_string());
        Error::Syntax { key, message }
    }

    fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// Drops the path serde_norway puts before its own messages: `key` or, for
/// errors inside a tagged source, one of its ancestors (`sources`).
fn strip_yaml_path(key: &str, message: String) -> String {
    let cuts = key.char_indices().filter(|&(_, c)| c == '.' || c == '[');
    let mut ancestors: Vec<&str> = cuts.map(|(at, _)| &key[..at]).collect();
    ancestors.push(key);
    let rest = ancestors
        .iter()
        .rev()
        .filter(|prefix| !prefix.is_empty())
        .find_map(|prefix| message.strip_prefix(prefix)?.strip_prefix(": "));
    match rest {
        Some(rest) => rest.to_owned(),
        None => message,
    }
}

fn with_key(key: &str, message: &str) -> String {
    if key.is_empty() {
        message.to_owned()
    } else {
        format!("{key}: {message}")
    }
}

fn bounds(min: &u64, max: &Option<u64>) -> String {
    match max {
        Some(max) => format!("between {min} and {max}"),
        None => format!("at least {min}"),
    }
}

// ---------------------------------------------------------------- entry points

/// Reads, parses and validates the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, Error> {
    load_raw(path)?.validate()
}

/// Parses and validates a configuration document. An empty document gives
/// [`Config::default`].
pub fn parse(text: &str) -> Result<Config, Error> {
    parse_raw(text)?.validate()
}

/// Reads and parses the configuration file at `path` without validating it,
/// so that command-line flags can be applied first.
pub fn load_raw(path: &Path) -> Result<RawConfig, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_raw(&text)
}

/// Parses a configuration document without validating it.
pub fn parse_raw(text: &str) -> Result<RawConfig, Error> {
    let deserializer = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(Error::from_serde)
}

// ---------------------------------------------------------------- raw stage

/// The configuration file as written (stage 1 of 2): every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Inputs to read; each becomes a `source` label value. Default: none.
    #[serde(default)]
    pub sources: Vec<RawSource>,
    /// Cardinality and size limits. Default: see [`RawLimits`].
    #[serde(default)]
    pub limits: RawLimits,
    /// How file sources are followed. Default: see [`RawFiles`].
    #[serde(default)]
    pub files: RawFiles,
    /// Directory where read positions are saved. Default: none (not saved).
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// Gateway or tunnel name → peer IP address, used when a log line names
    /// no peer. Default: empty.
    #[serde(default)]
    pub gateways: BTreeMap<String, String>,
    /// Peer IP addresses always tracked whatever `limits.max_peers`. Default: empty.
    #[serde(default)]
    pub peers: Vec<String>,
    /// The HTTP server. Default: see [`RawWeb`].
    #[serde(default)]
    pub web: RawWeb,
    /// The exporter's own logging. Default: see [`RawLog`].
    #[serde(default)]
    pub log: RawLog,
}

/// One input, tagged by `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawSource {
    /// Log files followed across rotation.
    File(RawFileSource),
    /// Lines read from standard input (e.g. `journalctl -f | ike_exporter`).
    Stdin(RawStdinSource),
    /// A syslog listener on UDP.
    SyslogUdp(RawSyslogSource),
    /// A syslog listener on TCP (RFC 6587 framing detected per connection).
    SyslogTcp(RawSyslogSource),
    /// A syslog listener on TLS (RFC 5425).
    SyslogTls(RawSyslogSource),
}

/// A `type: file` source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileSource {
    /// The `source` label value; unique, 1–64 printable bytes. Required.
    pub name: String,
    /// Device name for records that name none (ikemgr.log, GUI exports). Default: none.
    #[serde(default)]
    pub device: Option<String>,
    /// Files to follow: paths or glob patterns, at least one. Required.
    pub paths: Vec<String>,
    /// Where to start in files present at the first start. Default: `end`.
    #[serde(default = "default_read_from")]
    pub read_from: ReadFrom,
}

/// A `type: stdin` source (at most one).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdinSource {
    /// The `source` label value; unique, 1–64 printable bytes. Required.
    pub name: String,
    /// Device name for records that name none. Default: none.
    #[serde(default)]
    pub device: Option<String>,
}

/// `limits:`: caps on label cardinality and line size.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Distinct `peer` label values before further ones become `other`
    /// (configured `peers` are always kept). At least 1. Default: 1000.
    #[serde(default = "default_max_peers")]
    pub max_peers: usize,
    /// Distinct gateway and tunnel label values before further ones become
    /// `other`. At least 1. Default: 1000.
    #[serde(default = "default_max_objects")]
    pub max_objects: usize,
    /// Distinct event ID label values before further ones become `other`.
    /// At least 1. Default: 256.
    #[serde(default = "default_max_event_ids")]
    pub max_event_ids: usize,
    /// Distinct device label values (firewall names) before further ones
    /// become `other`: a forged syslog stream can name any device.
    /// At least 1. Default: 1000.
    #[serde(default = "default_max_devices")]
    pub max_devices: usize,
    /// Longest line read, in bytes; longer lines are skipped and counted.
    /// 256 to 16 MiB. Default: 65536.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
}

/// `files:`: how file sources are followed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFiles {
    /// Seconds to keep reading a file after it was rotated away. 0–3600. Default: 5.
    #[serde(default = "default_rotate_wait_secs")]
    pub rotate_wait_secs: u64,
    /// Milliseconds between polls when file notifications are missed. 50–60000. Default: 1000.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Seconds between saves of read positions to `state_dir`. 1–3600. Default: 10.
    #[serde(default = "default_checkpoint_interval_secs")]
    pub checkpoint_interval_secs: u64,
}

/// `web:`: the HTTP server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    /// `host:port` to listen on; an empty host means all interfaces. Default: `:9765`.
    #[serde(default = "default_listen_address")]
    pub listen_address: String,
    /// Path of the metrics page. Default: `/metrics`.
    #[serde(default = "default_telemetry_path")]
    pub telemetry_path: String,
}

/// `log:`: the exporter's own logging.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// Least severe level logged: error, warn, info, debug or trace. Default: `info`.
    #[serde(default)]
    pub level: LogLevel,
    /// Output format: text or json. Default: `text`.
    #[serde(default)]
    pub format: LogFormat,
}

fn default_read_from() -> ReadFrom {
    ReadFrom::End
}
fn default_max_peers() -> usize {
    DEFAULT_MAX_PEERS
}
fn default_max_objects() -> usize {
    DEFAULT_MAX_OBJECTS
}
fn default_max_event_ids() -> usize {
    DEFAULT_MAX_EVENT_IDS
}
fn default_max_devices() -> usize {
    DEFAULT_MAX_DEVICES
}
fn default_max_line_bytes() -> usize {
    DEFAULT_MAX_LINE_BYTES
}
fn default_rotate_wait_secs() -> u64 {
    DEFAULT_ROTATE_WAIT_SECS
}
fn default_poll_interval_ms() -> u64 {
    DEFAULT_POLL_INTERVAL_MS
}
fn default_checkpoint_interval_secs() -> u64 {
    DEFAULT_CHECKPOINT_INTERVAL_SECS
}
fn default_listen_address() -> String {
    DEFAULT_LISTEN_ADDRESS.to_owned()
}
fn default_telemetry_path() -> String {
    DEFAULT_TELEMETRY_PATH.to_owned()
}

impl Default for RawLimits {
    fn default() -> Self {
        Self {
            max_peers: default_max_peers(),
            max_objects: default_max_objects(),
            max_event_ids: default_max_event_ids(),
            max_devices: default_max_devices(),
            max_line_bytes: default_max_line_bytes(),
        }
    }
}

impl Default for RawFiles {
    fn default() -> Self {
        Self {
            rotate_wait_secs: default_rotate_wait_secs(),
            poll_interval_ms: default_poll_interval_ms(),
            checkpoint_interval_secs: default_checkpoint_interval_secs(),
        }
    }
}

impl Default for RawWeb {
    fn default() -> Self {
        Self {
            listen_address: default_listen_address(),
            telemetry_path: default_telemetry_path(),
        }
    }
}

// ---------------------------------------------------------------- checked stage

/// A validated configuration (stage 2 of 2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Inputs, in file order; names unique, at most one stdin.
    pub sources: Vec<SourceConfig>,
    pub limits: Limits,
    pub files: FileSettings,
    /// Directory for checkpoints; `None` means read positions are not saved.
    pub state_dir: Option<PathBuf>,
    /// Gateway or tunnel name → peer address.
    pub gateways: BTreeMap<String, IpAddr>,
    /// Peers always tracked, in file order.
    pub peers: Vec<IpAddr>,
    pub web: Web,
    pub log: Log,
}

/// One validated input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// The `source` label value.
    pub name: String,
    /// Device name for records that name none.
    pub device: Option<String>,
    pub kind: SourceKind,
}

/// What a source reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// Files matching `paths` (plain paths or globs, each checked).
    File {
        paths: Vec<String>,
        read_from: ReadFrom,
    },
    /// Standard input.
    Stdin,
    /// A syslog listener.
    Syslog(SyslogConfig),
}

/// Where to start in a file that existed before the exporter's first start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ReadFrom {
    /// Read the whole file.
    Beginning,
    /// Read only lines written from now on.
    End,
}

/// Cardinality and size limits, each at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_peers: usize,
    pub max_objects: usize,
    pub max_event_ids: usize,
    pub max_devices: usize,
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_peers: DEFAULT_MAX_PEERS,
            max_objects: DEFAULT_MAX_OBJECTS,
            max_event_ids: DEFAULT_MAX_EVENT_IDS,
            max_devices: DEFAULT_MAX_DEVICES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }
}

/// How file sources are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSettings {
    /// How long a rotated-away file is still read.
    pub rotate_wait: Duration,
    /// Fallback poll period when notifications are missed.
    pub poll_interval: Duration,
    /// How often read positions are saved.
    pub checkpoint_interval: Duration,
}

impl Default for FileSettings {
    fn default() -> Self {
        Self {
            rotate_wait: Duration::from_secs(DEFAULT_ROTATE_WAIT_SECS),
            poll_interval: Duration::from_millis(DEFAULT_POLL_INTERVAL_MS),
            checkpoint_interval: Duration::from_secs(DEFAULT_CHECKPOINT_INTERVAL_SECS),
        }
    }
}

/// The HTTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Web {
    /// `host:port` as configured (checked); see [`Web::listen_socket_addr`].
    pub listen_address: String,
    /// Path of the metrics page, e.g. `/metrics`.
    pub telemetry_path: String,
}

impl Default for Web {
    fn default() -> Self {
        Self {
            listen_address: DEFAULT_LISTEN_ADDRESS.to_owned(),
            telemetry_path: DEFAULT_TELEMETRY_PATH.to_owned(),
        }
    }
}

impl Web {
    /// The address to bind: `:9765` becomes `0.0.0.0:9765`; any address
    /// with a host (`127.0.0.1:9765`, `[::1]:9765`, `localhost:9765`) is
    /// returned as it is.
    pub fn listen_socket_addr(&self) -> String {
        if self.listen_address.starts_with(':') {
            format!("0.0.0.0{}", self.listen_address)
        } else {
            self.listen_address.clone()
        }
    }
}

/// The exporter's own logging.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Log {
    pub level: LogLevel,
    pub format: LogFormat,
}

/// Least severe level of the exporter's own log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The level's name as `tracing` filters spell it (`info`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Format of the exporter's own log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

// ---------------------------------------------------------------- validation

impl RawConfig {
    /// Checks every value and builds the typed [`Config`]; the first error
    /// found is returned, naming its key path.
    pub fn validate(self) -> Result<Config, Error> {
        Ok(Config {
            sources: validate_sources(self.sources)?,
            limits: self.limits.validate()?,
            files: self.files.validate()?,
            state_dir: validate_state_dir(self.state_dir)?,
            gateways: validate_gateways(self.gateways)?,
            peers: validate_peers(&self.peers)?,
            web: self.web.validate()?,
            log: Log {
                level: self.log.level,
                format: self.log.format,
            },
        })
    }
}

fn validate_sources(raw: Vec<RawSource>) -> Result<Vec<SourceConfig>, Error> {
    let mut first_use: HashMap<String, usize> = HashMap::new();
    let mut stdin_at: Option<usize> = None;
    let mut sources = Vec::with_capacity(raw.len());
    for (i, source) in raw.into_iter().enumerate() {
        let source = validate_source(i, source)?;
        if let Some(first) = first_use.get(&source.name) {
            return Err(Error::invalid(
                format!("sources[{i}].name"),
                format!("{:?} is already the name of sources[{first}]", source.name),
            ));
        }
        first_use.insert(source.name.clone(), i);
        if source.kind == SourceKind::Stdin {
            if let Some(first) = stdin_at {
                return Err(Error::invalid(
                    format!("sources[{i}].type"),
                    format!("only one stdin source is allowed and sources[{first}] is one"),
                ));
            }
            stdin_at = Some(i);
        }
        sources.push(source);
    }
    Ok(sources)
}

fn validate_source(i: usize, raw: RawSource) -> Result<SourceConfig, Error> {
    let (name, device, kind) = match raw {
        RawSource::File(file) => {
            let paths = validate_paths(i, file.paths)?;
            let kind = SourceKind::File {
                paths,
                read_from: file.read_from,
            };
            (file.name, file.device, kind)
        }
        RawSource::Stdin(stdin) => (stdin.name, stdin.device, SourceKind::Stdin),
        RawSource::SyslogUdp(raw) => syslog_source(i, raw, syslog::Kind::Udp)?,
        RawSource::SyslogTcp(raw) => syslog_source(i, raw, syslog::Kind::Tcp)?,
        RawSource::SyslogTls(raw) => syslog_source(i, raw, syslog::Kind::Tls)?,
    };
    check_name(&format!("sources[{i}].name"), &name)?;
    if let Some(device) = &device {
        check_name(&format!("sources[{i}].device"), device)?;
    }
    Ok(SourceConfig { name, device, kind })
}

fn syslog_source(
    i: usize,
    mut raw: RawSyslogSource,
    kind: syslog::Kind,
) -> Result<(String, Option<String>, SourceKind), Error> {
    let (name, device) = (std::mem::take(&mut raw.name), raw.device.take());
    Ok((name, device, SourceKind::Syslog(raw.validate(i, kind)?)))
}

fn validate_paths(i: usize, paths: Vec<String>) -> Result<Vec<String>, Error> {
    if paths.is_empty() {
        return Err(Error::invalid(
            format!("sources[{i}].paths"),
            "must list at least one path or glob",
        ));
    }
    for (j, path) in paths.iter().enumerate() {
        let key = format!("sources[{i}].paths[{j}]");
        if path.is_empty() {
            return Err(Error::invalid(key, "must not be empty"));
        }
        if let Err(source) = glob::Pattern::new(path) {
            let pattern = path.clone();
            return Err(Error::BadGlob {
                key,
                pattern,
                source,
            });
        }
    }
    Ok(paths)
}

/// A name that becomes a label value: 1–64 bytes, no control characters.
fn check_name(key: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::invalid(key, "must not be empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(
            key,
            format!("must be at most {MAX_NAME_BYTES} bytes long"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(key, "must not contain control characters"));
    }
    Ok(())
}

impl RawLimits {
    fn validate(self) -> Result<Limits, Error> {
        let max_line_range = (MIN_LINE_BYTES, Some(MAX_LINE_BYTES));
        Ok(Limits {
            max_peers: in_range_usize("limits.max_peers", self.max_peers, (1, None))?,
            max_objects: in_range_usize("limits.max_objects", self.max_objects, (1, None))?,
            max_event_ids: in_range_usize("limits.max_event_ids", self.max_event_ids, (1, None))?,
            max_devices: in_range_usize("limits.max_devices", self.max_devices, (1, None))?,
            max_line_bytes: in_range_usize(
                "limits.max_line_bytes",
                self.max_line_bytes,
                max_line_range,
            )?,
        })
    }
}

impl RawFiles {
    fn validate(self) -> Result<FileSettings, Error> {
        let rotate = in_range(
            "files.rotate_wait_secs",
            self.rotate_wait_secs,
            (0, Some(3600)),
        )?;
        let poll = in_range(
            "files.poll_interval_ms",
            self.poll_interval_ms,
            (50, Some(60_000)),
        )?;
        let checkpoint = in_range(
            "files.checkpoint_interval_secs",
            self.checkpoint_interval_secs,
            (1, Some(3600)),
        )?;
        Ok(FileSettings {
            rotate_wait: Duration::from_secs(rotate),
            poll_interval: Duration::from_millis(poll),
            checkpoint_interval: Duration::from_secs(checkpoint),
        })
    }
}

/// `(min, max)`, both inclusive; `None` means no upper bound.
type Range = (u64, Option<u64>);

pub(crate) fn in_range(key: &str, value: u64, (min, max): Range) -> Result<u64, Error> {
    if value < min || max.is_some_and(|max| value > max) {
        return Err(Error::OutOfRange {
            key: key.to_owned(),
            value,
            min,
            max,
        });
    }
    Ok(value)
}

pub(crate) fn in_range_usize(key: &str, value: usize, range: Range) -> Result<usize, Error> {
    let wide = u64::try_from(value).unwrap_or(u64::MAX);
    in_range(key, wide, range)?;
    Ok(value)
}

fn validate_state_dir(state_dir: Option<PathBuf>) -> Result<Option<PathBuf>, Error> {
    if state_dir
        .as_ref()
        .is_some_and(|dir| dir.as_os_str().is_empty())
    {
        return Err(Error::invalid("state_dir", "must not be empty"));
    }
    Ok(state_dir)
}

fn validate_gateways(raw: BTreeMap<String, String>) -> Result<BTreeMap<String, IpAddr>, Error> {
    let mut gateways = BTreeMap::new();
    for (name, address) in raw {
        let key = format!("gateways.{name}");
        if name.is_empty() {
            return Err(Error::invalid(
                "gateways",
                "a gateway name must not be empty",
            ));
        }
        let ip = parse_ip(&key, &address)?;
        gateways.insert(name, ip);
    }
    Ok(gateways)
}

fn validate_peers(raw: &[String]) -> Result<Vec<IpAddr>, Error> {
    raw.iter()
        .enumerate()
        .map(|(i, peer)| parse_ip(&format!("peers[{i}]"), peer))
        .collect()
}

fn parse_ip(key: &str, value: &str) -> Result<IpAddr, Error> {
    value.parse().map_err(|_| Error::NotAnIp {
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

impl RawWeb {
    fn validate(self) -> Result<Web, Error> {
        check_listen_address("web.listen_address", &self.listen_address)?;
        check_telemetry_path(&self.telemetry_path)?;
        Ok(Web {
            listen_address: self.listen_address,
            telemetry_path: self.telemetry_path,
        })
    }
}

/// `host:port` where host is empty, an IPv4 address, `[IPv6]` or a hostname.
pub(crate) fn check_listen_address(key: &str, address: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::invalid(key, format!("{address:?} {why}"));
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(bad("is not host:port (use \":9765\" for all interfaces)"));
    };
    match port.parse::<u16>() {
        Ok(port) if port >= 1 => {}
        _ => return Err(bad("has no port between 1 and 65535")),
    }
    if let Some(inner) = host.strip_prefix('[') {
        let v6 = inner
            .strip_suffix(']')
            .and_then(|ip| ip.parse::<Ipv6Addr>().ok());
        return v6
            .map(|_| ())
            .ok_or_else(|| bad("has no valid IPv6 address in brackets"));
    }
    if host.is_empty() || host.parse::<Ipv4Addr>().is_ok() || is_hostname(host) {
        Ok(())
    } else {
        Err(bad(
            "has a host that is neither an IP address nor a hostname",
        ))
    }
}

/// RFC 1123 hostname; a last label of only digits must be an IPv4 address instead.
fn is_hostname(host: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let numeric_tld = host
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
    host.len() <= 253 && !numeric_tld && host.split('.').all(label_ok)
}

fn check_telemetry_path(path: &str) -> Result<(), Error> {
    const KEY: &str = "web.telemetry_path";
    if !path.starts_with('/') {
        return Err(Error::invalid(
            KEY,
            format!("{path:?} must start with \"/\""),
        ));
    }
    if matches!(path, "/" | "/-/healthy" | "/-/ready") {
        return Err(Error::invalid(
            KEY,
            format!("{path:?} is taken by the exporter's own pages"),
        ));
    }
    if path.contains(|c: char| c.is_whitespace() || c.is_control() || c == '?' || c == '#') {
        return Err(Error::invalid(
            KEY,
            format!("{path:?} must not contain spaces, \"?\" or \"#\""),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
