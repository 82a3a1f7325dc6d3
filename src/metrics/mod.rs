//! The metrics: one [`Metrics`] owns a private registry (never the global one)
//! and every metric of design.md §4. Metric names appear nowhere else; the
//! README's table is checked against [`DEFINITIONS`] by a test.
//!
//! Only the record stage updates domain metrics, through the methods here.
//! Sources get a [`SourceMetrics`] with cached handles so that per-block
//! counting touches no label map.

mod family;
mod text;

use std::sync::Arc;

use prometheus::{Encoder, Registry, TextEncoder};

pub use family::{Counter, Encode, Family, Gauge, IntGauge, Value};

type IntCounterVec = Family<Counter>;
type IntGaugeVec = Family<IntGauge>;
type GaugeVec = Family<Gauge>;

/// The Prometheus type of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    /// As written in the exposition's `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// Name, type, labels and meaning of one metric.
#[derive(Debug, Clone, Copy)]
pub struct Definition {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

macro_rules! definitions {
    ($($id:ident = $name:literal, $kind:ident, [$($label:literal),*], $help:literal;)*) => {
        $(const $id: Definition = Definition {
            name: $name, kind: Kind::$kind, labels: &[$($label),*], help: $help,
        };)*
        /// Every metric, in README order.
        pub const DEFINITIONS: &[Definition] = &[$($id),*];
    };
}

definitions! {
    PHASE1_FAILURES = "ike_phase1_failures_total", Counter, ["device", "gateway", "peer", "ike_version", "pattern"], "Phase 1 negotiation failures";
    PHASE2_FAILURES = "ike_phase2_failures_total", Counter, ["device", "tunnel", "peer", "ike_version", "pattern"], "Phase 2 negotiation failures";
    PHASE1_SUCCESSES = "ike_phase1_successes_total", Counter, ["device", "gateway", "peer", "ike_version"], "Phase 1 negotiations that succeeded";
    PHASE2_SUCCESSES = "ike_phase2_successes_total", Counter, ["device", "tunnel", "peer", "ike_version"], "Phase 2 negotiations that succeeded";
    PHASE1_UP = "ike_phase1_up", Gauge, ["device", "gateway", "peer"], "1 if the latest Phase 1 outcome seen was a success, 0 if a failure or DPD down";
    PHASE2_UP = "ike_phase2_up", Gauge, ["device", "tunnel", "peer"], "1 if the latest Phase 2 outcome seen was a success, 0 if a failure";
    PHASE1_LAST_FAILURE = "ike_phase1_last_failure_timestamp_seconds", Gauge, ["device", "gateway", "peer", "pattern"], "When the latest Phase 1 failure of this pattern was seen";
    PHASE2_LAST_FAILURE = "ike_phase2_last_failure_timestamp_seconds", Gauge, ["device", "tunnel", "peer", "pattern"], "When the latest Phase 2 failure of this pattern was seen";
    PHASE1_LAST_SUCCESS = "ike_phase1_last_success_timestamp_seconds", Gauge, ["device", "gateway", "peer"], "When the latest Phase 1 success was seen";
    PHASE2_LAST_SUCCESS = "ike_phase2_last_success_timestamp_seconds", Gauge, ["device", "tunnel", "peer"], "When the latest Phase 2 success was seen";
    PROPOSAL_MISMATCHES = "ike_proposal_mismatches_total", Counter, ["device", "peer", "phase", "parameter", "local", "remote"], "Proposal parameters that differed: local is the firewall's value, remote the peer's";
    PROXY_ID_MISMATCHES = "ike_proxy_id_mismatches_total", Counter, ["device", "peer", "tunnel", "local_id", "remote_id"], "Proxy IDs the peer proposed that the firewall rejected";
    EVENTS = "ike_events_total", Counter, ["device", "event_id"], "Every vpn SYSTEM event by event ID";
    BUILD_INFO = "ike_exporter_build_info", Gauge, ["version", "revision"], "Always 1, labelled with the exporter's version";
    LINES = "ike_exporter_lines_total", Counter, ["source"], "Lines (messages) read";
    BYTES = "ike_exporter_bytes_total", Counter, ["source"], "Bytes read";
    LINES_IGNORED = "ike_exporter_lines_ignored_total", Counter, ["source"], "Lines that are not PAN-OS vpn events (normal)";
    PARSE_ERRORS = "ike_exporter_parse_errors_total", Counter, ["source", "reason"], "Malformed lines by reason";
    LAST_LINE = "ike_exporter_last_line_timestamp_seconds", Gauge, ["source"], "When the source last delivered a line";
    FILE_ROTATIONS = "ike_exporter_file_rotations_total", Counter, ["source"], "Files rotated";
    FILE_TRUNCATIONS = "ike_exporter_file_truncations_total", Counter, ["source"], "Files truncated in place";
    FILES_WATCHED = "ike_exporter_files_watched", Gauge, ["source"], "Files open";
    FILE_ERRORS = "ike_exporter_file_errors_total", Counter, ["source", "reason"], "Times a file could not be opened or read, by reason (permission_denied, io)";
    SYSLOG_DROPPED = "ike_exporter_syslog_dropped_total", Counter, ["source", "reason"], "Syslog messages or connections dropped by reason";
    SYSLOG_CONNECTIONS = "ike_exporter_syslog_connections", Gauge, ["source"], "Open syslog TCP/TLS connections";
    LABEL_OVERFLOW = "ike_exporter_label_overflow_total", Counter, ["label"], "Values folded into other by the cardinality guard";
    CONFIG_RELOAD = "ike_exporter_config_last_reload_successful", Gauge, [], "1 if the last configuration reload succeeded";
}

/// The exporter's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Every family, sorted by name: the exposition's order.
    families: Arc<[Arc<dyn Encode>]>,
    /// Only for the client library's `process_*` collector.
    process: Registry,
    pub(crate) phase1_failures: IntCounterVec,
    pub(crate) phase2_failures: IntCounterVec,
    pub(crate) phase1_successes: IntCounterVec,
    pub(crate) phase2_successes: IntCounterVec,
    pub(crate) phase1_up: IntGaugeVec,
    pub(crate) phase2_up: IntGaugeVec,
    pub(crate) phase1_last_failure: GaugeVec,
    pub(crate) phase2_last_failure: GaugeVec,
    pub(crate) phase1_last_success: GaugeVec,
    pub(crate) phase2_last_success: GaugeVec,
    pub(crate) proposal_mismatches: IntCounterVec,
    pub(crate) proxy_id_mismatches: IntCounterVec,
    pub(crate) events: IntCounterVec,
    lines: IntCounterVec,
    bytes: IntCounterVec,
    lines_ignored: IntCounterVec,
    parse_errors: IntCounterVec,
    last_line: GaugeVec,
    pub file_rotations: IntCounterVec,
    pub file_truncations: IntCounterVec,
    pub files_watched: IntGaugeVec,
    pub file_errors: IntCounterVec,
    pub syslog_dropped: IntCounterVec,
    pub syslog_connections: IntGaugeVec,
    pub(crate) label_overflow: IntCounterVec,
    pub config_reload_successful: Arc<IntGauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric, with no series yet but build info and reload status.
    pub fn new() -> Self {
        let mut families: Vec<Arc<dyn Encode>> = Vec::new();
        let build_info: IntGaugeVec = register(&mut families, BUILD_INFO);
        let config_reload: IntGaugeVec = register(&mut families, CONFIG_RELOAD);
        let mut metrics = Self {
            phase1_failures: register(&mut families, PHASE1_FAILURES),
            phase2_failures: register(&mut families, PHASE2_FAILURES),
            phase1_successes: register(&mut families, PHASE1_SUCCESSES),
            phase2_successes: register(&mut families, PHASE2_SUCCESSES),
            phase1_up: register(&mut families, PHASE1_UP),
            phase2_up: register(&mut families, PHASE2_UP),
            phase1_last_failure: register(&mut families, PHASE1_LAST_FAILURE),
            phase2_last_failure: register(&mut families, PHASE2_LAST_FAILURE),
            phase1_last_success: register(&mut families, PHASE1_LAST_SUCCESS),
            phase2_last_success: register(&mut families, PHASE2_LAST_SUCCESS),
            proposal_mismatches: register(&mut families, PROPOSAL_MISMATCHES),
            proxy_id_mismatches: register(&mut families, PROXY_ID_MISMATCHES),
            events: register(&mut families, EVENTS),
            lines: register(&mut families, LINES),
            bytes: register(&mut families, BYTES),
            lines_ignored: register(&mut families, LINES_IGNORED),
            parse_errors: register(&mut families, PARSE_ERRORS),
            last_line: register(&mut families, LAST_LINE),
            file_rotations: register(&mut families, FILE_ROTATIONS),
            file_truncations: register(&mut families, FILE_TRUNCATIONS),
            files_watched: register(&mut families, FILES_WATCHED),
            file_errors: register(&mut families, FILE_ERRORS),
            syslog_dropped: register(&mut families, SYSLOG_DROPPED),
            syslog_connections: register(&mut families, SYSLOG_CONNECTIONS),
            label_overflow: register(&mut families, LABEL_OVERFLOW),
            config_reload_successful: config_reload.with_label_values(&[]),
            families: Arc::new([]),
            process: Registry::new(),
        };
        families.sort_by_key(|f| f.name());
        metrics.families = families.into();
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), crate::REVISION])
            .set(1);
        metrics.config_reload_successful.set(1);
        metrics
    }

    /// Adds the client library's `process_*` collector (serve mode only: a
    /// one-shot `diagnose` has no process worth describing).
    #[cfg(target_os = "linux")]
    pub fn register_process_collector(&self) -> prometheus::Result<()> {
        self.process.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
    }

    /// The Prometheus text exposition (format 0.0.4), families sorted by
    /// name (`process_*` last, as its names sort after `ike_*`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for family in self.families.iter() {
            family.encode(&mut out);
        }
        let process = self.process.gather();
        if !process.is_empty() {
            let mut bytes = Vec::new();
            // Encoding into a Vec fails only for invalid metric families,
            // which registration already rejects.
            if TextEncoder::new().encode(&process, &mut bytes).is_ok() {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        out
    }

    /// Handles for one source's counters.
    pub fn source(&self, name: &str) -> SourceMetrics {
        SourceMetrics {
            name: name.to_owned(),
            lines: self.lines.with_label_values(&[name]),
            bytes: self.bytes.with_label_values(&[name]),
            ignored: self.lines_ignored.with_label_values(&[name]),
            last_line: self.last_line.with_label_values(&[name]),
            parse_errors: self.parse_errors.clone(),
        }
    }
}

/// A new family, listed for the exposition.
fn register<V: Value>(families: &mut Vec<Arc<dyn Encode>>, def: Definition) -> Family<V> {
    let family = Family::new(def);
    families.push(Arc::new(family.clone()));
    family
}

/// Cached counters of one source.
#[derive(Debug, Clone)]
pub struct SourceMetrics {
    name: String,
    lines: Arc<Counter>,
    bytes: Arc<Counter>,
    ignored: Arc<Counter>,
    last_line: Arc<Gauge>,
    parse_errors: IntCounterVec,
}

impl SourceMetrics {
    /// Counts a batch of lines at once.
    pub fn lines_read(&self, lines: u64, ignored: u64, now: f64) {
        if lines > 0 {
            self.lines.inc_by(lines);
            self.ignored.inc_by(ignored);
            self.last_line.set(now);
        }
    }

    /// Counts bytes read.
    pub fn bytes_read(&self, bytes: u64) {
        self.bytes.inc_by(bytes);
    }

    /// Counts one rejected line.
    pub fn parse_error(&self, reason: &str) {
        self.parse_errors
            .with_label_values(&[self.name.as_str(), reason])
            .inc();
    }

    /// The source's name (the `source` label).
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_names_are_unique_and_prefixed() {
        let mut names: Vec<_> = DEFINITIONS.iter().map(|d| d.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DEFINITIONS.len());
        assert!(names.iter().all(|n| n.starts_with("ike_")));
        for def in DEFINITIONS {
            assert_eq!(
                def.kind == Kind::Counter,
                def.name.ends_with("_total"),
                "{}",
                def.name
            );
        }
    }

    #[test]
    fn metrics_encode_build_info_and_source_counters() {
        let metrics = Metrics::new();
        metrics.source("fw").lines_read(10, 9, 1.0);
        metrics.source("fw").parse_error("csv");
        let text = metrics.encode();
        assert!(text.contains("ike_exporter_build_info{revision="));
        assert!(text.contains("ike_exporter_lines_total{source=\"fw\"} 10"));
        assert!(text.contains("ike_exporter_parse_errors_total{reason=\"csv\",source=\"fw\"} 1"));
    }
}
