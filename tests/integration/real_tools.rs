//! The exporter with the real tools users run next to it: `logrotate`
//! rotating its files (create and copytruncate modes, own state file) and a
//! Prometheus server scraping it, read back through Prometheus' HTTP API.

use std::fs;
use std::process::Command;

use crate::serve_files::{Scenario, append, failure, success};
use crate::support::exporter::Exporter;
use crate::support::prometheus::Prometheus;
use crate::support::tool;

const FAILURES: &str = "ike_phase1_failures_total";

fn logrotate(s: &Scenario, mode: &str) {
    let Some(logrotate) = tool("logrotate") else {
        return;
    };
    let conf = s.path("logrotate.conf");
    let log = s.path("a.log");
    fs::write(
        &conf,
        format!(
            "{} {{\n    {mode}\n    rotate 3\n    missingok\n}}\n",
            log.display()
        ),
    )
    .unwrap();
    let status = Command::new(logrotate)
        .args(["-f", "-s"])
        .arg(s.path("logrotate.state"))
        .arg(&conf)
        .status()
        .expect("logrotate runs");
    assert!(status.success());
}

#[test]
fn logrotate_create_mode_loses_nothing() {
    if tool("logrotate").is_none() {
        return;
    }
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), &(0..3).map(failure).collect::<String>());
    let e = s.start(&[]);
    e.wait_for(FAILURES, &[], 3.0);
    logrotate(&s, "create");
    assert!(s.path("a.log.1").exists() && s.path("a.log").exists());
    // A writer that still has the old file open, and one that opened the new.
    append(&s.path("a.log.1"), &failure(3));
    append(&s.path("a.log"), &(4..6).map(failure).collect::<String>());
    e.wait_for(FAILURES, &[], 6.0);
    e.wait_for("ike_exporter_files_watched", &[], 1.0);
    append(&s.path("a.log"), &success(1));
    e.wait_for("ike_phase1_successes_total", &[], 1.0);
    assert_eq!(e.value(FAILURES, &[]), 6.0);
}

#[test]
fn logrotate_copytruncate_mode_loses_nothing() {
    if tool("logrotate").is_none() {
        return;
    }
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), &(0..3).map(failure).collect::<String>());
    let e = s.start(&[]);
    e.wait_for(FAILURES, &[], 3.0);
    logrotate(&s, "copytruncate");
    assert_eq!(fs::metadata(s.path("a.log")).unwrap().len(), 0);
    e.wait_for("ike_exporter_file_truncations_total", &[], 1.0);
    append(&s.path("a.log"), &(3..7).map(failure).collect::<String>());
    e.wait_for(FAILURES, &[], 7.0);
}

#[test]
fn prometheus_scrapes_the_exporter() {
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), &(0..5).map(failure).collect::<String>());
    let e: Exporter = s.start(&[]);
    e.wait_for(FAILURES, &[], 5.0);
    let Some(prom) = Prometheus::start(&[e.port]) else {
        return;
    };
    prom.wait_targets_up(1);
    let value = prom.wait("the failures in a query", |p| {
        let json = p.query(r#"ike_phase1_failures_total{pattern="timeout"}"#)?;
        let result = json["data"]["result"].as_array()?.first()?.clone();
        assert_eq!(result["metric"]["gateway"], "gw-t");
        assert_eq!(result["metric"]["peer"], "198.51.100.20");
        result["value"][1].as_str()?.parse::<f64>().ok()
    });
    assert_eq!(value, 5.0);
}

#[test]
fn prometheus_sums_two_sharded_exporters() {
    // Two instances, each with its own firewalls' log, as in deploy/README.md.
    let (a, b) = (Scenario::new("a.log", ""), Scenario::new("b.log", ""));
    append(&a.path("a.log"), &(0..3).map(failure).collect::<String>());
    append(&b.path("b.log"), &(0..4).map(failure).collect::<String>());
    let (ea, eb) = (a.start(&[]), b.start(&[]));
    ea.wait_for(FAILURES, &[], 3.0);
    eb.wait_for(FAILURES, &[], 4.0);
    let Some(prom) = Prometheus::start(&[ea.port, eb.port]) else {
        return;
    };
    prom.wait_targets_up(2);
    let sum = prom.wait("the sum over instances", |p| {
        let json = p.query("sum by (device, peer) (ike_phase1_failures_total)")?;
        let result = json["data"]["result"].as_array()?.first()?.clone();
        let v = result["value"][1].as_str()?.parse::<f64>().ok()?;
        (v == 7.0).then_some(v)
    });
    assert_eq!(sum, 7.0);
    let per_instance = prom.query("count(ike_phase1_failures_total)").unwrap();
    assert_eq!(
        per_instance["data"]["result"][0]["value"][1], "2",
        "one series per instance"
    );
}
