//! The exporter with the real tools users run next to it: `logrotate`
//! rotating its files (create and copytruncate modes, own state file) and a
//! Prometheus server scraping it, read back through Prometheus' HTTP API.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve_files::{Scenario, append, failure, success};
use crate::support::exporter::{Exporter, free_port};
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

/// A Prometheus server on 127.0.0.1 scraping `target` every second.
struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target_port: u16) -> Option<Self> {
        let binary = tool("prometheus")?;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: ike\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts");
        Some(Self {
            child,
            port,
            _dir: dir,
        })
    }

    /// GET an API path as JSON.
    fn api(&self, path_and_query: &str) -> Option<serde_json::Value> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        write!(
            stream,
            "GET {path_and_query} HTTP/1.0\r\nHost: prom\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        serde_json::from_str(response.split_once("\r\n\r\n")?.1).ok()
    }

    fn wait<T>(&self, what: &str, f: impl Fn(&Self) -> Option<T>) -> T {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(v) = f(self) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Prometheus: timed out waiting for {what}");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn prometheus_scrapes_the_exporter() {
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), &(0..5).map(failure).collect::<String>());
    let e: Exporter = s.start(&[]);
    e.wait_for(FAILURES, &[], 5.0);
    let Some(prom) = Prometheus::start(e.port) else {
        return;
    };
    prom.wait("the target to be up", |p| {
        let targets = p.api("/api/v1/targets")?;
        let target = targets["data"]["activeTargets"]
            .as_array()?
            .first()?
            .clone();
        (target["health"] == "up").then_some(()).or_else(|| {
            let error = target["lastError"].as_str().unwrap_or("");
            assert!(error.is_empty(), "scrape error: {error}");
            None
        })
    });
    let value = prom.wait("the failures in a query", |p| {
        let json =
            p.api("/api/v1/query?query=ike_phase1_failures_total%7Bpattern%3D%22timeout%22%7D")?;
        let result = json["data"]["result"].as_array()?.first()?.clone();
        assert_eq!(result["metric"]["gateway"], "gw-t");
        assert_eq!(result["metric"]["peer"], "198.51.100.20");
        result["value"][1].as_str()?.parse::<f64>().ok()
    });
    assert_eq!(value, 5.0);
}
