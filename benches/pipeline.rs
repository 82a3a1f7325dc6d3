//! Criterion benchmarks of the hot path on TRAFFIC-heavy input: the prefilter
//! alone, the whole pipeline (prefilter, parse, classify, record), and the
//! parser on one `vpn` line.
//!
//! The input is built from the corpus's own lines (`mixed-traffic.log`): 98 %
//! TRAFFIC/THREAT lines and 2 % `vpn` events, cycled with varied addresses.
//! Run: `cargo bench --bench pipeline`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ike_exporter::metrics::Metrics;
use ike_exporter::parse::SourceParser;
use ike_exporter::parse::prefilter::Prefilter;
use ike_exporter::pipeline::{Clock, Pipeline, PipelineConfig};
use ike_exporter::record::RecordConfig;

const CORPUS: &str = include_str!("../tests/fixtures/corpus/mixed-traffic.log");
const LINES: usize = 100_000;

/// `LINES` lines, one in fifty a `vpn` event, with the last octet of the
/// documentation-range addresses varied so lines are not all identical.
fn workload() -> Vec<u8> {
    let vpn: Vec<&str> = CORPUS.lines().filter(|l| l.contains(",vpn,")).collect();
    let other: Vec<&str> = CORPUS
        .lines()
        .filter(|l| l.contains(",TRAFFIC,") || l.contains(",THREAT,"))
        .collect();
    let mut out = Vec::with_capacity(LINES * 450);
    for i in 0..LINES {
        let line = if i % 50 == 0 {
            vpn[i / 50 % vpn.len()]
        } else {
            other[i % other.len()]
        };
        let varied = line.replace("198.51.100.", &format!("198.51.{}.", i % 200));
        out.extend_from_slice(varied.as_bytes());
        out.push(b'\n');
    }
    out
}

fn benches(c: &mut Criterion) {
    let input = workload();
    let mut group = c.benchmark_group("traffic_heavy");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(20);

    let prefilter = Prefilter::new();
    group.bench_function("prefilter_scan", |b| {
        b.iter(|| {
            let mut hits = 0u32;
            let stats = prefilter.scan(black_box(&input), |_| hits += 1);
            black_box((stats, hits))
        })
    });

    group.bench_function("pipeline_block", |b| {
        let config = PipelineConfig {
            clock: Clock::ReadTime,
            timezone: jiff::tz::TimeZone::UTC,
            record: RecordConfig::default(),
        };
        let mut pipeline = Pipeline::new(Arc::new(Metrics::new()), config);
        let mut src = pipeline.source("bench", None);
        b.iter(|| {
            pipeline.block(&mut src, black_box(&input), 0.0, &mut |obs| {
                drop(black_box(obs))
            })
        })
    });
    group.finish();

    let vpn_line = CORPUS
        .lines()
        .find(|l| l.contains("ike-nego-p2-proxy-id-bad"))
        .unwrap_or_default();
    let mut parser = SourceParser::default();
    let mut out = Vec::new();
    c.bench_function("parse_vpn_line", |b| {
        b.iter(|| {
            out.clear();
            black_box(parser.parse_line(black_box(vpn_line.as_bytes()), &mut out))
        })
    });
}

criterion_group!(pipeline_benches, benches);
criterion_main!(pipeline_benches);
