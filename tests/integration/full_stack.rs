//! The whole chain on 127.0.0.1: the exporter tails a log, a real Prometheus
//! evaluates deploy/prometheus/alerts.yml, a real Alertmanager routes the
//! alert, and a small webhook receiver gets it. A PSK-mismatch event makes
//! `IkePhase1PskMismatch` arrive with the device, peer and runbook; a later
//! Phase 1 success resolves it.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::serve_files::{Scenario, append};
use crate::support::prometheus::Prometheus;
use crate::support::{exporter::free_port, root, tool};

/// Alertmanager notifications received, as JSON.
type Inbox = Arc<Mutex<Vec<serde_json::Value>>>;

/// A webhook receiver: answers 200 to every POST and keeps the bodies.
fn webhook() -> (u16, Inbox) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox: Inbox = Arc::default();
    let kept = Arc::clone(&inbox);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok()
                && let Ok(json) = serde_json::from_slice(&body)
            {
                kept.lock().unwrap().push(json);
            }
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, inbox)
}

struct Alertmanager {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alertmanager(port: u16, webhook: u16) -> Option<Alertmanager> {
    let binary = tool("prometheus-alertmanager")?;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("am.yml");
    fs::write(
        &config,
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname, device, peer]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{webhook}/\n        send_resolved: true\n"
        ),
    )
    .unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("alertmanager starts");
    Some(Alertmanager { child, _dir: dir })
}

/// alerts.yml with every `for:` shortened to 1 s, so the test need not wait
/// minutes (the rules' expressions are unchanged).
fn fast_rules(dir: &std::path::Path) -> std::path::PathBuf {
    let rules = fs::read_to_string(root().join("deploy/prometheus/alerts.yml")).unwrap();
    let fast: String = rules
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("for:") {
                format!("{}for: 1s", &l[..l.len() - l.trim_start().len()])
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect();
    let path = dir.join("alerts.yml");
    fs::write(&path, fast).unwrap();
    path
}

fn psk_line(seq: u32) -> String {
    format!(
        "<11>Mar 12 10:15:02 fw-stack 1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail-psk,gw-stack,0,0,general,high,\"IKE phase-1 negotiation is failed likely due to pre-shared key mismatch.\",{seq},0x0,0,0,0,0,,fw-stack\n"
    )
}

fn start_line() -> &'static str {
    "<14>Mar 12 10:15:00 fw-stack 1,2024/03/12 10:15:00,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:00,,ike-nego-p1-start,gw-stack,0,0,general,informational,\"IKE phase-1 negotiation is started as initiator, main mode. Initiated SA: 192.0.2.10[500]-198.51.100.77[500] cookie:1:0.\",1,0x0,0,0,0,0,,fw-stack\n"
}

fn success_line() -> &'static str {
    "<14>Mar 12 10:20:00 fw-stack 1,2024/03/12 10:20:00,013101009876,SYSTEM,vpn,0,2024/03/12 10:20:00,,ike-nego-p1-succ,gw-stack,0,0,general,informational,\"IKE phase-1 negotiation is succeeded as initiator, main mode. Established SA: 192.0.2.10[500]-198.51.100.77[500] cookie:1:2 lifetime 28800 Sec.\",9,0x0,0,0,0,0,,fw-stack\n"
}

/// The first notification for `alertname` with `status`, within a deadline.
fn wait_notification(inbox: &Inbox, alertname: &str, status: &str) -> serde_json::Value {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(90) {
        let found = inbox
            .lock()
            .unwrap()
            .iter()
            .flat_map(|n| n["alerts"].as_array().cloned().unwrap_or_default())
            .find(|a| a["labels"]["alertname"] == alertname && a["status"] == status);
        if let Some(alert) = found {
            return alert;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "no {status} {alertname} notification; got {:?}",
        inbox.lock().unwrap()
    );
}

#[test]
fn full_stack_psk_mismatch_pages_and_resolves() {
    if tool("prometheus").is_none() || tool("prometheus-alertmanager").is_none() {
        return;
    }
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), start_line());
    let e = s.start(&[]);
    e.wait_for("ike_events_total", &[], 1.0);
    let (hook_port, inbox) = webhook();
    let am_port = free_port();
    let Some(_am) = alertmanager(am_port, hook_port) else {
        return;
    };
    let rules = fast_rules(s.dir.path());
    let Some(prom) = Prometheus::start_with(&[e.port], Some(&rules), Some(am_port)) else {
        return;
    };
    prom.wait_targets_up(1);
    // A negotiation retried by the peer: failures on consecutive scrapes.
    for seq in 2..6 {
        append(&s.path("a.log"), &psk_line(seq));
        let want = f64::from(seq - 1);
        e.wait_for(
            "ike_phase1_failures_total",
            &[("pattern", "psk_mismatch")],
            want,
        );
        prom.wait("a scrape of each value", |p| {
            let json = p.query(r#"ike_phase1_failures_total{pattern="psk_mismatch"}"#)?;
            let v = json["data"]["result"][0]["value"][1]
                .as_str()?
                .parse::<f64>()
                .ok()?;
            (v == want).then_some(())
        });
    }
    let firing = wait_notification(&inbox, "IkePhase1PskMismatch", "firing");
    assert_eq!(firing["labels"]["device"], "fw-stack");
    assert_eq!(firing["labels"]["peer"], "198.51.100.77");
    assert_eq!(firing["labels"]["gateway"], "gw-stack");
    let runbook = firing["annotations"]["runbook_url"]
        .as_str()
        .unwrap_or_default();
    assert!(
        runbook.ends_with("docs/runbook.md#ikephase1pskmismatch"),
        "{runbook}"
    );
    assert!(
        firing["annotations"]["description"]
            .as_str()
            .unwrap_or_default()
            .contains("Pre-shared Key")
    );

    append(&s.path("a.log"), success_line());
    let resolved = wait_notification(&inbox, "IkePhase1PskMismatch", "resolved");
    assert_eq!(resolved["labels"]["peer"], "198.51.100.77");
}
