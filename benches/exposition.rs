//! Criterion benchmark of the `/metrics` body: `Metrics::encode` with about
//! 10,000 series, the size issue 6 sets a scrape-latency target for.
//!
//! The series come from the corpus's `vpn` lines replayed for many peers,
//! each with its own gateway and tunnel names, so every family is populated
//! the way a large fleet populates it.
//! Run: `cargo bench --bench exposition`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ike_exporter::metrics::Metrics;
use ike_exporter::pipeline::{Clock, Pipeline, PipelineConfig};
use ike_exporter::record::RecordConfig;

const CORPUS: &str = include_str!("../tests/fixtures/corpus/mixed-traffic.log");
const PEERS: usize = 280;

/// Every corpus `vpn` line once per peer, addresses and object names varied.
fn workload() -> Vec<u8> {
    let vpn: Vec<&str> = CORPUS.lines().filter(|l| l.contains(",vpn,")).collect();
    let mut out = Vec::new();
    for peer in 0..PEERS {
        let net = format!("10.{}.{}.", peer / 250, peer % 250);
        for line in &vpn {
            let varied = line
                .replace("198.51.100.", &net)
                .replace("203.0.113.", &net)
                .replace(",gw-", &format!(",gw{peer}-"))
                .replace(",tun-", &format!(",tun{peer}-"));
            out.extend_from_slice(varied.as_bytes());
            out.push(b'\n');
        }
    }
    out
}

fn populated() -> Arc<Metrics> {
    let metrics = Arc::new(Metrics::new());
    let config = PipelineConfig {
        clock: Clock::ReadTime,
        timezone: jiff::tz::TimeZone::UTC,
        record: RecordConfig {
            max_peers: 100_000,
            max_objects: 100_000,
            ..RecordConfig::default()
        },
    };
    let mut pipeline = Pipeline::new(Arc::clone(&metrics), config);
    let mut src = pipeline.source("bench", None);
    pipeline.block(&mut src, &workload(), 0.0, &mut drop);
    metrics
}

fn benches(c: &mut Criterion) {
    let metrics = populated();
    let text = metrics.encode();
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    eprintln!("exposition: {series} series, {} bytes", text.len());
    c.bench_function("encode_10k_series", |b| {
        b.iter(|| black_box(metrics.encode()))
    });
}

criterion_group!(exposition_benches, benches);
criterion_main!(exposition_benches);
