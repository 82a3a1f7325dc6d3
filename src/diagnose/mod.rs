//! `ike_exporter diagnose`: the offline troubleshooter. Reads files (or
//! standard input) to the end through the same pipeline as the exporter,
//! stamping events with the log's own time, and prints a report.
//!
//! Exit codes (design.md §5): 0 when every file was read, 1 when one could
//! not be (after the others are reported), 2 on a usage error.

pub mod report;
pub mod text;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use jiff::tz::TimeZone;

use self::report::Report;
use crate::cli::{DiagnoseArgs, Format};
use crate::metrics::Metrics;
use crate::parse::framing::LineFramer;
use crate::pipeline::{Clock, Pipeline, PipelineConfig};
use crate::record::{Observation, RecordConfig};

/// Runs `diagnose` with the process's standard streams.
pub fn main(args: &DiagnoseArgs) -> ExitCode {
    let stdout = io::stdout();
    let stderr = io::stderr();
    let code = run(
        args,
        &mut io::stdin().lock(),
        &mut stdout.lock(),
        &mut stderr.lock(),
    );
    ExitCode::from(code)
}

/// Runs `diagnose`; returns the exit code.
pub fn run(
    args: &DiagnoseArgs,
    stdin: &mut dyn Read,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let timezone = match parse_timezone(&args.timezone) {
        Some(tz) => tz,
        None => {
            let _ = writeln!(
                err,
                "ike_exporter: invalid --timezone {:?}: use an IANA zone name such as Asia/Tokyo or UTC, or a fixed offset such as +09:00",
                args.timezone
            );
            return 2;
        }
    };
    let metrics = Arc::new(Metrics::new());
    let config = PipelineConfig {
        clock: Clock::LogTime,
        timezone: timezone.clone(),
        record: RecordConfig::default(),
    };
    let mut pipeline = Pipeline::new(Arc::clone(&metrics), config);
    let mut report = Report::new(&args.timezone);
    let mut failed = false;
    let mut seen = HashSet::new();
    for path in &args.files {
        let name = path.to_string_lossy();
        let identity = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if !seen.insert(identity) {
            let _ = writeln!(
                err,
                "ike_exporter: {} given twice; read once",
                path.display()
            );
            continue;
        }
        let result = if name == "-" {
            read_source(&mut pipeline, &mut report, "stdin", args, stdin)
        } else {
            File::open(path).and_then(|mut file| {
                read_source(&mut pipeline, &mut report, &name, args, &mut file)
            })
        };
        if let Err(error) = result {
            failed = true;
            let _ = writeln!(err, "ike_exporter: cannot read {}: {error}", path.display());
        }
    }
    let written = match args.format {
        Format::Prometheus => out.write_all(metrics.encode().as_bytes()),
        Format::Json => report.write_json(out, args.lang),
        Format::Text => text::write(&report, out, &timezone, args.lang),
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => {}
        // A reader that stopped early (`| head`) is not an error.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {}
        Err(error) => {
            let _ = writeln!(err, "ike_exporter: cannot write the report: {error}");
            return 1;
        }
    }
    u8::from(failed)
}

/// An IANA zone name, or a fixed offset `+HH:MM`, `-HH`, `+HHMM`.
fn parse_timezone(text: &str) -> Option<TimeZone> {
    if let Ok(tz) = TimeZone::get(text) {
        return Some(tz);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits
        .get(2..)
        .filter(|m| !m.is_empty())
        .map_or(Some(0), |m| m.parse().ok())?;
    if hours > 18 || minutes > 59 {
        return None;
    }
    let offset = jiff::tz::Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()?;
    Some(TimeZone::fixed(offset))
}

/// Reads one input to its end in large blocks.
fn read_source(
    pipeline: &mut Pipeline,
    report: &mut Report,
    name: &str,
    args: &DiagnoseArgs,
    input: &mut dyn Read,
) -> io::Result<()> {
    let mut src = pipeline.source(name, args.device.as_deref());
    let mut framer = LineFramer::new(args.max_line_bytes);
    let now = now_seconds();
    let mut observe = |obs: Observation| report.add(obs);
    let result = loop {
        let n = match input.read(framer.spare_mut()) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => break Err(error),
        };
        src.count_bytes(n as u64);
        framer.commit(n, |frame| {
            pipeline.frame(&mut src, frame, now, &mut observe)
        });
    };
    framer.flush(|frame| pipeline.frame(&mut src, frame, now, &mut observe));
    pipeline.finish(&mut src, now, &mut observe);
    if result.is_ok() {
        report.input_read(name, src.totals().clone());
    }
    result
}

fn now_seconds() -> f64 {
    jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
}
