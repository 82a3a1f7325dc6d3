//! Label floods end to end: 100,000 forged IKE failures over UDP, each with a
//! new peer, gateway or device, leave at most the configured number of label
//! values (plus `other`), count every event, account for every folded one in
//! ike_exporter_label_overflow_total, keep memory bounded, and keep the
//! exposition valid even for hostile label values.

use std::net::UdpSocket;

use crate::support::exporter::{Exporter, free_port};
use crate::support::{exposition, promtool_check_metrics};

const FAILURES: &str = "ike_phase1_failures_total";
const EVENTS: u32 = 100_000;

fn failure(device: &str, gateway: &str, peer: &str, seq: u32) -> String {
    format!(
        "<11>Mar 12 10:15:02 fw 1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail,{gateway},0,0,general,high,\"IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 192.0.2.10[500]-{peer}[500] cookie:{seq:016x}:0 due to timeout.\",{seq},0x0,0,0,0,0,,{device}"
    )
}

/// Sends `lines` as datagrams, letting the exporter catch up every 2,000 so
/// that the kernel's socket buffer never overflows (totals must be exact).
fn send(e: &Exporter, port: u16, lines: impl Iterator<Item = String>) -> u32 {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut sent = 0u32;
    let base = e.value("ike_exporter_lines_total", &[("source", "flood")]);
    for line in lines {
        socket
            .send_to(line.as_bytes(), ("127.0.0.1", port))
            .unwrap();
        sent += 1;
        if sent.is_multiple_of(2_000) {
            e.wait_until("the exporter to catch up", |e| {
                e.value("ike_exporter_lines_total", &[("source", "flood")])
                    >= base + f64::from(sent) - 500.0
            });
        }
    }
    e.wait_for(
        "ike_exporter_lines_total",
        &[("source", "flood")],
        base + f64::from(sent),
    );
    sent
}

fn distinct(text: &str, name: &str, label: &str) -> usize {
    let values: std::collections::BTreeSet<String> = exposition::parse(text)
        .into_keys()
        .filter(|(n, _)| n == name)
        .filter_map(|(_, labels)| labels.get(label).cloned())
        .collect();
    values.len()
}

#[test]
fn label_flood_of_peers_gateways_and_devices_stays_bounded_and_exact() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!("sources:\n  - {{name: flood, type: syslog_udp, listen_address: '127.0.0.1:{port}'}}\nlimits: {{max_peers: 1000, max_objects: 1000, max_devices: 100}}\n"),
    )
    .unwrap();
    let e = Exporter::start(&["--config", config.to_str().unwrap()], dir.path());

    // 100,000 distinct peers.
    let peer = |i: u32| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
    send(
        &e,
        port,
        (0..EVENTS).map(|i| failure("fw-a", "gw-a", &peer(i), i)),
    );
    let text = e.metrics();
    assert_eq!(
        exposition::parse(&text)
            .iter()
            .filter(|((n, _), _)| n == FAILURES)
            .map(|(_, v)| v)
            .sum::<f64>(),
        f64::from(EVENTS)
    );
    assert!(
        distinct(&text, FAILURES, "peer") <= 1001,
        "{} peers",
        distinct(&text, FAILURES, "peer")
    );
    let folded = e.value("ike_exporter_label_overflow_total", &[("label", "peer")]);
    assert_eq!(
        folded,
        f64::from(EVENTS - 1000),
        "every folded event is counted"
    );
    let rss_after_peers = e.value("process_resident_memory_bytes", &[]);

    // 100,000 distinct gateways, then 100,000 distinct devices.
    send(
        &e,
        port,
        (0..EVENTS).map(|i| failure("fw-b", &format!("gw-{i}"), "198.51.100.1", i)),
    );
    send(
        &e,
        port,
        (0..EVENTS).map(|i| failure(&format!("fw-{i}"), "gw-c", "198.51.100.2", i)),
    );
    let text = e.metrics();
    assert!(distinct(&text, FAILURES, "gateway") <= 1001);
    assert!(distinct(&text, "ike_events_total", "device") <= 101);
    let total: f64 = exposition::parse(&text)
        .iter()
        .filter(|((n, _), _)| n == FAILURES)
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, f64::from(3 * EVENTS), "every event counted");
    let rss = e.value("process_resident_memory_bytes", &[]);
    eprintln!(
        "resident memory: {:.1} MiB after 100k peers, {:.1} MiB after 300k events",
        rss_after_peers / 1048576.0,
        rss / 1048576.0
    );
    assert!(rss < 256.0 * 1048576.0, "resident memory {rss} bytes");

    // Hostile label values: huge, quotes, backslashes, invalid UTF-8, control bytes.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let hostile: Vec<Vec<u8>> = vec![
        failure("fw-\"quoted\"", "gw\\back\\slash", "198.51.100.3", 1).into_bytes(),
        failure(&"d".repeat(10_000), &"g".repeat(10_000), "198.51.100.4", 2).into_bytes(),
        failure("fw-ctl", "gw-\u{7}bell\ttab", "198.51.100.5", 3).into_bytes(),
        [
            &failure("fw-bin", "gw-", "198.51.100.6", 4).into_bytes()[..],
            b"\xff\xfe",
        ]
        .concat(),
        failure("fw-bin", "gw-\u{fffd}", "198.51.100.6", 5)
            .replace("gw-\u{fffd}", "gw-\u{0}x")
            .into_bytes(),
    ];
    for datagram in &hostile {
        socket.send_to(datagram, ("127.0.0.1", port)).unwrap();
    }
    e.wait_for(
        "ike_exporter_lines_total",
        &[("source", "flood")],
        f64::from(3 * EVENTS) + 5.0,
    );
    promtool_check_metrics(&e.metrics());
}
