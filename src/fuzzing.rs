//! Entry points for the fuzz targets (`fuzz/`) and their regression tests
//! (`tests/fixtures/fuzz/`): each takes arbitrary bytes and must not panic,
//! and checks the invariants the fuzzer should not break.

use std::sync::Arc;

use crate::classify::classify;
use crate::metrics::Metrics;
use crate::parse::ikemgr::{Assembler, split_lines};
use crate::parse::stream::StreamFramer;
use crate::parse::{cef, csv, export, leef, syslog};
use crate::pipeline::{Clock, Pipeline, PipelineConfig};
use crate::record::RecordConfig;

/// A fuzz entry point.
pub type Target = fn(&[u8]);

/// The fuzz targets by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("syslog_stream", syslog_stream),
    ("line_parsers", line_parsers),
    ("export_rows", export_rows),
    ("ikemgr", ikemgr),
    ("pipeline", pipeline),
];

/// RFC 6587 framing of bytes split at a point the input chooses, then the
/// syslog envelope of each message; no message exceeds the maximum.
pub fn syslog_stream(data: &[u8]) {
    let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut framer = StreamFramer::new(1024);
    let mut messages = Vec::new();
    let mut out = |m: &[u8]| messages.push(m.to_vec());
    let _ = framer.push(&data[..cut], &mut out);
    let _ = framer.push(&data[cut..], &mut out);
    let _ = framer.finish(&mut out);
    for message in &messages {
        assert!(message.len() <= 1024, "a message over the maximum");
        let _ = syslog::strip(&String::from_utf8_lossy(message));
    }
}

/// The CSV, CEF and LEEF parsers and classification on one line.
pub fn line_parsers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let payload = syslog::strip(&text).map_or(text.as_ref(), |e| e.payload);
    let parsed = [
        csv::parse_system(payload, Some("h")),
        cef::parse(payload, None),
        leef::parse(payload, None),
    ];
    for record in parsed.into_iter().flatten().flatten() {
        let _ = classify(&record);
    }
}

/// A GUI export: the first line as header, the rest as rows.
pub fn export_rows(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let Some(cols) = lines.next().and_then(export::parse_header) else {
        return;
    };
    for row in lines {
        let _ = export::parse_row(&cols, row);
    }
}

/// The ikemgr splitter and assembler over lines.
pub fn ikemgr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut assembler = Assembler::default();
    let mut out = Vec::new();
    for line in text.split('\n') {
        for (time, context, body) in split_lines(line) {
            assembler.push(time, context, &body, &mut out);
        }
    }
    assembler.finish(&mut out);
}

/// The whole pipeline on one block of lines.
pub fn pipeline(data: &[u8]) {
    let config = PipelineConfig {
        clock: Clock::LogTime,
        timezone: jiff::tz::TimeZone::UTC,
        record: RecordConfig::default(),
    };
    let mut pipeline = Pipeline::new(Arc::new(Metrics::new()), config);
    let mut src = pipeline.source("fuzz", None);
    pipeline.block(&mut src, data, 0.0, &mut |_| {});
    pipeline.finish(&mut src, 0.0, &mut |_| {});
}
