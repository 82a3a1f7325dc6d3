//! The syslog listeners with real senders on 127.0.0.1: util-linux `logger`
//! (UDP and TCP, RFC 3164 and 5424, octet counting and LF), rsyslog
//! forwarding a mixed TRAFFIC/vpn stream with omfwd over octet-counted TCP,
//! `openssl s_client` over TLS, and hostile clients, each counted under its
//! reason while good messages on other connections are all counted.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::exporter::{Exporter, free_port};
use crate::support::{exposition, fixture, self_signed, tool};

const FAILURES: &str = "ike_phase1_failures_total";
const DROPPED: &str = "ike_exporter_syslog_dropped_total";

/// A PSK-mismatch CSV record from `device` (one failure, peer unknown).
fn psk(device: &str) -> String {
    format!(
        "1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail-psk,gw-s,0,0,general,high,IKE phase-1 negotiation is failed likely due to pre-shared key mismatch.,1,0x0,0,0,0,0,,{device}"
    )
}

/// Starts an exporter whose config has `sources` (YAML list items).
fn exporter(dir: &Path, sources: &str) -> Exporter {
    let config = dir.join("config.yaml");
    std::fs::write(&config, format!("sources:\n{sources}")).unwrap();
    Exporter::start(&["--config", config.to_str().unwrap()], dir)
}

fn logger(args: &[&str], message: &str) {
    let Some(logger) = tool("logger") else { return };
    let status = Command::new(logger)
        .args(args)
        .args(["--tag", "panos", message])
        .status()
        .expect("logger runs");
    assert!(status.success(), "logger {args:?}");
}

#[test]
fn syslog_logger_over_udp_and_tcp_in_every_framing() {
    if tool("logger").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_port(), free_port());
    let e = exporter(
        dir.path(),
        &format!(
            "  - {{name: u, type: syslog_udp, listen_address: '127.0.0.1:{udp}'}}\n  - {{name: t, type: syslog_tcp, listen_address: '127.0.0.1:{tcp}'}}\n"
        ),
    );
    let (udp, tcp) = (udp.to_string(), tcp.to_string());
    let server = ["--server", "127.0.0.1"];
    logger(
        &[&server[..], &["--port", &udp, "--udp", "--rfc3164"]].concat(),
        &psk("fw-udp-3164"),
    );
    logger(
        &[&server[..], &["--port", &udp, "--udp", "--rfc5424"]].concat(),
        &psk("fw-udp-5424"),
    );
    logger(
        &[
            &server[..],
            &["--port", &tcp, "--tcp", "--rfc5424", "--octet-count"],
        ]
        .concat(),
        &psk("fw-tcp-octet"),
    );
    logger(
        &[&server[..], &["--port", &tcp, "--tcp", "--rfc3164"]].concat(),
        &psk("fw-tcp-lf"),
    );
    e.wait_for(FAILURES, &[], 4.0);
    for device in ["fw-udp-3164", "fw-udp-5424", "fw-tcp-octet", "fw-tcp-lf"] {
        assert_eq!(
            e.value(FAILURES, &[("device", device), ("pattern", "psk_mismatch")]),
            1.0,
            "{device}"
        );
    }
    assert_eq!(e.value(DROPPED, &[]), 0.0);
}

/// The domain series of an expectation file, without the diagnose-only block.
fn serve_expectations(expected: &str) -> String {
    expected
        .split("# --- diagnose only")
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn syslog_rsyslog_forwards_a_mixed_stream_over_octet_counted_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let e = exporter(
        dir.path(),
        &format!("  - {{name: relay, type: syslog_tcp, listen_address: '127.0.0.1:{port}'}}\n"),
    );
    rsyslog_relay(dir.path(), &e, port, "");
}

#[test]
fn syslog_rsyslog_forwards_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(dir.path()) else {
        return;
    };
    let port = free_port();
    let e = exporter(
        dir.path(),
        &format!(
            "  - name: relay\n    type: syslog_tls\n    listen_address: '127.0.0.1:{port}'\n    tls: {{cert_file: '{}', key_file: '{}'}}\n",
            cert.display(),
            key.display()
        ),
    );
    rsyslog_relay(
        dir.path(),
        &e,
        port,
        r#"StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="anon""#,
    );
    assert_eq!(e.value(DROPPED, &[]), 0.0);
}

/// rsyslog tails a copy of mixed-traffic.log with imfile and forwards it
/// with omfwd (octet-counted TCP, plus `driver` options); the exporter must
/// show exactly the corpus' counters.
fn rsyslog_relay(dir: &Path, e: &Exporter, port: u16, driver: &str) {
    let Some(rsyslogd) = tool("rsyslogd") else {
        return;
    };
    let input = dir.join("in.log");
    std::fs::copy(fixture("corpus/mixed-traffic.log"), &input).unwrap();
    let work = dir.join("rsyslog");
    std::fs::create_dir_all(&work).unwrap();
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{work}\")\nmodule(load=\"imfile\")\ninput(type=\"imfile\" File=\"{input}\" Tag=\"panos\")\naction(type=\"omfwd\" target=\"127.0.0.1\" port=\"{port}\" protocol=\"tcp\" TCP_Framing=\"octet-counted\" template=\"RSYSLOG_SyslogProtocol23Format\" {driver})\n",
            work = work.display(),
            input = input.display()
        ),
    )
    .unwrap();
    let mut relay = Command::new(rsyslogd)
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslog.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rsyslogd starts");
    e.wait_for("ike_exporter_lines_total", &[("source", "relay")], 194.0);
    let _ = relay.kill();
    let _ = relay.wait();
    let expected = exposition::parse(&serve_expectations(
        &std::fs::read_to_string(fixture("corpus/mixed-traffic.expected")).unwrap(),
    ));
    let actual: Vec<_> = exposition::parse(&e.metrics())
        .into_iter()
        .filter(|(s, _)| exposition::is_domain(s) && !s.0.ends_with("_timestamp_seconds"))
        .collect();
    let actual: std::collections::BTreeMap<_, _> = actual.into_iter().collect();
    assert_eq!(actual, expected, "IKE counters from the relayed stream");
}

#[test]
fn syslog_tls_with_openssl_s_client() {
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(dir.path()) else {
        return;
    };
    let Some(openssl) = tool("openssl") else {
        return;
    };
    let port = free_port();
    let e = exporter(
        dir.path(),
        &format!(
            "  - name: tls\n    type: syslog_tls\n    listen_address: '127.0.0.1:{port}'\n    tls: {{cert_file: '{}', key_file: '{}'}}\n",
            cert.display(),
            key.display()
        ),
    );
    let mut client = Command::new(&openssl)
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stream = std::fs::read(fixture("corpus/tcp-octet-counted.stream")).unwrap();
    client.stdin.as_mut().unwrap().write_all(&stream).unwrap();
    e.wait_for("ike_exporter_lines_total", &[("source", "tls")], 3.0);
    drop(client.stdin.take());
    let _ = client.kill();
    let _ = client.wait();
    e.wait_for(
        FAILURES,
        &[("pattern", "timeout"), ("device", "fw-hq")],
        1.0,
    );
    e.wait_for("ike_phase2_successes_total", &[], 1.0);

    // A client that speaks plain TCP to the TLS port is counted and closed.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain.write_all(&stream).unwrap();
    e.wait_for(DROPPED, &[("reason", "tls_handshake")], 1.0);
}

#[test]
fn syslog_hostile_clients_are_counted_and_good_ones_still_served() {
    let dir = tempfile::tempdir().unwrap();
    let (tcp, udp, denied) = (free_port(), free_port(), free_port());
    let e = exporter(
        dir.path(),
        &format!(
            "  - {{name: t, type: syslog_tcp, listen_address: '127.0.0.1:{tcp}', max_connections: 3, idle_timeout_secs: 1, max_message_bytes: 1024}}\n  - {{name: u, type: syslog_udp, listen_address: '127.0.0.1:{udp}', max_message_bytes: 1024}}\n  - {{name: d, type: syslog_tcp, listen_address: '127.0.0.1:{denied}', allowed_senders: [192.0.2.0/24]}}\n"
        ),
    );
    let connect = || TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    let good = |n: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|i| {
                let m = format!(
                    "<11>1 2024-03-12T10:15:02Z fw - - - - {}",
                    psk(&format!("fw-good-{i}"))
                );
                format!("{} {m}", m.len()).into_bytes()
            })
            .collect()
    };

    // A length prefix of 99999999999 and random bytes: framing errors, connection closed.
    connect().write_all(b"99999999999 <14>x").unwrap();
    e.wait_for(DROPPED, &[("source", "t"), ("reason", "framing")], 1.0);
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1)
        .collect();
    connect()
        .write_all(&[b"7 ".as_slice(), &noise].concat())
        .unwrap();
    e.wait_for(DROPPED, &[("source", "t"), ("reason", "framing")], 2.0);
    // A frame over max_message_bytes.
    connect().write_all(b"5000 <14>").unwrap();
    e.wait_for(DROPPED, &[("source", "t"), ("reason", "too_large")], 1.0);
    // A frame cut in the middle, then the connection closed.
    {
        let mut cut = connect();
        cut.write_all(b"100 <14>1 2024-03-12T10:15:02Z fw - - - - 1,2024")
            .unwrap();
    }
    e.wait_for(DROPPED, &[("source", "t"), ("reason", "framing")], 3.0);
    // A silent client is closed by the idle timeout.
    let silent = connect();
    e.wait_for("ike_exporter_syslog_connections", &[("source", "t")], 1.0);
    e.wait_for("ike_exporter_syslog_connections", &[("source", "t")], 0.0);
    drop(silent);
    // More connections than the limit: the fourth is refused and counted.
    let held: Vec<TcpStream> = (0..3).map(|_| connect()).collect();
    e.wait_for("ike_exporter_syslog_connections", &[("source", "t")], 3.0);
    let _extra = connect();
    e.wait_for(
        DROPPED,
        &[("source", "t"), ("reason", "connection_limit")],
        1.0,
    );
    drop(held);
    e.wait_for("ike_exporter_syslog_connections", &[("source", "t")], 0.0);
    // A sender outside allowed_senders.
    let _ = TcpStream::connect(("127.0.0.1", denied)).and_then(|mut s| s.write_all(&good(1)));
    e.wait_for(
        DROPPED,
        &[("source", "d"), ("reason", "denied_source")],
        1.0,
    );
    // An over-long datagram.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(&vec![b'x'; 2000], ("127.0.0.1", udp))
        .unwrap();
    e.wait_for(DROPPED, &[("source", "u"), ("reason", "too_large")], 1.0);

    // Good messages, on two connections at once, are all counted.
    let mut a = connect();
    let mut b = connect();
    a.write_all(&good(50)).unwrap();
    b.write_all(&good(50)).unwrap();
    socket
        .send_to(psk("fw-udp").as_bytes(), ("127.0.0.1", udp))
        .unwrap();
    e.wait_for(FAILURES, &[], 101.0);
    assert_eq!(e.get("/-/healthy").map(|(s, _)| s), Some(200));
}

#[test]
fn syslog_port_in_use_is_a_clear_startup_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let web = format!("127.0.0.1:{}", free_port());
    let out = crate::support::run(
        &["--syslog.tcp", &address, "--web.listen-address", &web],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen on {address}")),
        "{err}"
    );
}

#[test]
fn syslog_network_streams_are_never_gui_exports_and_long_lf_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (tcp, udp) = (free_port(), free_port());
    let e = exporter(
        dir.path(),
        &format!(
            "  - {{name: t, type: syslog_tcp, listen_address: '127.0.0.1:{tcp}', max_message_bytes: 1024}}\n  - {{name: u, type: syslog_udp, listen_address: '127.0.0.1:{udp}'}}\n"
        ),
    );
    // A first datagram shaped like a GUI export header must not switch the listener.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .send_to(
            b"Receive Time,Type,Event ID,Object,Description",
            ("127.0.0.1", udp),
        )
        .unwrap();
    e.wait_for("ike_exporter_lines_total", &[("source", "u")], 1.0);
    socket
        .send_to(psk("fw-after-header").as_bytes(), ("127.0.0.1", udp))
        .unwrap();
    e.wait_for(FAILURES, &[("device", "fw-after-header")], 1.0);
    // LF framing: an over-long line is skipped, the connection goes on.
    let mut conn = TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    let long = format!("<14>{}\n", "x".repeat(5000));
    let lines = format!("{long}{}\n{}\n", psk("fw-lf-1"), psk("fw-lf-2"));
    conn.write_all(lines.as_bytes()).unwrap();
    e.wait_for(FAILURES, &[("device", "fw-lf-2")], 1.0);
    assert_eq!(e.value(FAILURES, &[("device", "fw-lf-1")]), 1.0);
    assert_eq!(
        e.value(DROPPED, &[("source", "t"), ("reason", "too_large")]),
        1.0
    );
}

/// A TCP connection to `port` from `source` (any 127.0.0.0/8 address works on loopback).
fn connect_from(source: &str, port: u16) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    socket.bind(&from.into()).unwrap();
    let to: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    socket.connect(&to.into()).unwrap();
    socket.into()
}

#[test]
fn syslog_one_sender_cannot_take_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let tcp = free_port();
    let e = exporter(
        dir.path(),
        &format!(
            "  - {{name: t, type: syslog_tcp, listen_address: '127.0.0.1:{tcp}', max_connections: 10, max_connections_per_sender: 2}}\n"
        ),
    );
    let held: Vec<TcpStream> = (0..2).map(|_| connect_from("127.0.0.1", tcp)).collect();
    e.wait_for("ike_exporter_syslog_connections", &[("source", "t")], 2.0);
    let _refused = connect_from("127.0.0.1", tcp);
    e.wait_for(
        DROPPED,
        &[("source", "t"), ("reason", "connection_limit")],
        1.0,
    );
    e.wait_until("a warning naming the sender", |e| {
        e.log().contains("reason=\"connection_limit\"") && e.log().contains("sender=127.0.0.1")
    });
    // Another address still gets in while the first holds its two.
    let mut other = connect_from("127.0.0.2", tcp);
    other
        .write_all(format!("{}\n", psk("fw-other")).as_bytes())
        .unwrap();
    e.wait_for(FAILURES, &[("device", "fw-other")], 1.0);
    // Slots come back when connections close.
    drop(held);
    drop(other);
    e.wait_for("ike_exporter_syslog_connections", &[("source", "t")], 0.0);
    let mut again = connect_from("127.0.0.1", tcp);
    again
        .write_all(format!("{}\n", psk("fw-again")).as_bytes())
        .unwrap();
    e.wait_for(FAILURES, &[("device", "fw-again")], 1.0);
}

#[test]
fn syslog_kernel_udp_drops_count_as_queue_full() {
    let dir = tempfile::tempdir().unwrap();
    let udp = free_port();
    let e = exporter(
        dir.path(),
        &format!(
            "  - {{name: u, type: syslog_udp, listen_address: '127.0.0.1:{udp}', receive_buffer_bytes: 4096}}\n"
        ),
    );
    // Stopped, the exporter reads nothing: the small socket buffer fills and
    // the kernel drops the rest.
    let sent = 400;
    e.signal("STOP");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..sent {
        socket
            .send_to(psk(&format!("fw-{i}")).as_bytes(), ("127.0.0.1", udp))
            .unwrap();
    }
    e.signal("CONT");
    let lines = |e: &Exporter| e.value("ike_exporter_lines_total", &[("source", "u")]);
    let dropped = |e: &Exporter| e.value(DROPPED, &[("source", "u"), ("reason", "queue_full")]);
    e.wait_until("every datagram read or counted as dropped", |e| {
        lines(e) + dropped(e) == f64::from(sent)
    });
    assert!(dropped(&e) > 0.0, "the kernel dropped nothing");
    assert!(lines(&e) > 0.0, "nothing was received");
    assert_eq!(e.value(FAILURES, &[]), lines(&e));
}

#[test]
fn syslog_frame_cut_by_a_reset_counts_as_framing() {
    let dir = tempfile::tempdir().unwrap();
    let tcp = free_port();
    let e = exporter(
        dir.path(),
        &format!("  - {{name: t, type: syslog_tcp, listen_address: '127.0.0.1:{tcp}'}}\n"),
    );
    let mut cut = connect_from("127.0.0.1", tcp);
    cut.write_all(b"100 <14>1 2024-03-12T10:15:02Z fw - - - - 1,2024")
        .unwrap();
    e.wait_for("ike_exporter_bytes_total", &[("source", "t")], 48.0);
    // SO_LINGER 0: close sends RST instead of FIN.
    socket2::SockRef::from(&cut)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    drop(cut);
    e.wait_for(DROPPED, &[("source", "t"), ("reason", "framing")], 1.0);
}
