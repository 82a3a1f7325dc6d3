//! The pipeline shared by `serve` and `diagnose`: blocks of complete lines →
//! prefilter → parse → classify → record.
//!
//! A [`SourceState`] holds what one input needs (its name, device, parser
//! state, cached counters); the [`Pipeline`] holds what all inputs share (the
//! recorder and its learned peers). Line and byte counters are updated once
//! per block, not per line.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;

use crate::classify::classify;
use crate::log_limit::LogLimiter;
use crate::metrics::{Metrics, SourceMetrics};
use crate::parse::framing::{self, Frame};
use crate::parse::prefilter::Prefilter;
use crate::parse::{ParseError, Record, SourceParser};
use crate::record::peers::UNKNOWN;
use crate::record::{Observation, RecordConfig, Recorder};

/// Which time an event is stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The log's own time (`diagnose`), falling back to the read time.
    LogTime,
    /// The time the line was read (the live exporter).
    ReadTime,
}

/// Settings of a pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub clock: Clock,
    /// The zone of log times that carry none.
    pub timezone: TimeZone,
    pub record: RecordConfig,
}

/// What one input delivered, for `diagnose`'s summary (the same counts go to
/// the `ike_exporter_*` metrics).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SourceTotals {
    pub lines: u64,
    pub bytes: u64,
    pub ignored: u64,
    pub parse_errors: BTreeMap<&'static str, u64>,
}

/// One input's state.
#[derive(Debug)]
pub struct SourceState {
    device: Option<String>,
    parser: SourceParser,
    metrics: SourceMetrics,
    totals: SourceTotals,
    /// Malformed lines are logged at most once per interval per stream.
    error_log: LogLimiter,
    /// Whether the first line was seen (only it can be a GUI export header).
    started: bool,
    /// GUI exports list newest first; in `diagnose` their records are sorted
    /// by time before recording so that peers are learned in log order.
    deferred: Vec<(f64, Record)>,
}

impl SourceState {
    /// Counts bytes as the transport reads them (over-long lines included).
    pub fn count_bytes(&mut self, bytes: u64) {
        self.totals.bytes += bytes;
        self.metrics.bytes_read(bytes);
    }

    /// What this input delivered so far.
    pub fn totals(&self) -> &SourceTotals {
        &self.totals
    }

    fn count_lines(&mut self, lines: u64, ignored: u64, now: f64) {
        self.totals.lines += lines;
        self.totals.ignored += ignored;
        self.metrics.lines_read(lines, ignored, now);
    }

    fn count_error(&mut self, error: ParseError) {
        *self.totals.parse_errors.entry(error.code()).or_default() += 1;
        self.metrics.parse_error(error.code());
        if let Some(held_back) = self.error_log.allow(Instant::now()) {
            tracing::warn!(
                source = self.metrics.name(),
                reason = error.code(),
                %error,
                similar_lines_not_logged = held_back,
                "Skipped a malformed line; counted in ike_exporter_parse_errors_total."
            );
        }
    }
}

/// Records per GUI export held for sorting before they are recorded in order.
const MAX_DEFERRED: usize = 1 << 20;

/// The stages after framing.
#[derive(Debug)]
pub struct Pipeline {
    metrics: Arc<Metrics>,
    recorder: Recorder,
    prefilter: Prefilter,
    config: PipelineConfig,
    records: Vec<Record>,
}

impl Pipeline {
    /// A pipeline recording into `metrics`.
    pub fn new(metrics: Arc<Metrics>, config: PipelineConfig) -> Self {
        Self {
            recorder: Recorder::new(Arc::clone(&metrics), config.record.clone()),
            metrics,
            prefilter: Prefilter::new(),
            config,
            records: Vec::new(),
        }
    }

    /// Applies a reloaded record configuration (counters are kept).
    pub fn reconfigure(&mut self, record: RecordConfig) {
        self.recorder.reconfigure(record.clone());
        self.config.record = record;
    }

    /// The metrics this pipeline records into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// State for a new input named `name`; `device` labels records that name none.
    pub fn source(&self, name: &str, device: Option<&str>) -> SourceState {
        self.source_of(name, device, true)
    }

    /// Like [`source`](Self::source); without `export_header`, the first line
    /// is never taken for a GUI export header (a network stream, where anyone
    /// could send one and switch the source into export mode).
    pub fn source_of(&self, name: &str, device: Option<&str>, export_header: bool) -> SourceState {
        SourceState {
            device: device.map(str::to_owned),
            parser: SourceParser::default(),
            metrics: self.metrics.source(name),
            totals: SourceTotals::default(),
            error_log: LogLimiter::new(Duration::from_secs(10)),
            started: !export_header,
            deferred: Vec::new(),
        }
    }

    /// Handles one frame from the framer.
    pub fn frame(
        &mut self,
        src: &mut SourceState,
        frame: Frame<'_>,
        now: f64,
        observe: &mut impl FnMut(Observation),
    ) {
        match frame {
            Frame::Lines(block) => self.block(src, block, now, observe),
            Frame::TooLong => {
                src.count_lines(1, 0, now);
                src.count_error(ParseError::TooLong);
            }
        }
    }

    /// Processes a block of complete lines (`\n`-separated; the last may lack
    /// its `\n` at end of input).
    pub fn block(
        &mut self,
        src: &mut SourceState,
        block: &[u8],
        now: f64,
        observe: &mut impl FnMut(Observation),
    ) {
        let mut rest = block;
        let mut lines = 0u64;
        let mut relevant = 0u64;
        if !src.started && !block.is_empty() {
            src.started = true;
            let end = memchr::memchr(b'\n', block).map_or(block.len(), |i| i + 1);
            if let Some(header) = framing::lines(&block[..end]).next()
                && src.parser.first_line(header)
            {
                lines += 1;
                rest = &block[end..];
            }
        }
        if src.parser.in_export_mode() {
            // Rows need not carry a prefilter marker: parse every one.
            if !rest.is_empty() {
                for line in framing::lines(rest) {
                    lines += 1;
                    relevant += u64::from(self.line(src, line, now, observe));
                }
            }
        } else {
            let prefilter = self.prefilter.clone();
            let stats = prefilter.scan(rest, |line| {
                relevant += u64::from(self.line(src, line, now, observe));
            });
            lines += stats.lines;
        }
        src.count_lines(lines, lines - relevant, now);
    }

    /// Parses, classifies and records one line; true when it was relevant.
    fn line(
        &mut self,
        src: &mut SourceState,
        line: &[u8],
        now: f64,
        observe: &mut impl FnMut(Observation),
    ) -> bool {
        let mut records = std::mem::take(&mut self.records);
        let relevant = match src.parser.parse_line(line, &mut records) {
            Ok(relevant) => relevant,
            Err(error) => {
                src.count_error(error);
                true
            }
        };
        self.dispatch(src, &mut records, now, observe);
        self.records = records;
        relevant
    }

    /// End of an input: flushes the ikemgr assembler and deferred export rows.
    pub fn finish(
        &mut self,
        src: &mut SourceState,
        now: f64,
        observe: &mut impl FnMut(Observation),
    ) {
        let mut records = Vec::new();
        src.parser.finish(&mut records);
        self.dispatch(src, &mut records, now, observe);
        self.flush_deferred(src, observe);
    }

    fn dispatch(
        &mut self,
        src: &mut SourceState,
        records: &mut Vec<Record>,
        now: f64,
        observe: &mut impl FnMut(Observation),
    ) {
        for record in records.drain(..) {
            let time = self.time_of(&record, now);
            if self.config.clock == Clock::LogTime && src.parser.in_export_mode() {
                src.deferred.push((time, record));
                if src.deferred.len() >= MAX_DEFERRED {
                    self.flush_deferred(src, observe);
                }
                continue;
            }
            observe(self.record(src, &record, time));
        }
    }

    fn flush_deferred(&mut self, src: &mut SourceState, observe: &mut impl FnMut(Observation)) {
        let mut deferred = std::mem::take(&mut src.deferred);
        deferred.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (time, record) in &deferred {
            observe(self.record(src, record, *time));
        }
    }

    fn record(&mut self, src: &SourceState, record: &Record, time: f64) -> Observation {
        match record {
            Record::System(system) => {
                let event = classify(system);
                let device = system
                    .device
                    .as_deref()
                    .or(src.device.as_deref())
                    .unwrap_or(UNKNOWN);
                self.recorder.record_event(&event, device, time)
            }
            Record::Proposal(proposal) => {
                let device = src.device.as_deref().unwrap_or(UNKNOWN);
                self.recorder.record_proposal(proposal, device, time)
            }
        }
    }

    fn time_of(&self, record: &Record, now: f64) -> f64 {
        if self.config.clock == Clock::ReadTime {
            return now;
        }
        let time = match record {
            Record::System(r) => r.time,
            Record::Proposal(p) => p.time,
        };
        time.and_then(|t| t.to_unix_seconds(&self.config.timezone))
            .unwrap_or(now)
    }
}
