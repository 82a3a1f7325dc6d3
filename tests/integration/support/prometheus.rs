//! A real Prometheus server (Debian package) on 127.0.0.1, scraping given
//! targets every second, optionally with rule files and an Alertmanager.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::exporter::free_port;
use super::tool;

/// A running Prometheus; killed when dropped.
pub struct Prometheus {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Scrapes `targets` (ports on 127.0.0.1) as job `ike`; `None` outside CI
    /// when Prometheus is not installed.
    pub fn start(targets: &[u16]) -> Option<Self> {
        Self::start_with(targets, None, None)
    }

    /// Also evaluates `rules` every second and alerts `alertmanager`.
    pub fn start_with(
        targets: &[u16],
        rules: Option<&Path>,
        alertmanager: Option<u16>,
    ) -> Option<Self> {
        let binary = tool("prometheus")?;
        let dir = tempfile::tempdir().unwrap();
        let targets: Vec<String> = targets.iter().map(|p| format!("'127.0.0.1:{p}'")).collect();
        let mut config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: ike\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        if let Some(rules) = rules {
            config += &format!("rule_files: ['{}']\n", rules.display());
        }
        if let Some(port) = alertmanager {
            config += &format!(
                "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{port}']\n"
            );
        }
        let path = dir.path().join("prometheus.yml");
        fs::write(&path, config).unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--rules.alert.resend-delay=1s")
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
    pub fn api(&self, path_and_query: &str) -> Option<serde_json::Value> {
        self.request(&format!("GET {path_and_query} HTTP/1.0"), "")
    }

    /// An instant query, POSTed (dashboard expressions can be long): the
    /// whole JSON answer.
    pub fn query(&self, expr: &str) -> Option<serde_json::Value> {
        let body = format!("query={}", encode(expr));
        let head = "POST /api/v1/query HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded";
        self.request(head, &body)
    }

    fn request(&self, head: &str, body: &str) -> Option<serde_json::Value> {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        let length = body.len();
        write!(
            stream,
            "{head}\r\nHost: prom\r\nContent-Length: {length}\r\n\r\n{body}"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        serde_json::from_str(response.split_once("\r\n\r\n")?.1).ok()
    }

    /// Polls `f` for up to a minute.
    pub fn wait<T>(&self, what: &str, f: impl Fn(&Self) -> Option<T>) -> T {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(v) = f(self) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Prometheus: timed out waiting for {what}");
    }

    /// Waits until `n` targets are up; a scrape error fails the test.
    pub fn wait_targets_up(&self, n: usize) {
        self.wait("the targets to be up", |p| {
            let targets = p.api("/api/v1/targets")?;
            let active = targets["data"]["activeTargets"].as_array()?.clone();
            for target in &active {
                let error = target["lastError"].as_str().unwrap_or("");
                assert!(error.is_empty(), "scrape error: {error}");
            }
            (active.len() == n && active.iter().all(|t| t["health"] == "up")).then_some(())
        });
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query parameter.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
