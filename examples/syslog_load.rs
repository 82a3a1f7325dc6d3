//! Load generator for the syslog listeners: sends N PAN-OS messages (mostly
//! TRAFFIC-like lines of about 350 bytes, one `vpn` event every K) over UDP,
//! one TCP connection or one TLS connection (octet counting) at a chosen
//! rate, then reads the exporter's own metrics and reports received versus
//! sent.
//!
//! ```text
//! cargo run --release --example syslog_load -- --tcp 127.0.0.1:6514 --count 1000000 \
//!     --metrics http://127.0.0.1:9765/metrics --source syslog_tcp
//! cargo run --release --example syslog_load -- --udp 127.0.0.1:5514 --count 200000 --rate 100000 …
//! cargo run --release --example syslog_load -- --tls 127.0.0.1:6515 --ca cert.pem --count 1000 …
//! ```
//!
//! `--tls ADDR` trusts the certificates of `--ca FILE` (PEM; a self-signed
//! server certificate works when it is not marked as a CA) and checks the
//! server's name against ADDR's host (an IP address or a DNS name), or
//! against `--server-name NAME`. It sends close_notify at the end and waits
//! (at most 30 s) for the server to close, so that everything sent was read.
//! `--device NAME` sets the host and device name of the messages (default
//! `fw-load`); `--batch N` sets how many messages go between two pacing
//! pauses (default 1000; a paced TCP or TLS sender flushes before pausing).

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

struct Args {
    tcp: Option<String>,
    udp: Option<String>,
    tls: Option<String>,
    ca: Option<String>,
    server_name: Option<String>,
    device: String,
    count: u64,
    rate: u64,
    batch: u64,
    vpn_every: u64,
    metrics: Option<String>,
    source: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        tcp: None,
        udp: None,
        tls: None,
        ca: None,
        server_name: None,
        device: "fw-load".into(),
        count: 100_000,
        rate: 0,
        batch: 1000,
        vpn_every: 50,
        metrics: None,
        source: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--tcp" => args.tcp = Some(value()?),
            "--udp" => args.udp = Some(value()?),
            "--tls" => args.tls = Some(value()?),
            "--ca" => args.ca = Some(value()?),
            "--server-name" => args.server_name = Some(value()?),
            "--device" => args.device = value()?,
            "--batch" => args.batch = value()?.parse().map_err(|e| format!("--batch: {e}"))?,
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--rate" => args.rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--vpn-every" => {
                args.vpn_every = value()?.parse().map_err(|e| format!("--vpn-every: {e}"))?
            }
            "--metrics" => args.metrics = Some(value()?),
            "--source" => args.source = value()?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let transports = [&args.tcp, &args.udp, &args.tls];
    if transports.iter().filter(|t| t.is_some()).count() != 1 {
        return Err("give exactly one of --tcp ADDR, --udp ADDR or --tls ADDR".into());
    }
    if args.tls.is_some() != args.ca.is_some() {
        return Err("--tls ADDR needs --ca FILE, and --ca FILE only goes with --tls".into());
    }
    if args.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    if args.device.is_empty() || args.device.contains([' ', ',']) {
        return Err("--device: a name without spaces or commas".into());
    }
    Ok(args)
}

/// Message `i` from `device`: a TRAFFIC line, or every `vpn_every`-th a
/// Phase 1 timeout.
fn message(i: u64, vpn_every: u64, device: &str) -> String {
    let header = format!("<14>Mar 12 10:15:02 {device} ");
    if vpn_every > 0 && i.is_multiple_of(vpn_every) {
        return format!(
            "{header}1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail,gw-load,0,0,general,high,\"IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 192.0.2.10[500]-198.51.100.{}[500] cookie:{i:016x}:0000000000000000 due to timeout.\",{i},0x0,0,0,0,0,,{device}",
            i % 50
        );
    }
    format!(
        "{header}1,2024/03/12 10:15:02,013101009876,TRAFFIC,end,2304,2024/03/12 10:15:02,10.1.{}.{},203.0.113.{},0.0.0.0,0.0.0.0,allow-web,,,ssl,vsys1,trust,untrust,ethernet1/1,ethernet1/2,fwd,2024/03/12 10:15:02,{i},1,51000,443,0,0,0x400000,tcp,allow,5000,2000,3000,20,2024/03/12 10:15:00,2,any,0,{i},0x0,10.0.0.0-10.255.255.255,US,0,10,10,tcp-fin",
        i % 200,
        i % 250,
        i % 100
    )
}

/// How long to sleep, every `batch` messages, to hold `rate` messages per
/// second (0: as fast as possible); `None` when no pause is due.
fn pause(start: Instant, sent: u64, rate: u64, batch: u64) -> Option<Duration> {
    if rate == 0 || !sent.is_multiple_of(batch) {
        return None;
    }
    let due = Duration::from_secs_f64(sent as f64 / rate as f64);
    due.checked_sub(start.elapsed())
}

/// Writes the octet-counted messages to `out`, flushing before each pause.
fn send_stream(out: &mut impl Write, args: &Args, start: Instant) -> std::io::Result<()> {
    for i in 0..args.count {
        let m = message(i, args.vpn_every, &args.device);
        write!(out, "{} {m}", m.len())?;
        if let Some(wait) = pause(start, i + 1, args.rate, args.batch) {
            out.flush()?;
            std::thread::sleep(wait);
        }
    }
    out.flush()
}

fn send(args: &Args) -> std::io::Result<(u64, Duration)> {
    let start = Instant::now();
    if let Some(addr) = &args.tcp {
        let stream = TcpStream::connect(addr)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stream);
        send_stream(&mut out, args, start)?;
    } else if let Some(addr) = &args.udp {
        let socket = UdpSocket::bind("0.0.0.0:0")?;
        socket.connect(addr)?;
        for i in 0..args.count {
            socket.send(message(i, args.vpn_every, &args.device).as_bytes())?;
            if let Some(wait) = pause(start, i + 1, args.rate, args.batch) {
                std::thread::sleep(wait);
            }
        }
    } else if let Some(addr) = &args.tls {
        send_tls(addr, args, start)?;
    }
    Ok((args.count, start.elapsed()))
}

/// One TLS connection: handshake, messages, close_notify, then reads until
/// the server closes, so that nothing sent is still unread when the socket
/// is closed (closing with unread data would reset the connection).
fn send_tls(addr: &str, args: &Args, start: Instant) -> std::io::Result<()> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use std::sync::Arc;
    use tokio_rustls::rustls;

    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
    let ca = args.ca.as_deref().unwrap_or_default();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| invalid(format!("{ca}: {e}")))? {
        let cert = cert.map_err(|e| invalid(format!("{ca}: {e}")))?;
        roots.add(cert).map_err(|e| invalid(format!("{ca}: {e}")))?;
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = match &args.server_name {
        Some(name) => name.clone(),
        None => {
            let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned()
        }
    };
    let name = ServerName::try_from(host).map_err(|e| invalid(format!("server name: {e}")))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name)
        .map_err(|e| invalid(format!("TLS: {e}")))?;
    let socket = TcpStream::connect(addr)?;
    let mut tls = rustls::StreamOwned::new(conn, socket);
    // The handshake first, so that a refused certificate fails before any message.
    tls.conn.complete_io(&mut tls.sock)?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut tls);
        send_stream(&mut out, args, start)?;
    }
    tls.conn.send_close_notify();
    tls.flush()?;
    tls.sock.shutdown(std::net::Shutdown::Write)?;
    tls.sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut sink = [0u8; 4096];
    loop {
        // The server may close without close_notify: any end will do.
        match tls.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    Ok(())
}

/// `value` of the first sample of `name` whose line contains `filter`.
fn scrape(url: &str, name: &str, filter: &str) -> Option<f64> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/metrics".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    body.lines()
        .filter(|l| l.starts_with(name) && l.contains(filter))
        .map(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        })
        .reduce(|a, b| a + b)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("syslog_load: {error}");
            std::process::exit(2);
        }
    };
    let filter = format!("source=\"{}\"", args.source);
    let before = args
        .metrics
        .as_deref()
        .and_then(|u| scrape(u, "ike_exporter_lines_total", &filter))
        .unwrap_or(0.0);
    let (sent, elapsed) = match send(&args) {
        Ok(done) => done,
        Err(error) => {
            eprintln!("syslog_load: {error}");
            std::process::exit(1);
        }
    };
    println!(
        "sent {sent} messages in {:.3} s: {:.0} msg/s",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    let Some(url) = &args.metrics else { return };
    // Wait until the count stops moving (or reaches what was sent).
    let start = Instant::now();
    let (mut last, mut stable) = (-1.0, 0);
    let received = loop {
        let now = scrape(url, "ike_exporter_lines_total", &filter).unwrap_or(0.0) - before;
        if now >= sent as f64 || stable >= 10 || start.elapsed() > Duration::from_secs(120) {
            break now;
        }
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
        std::thread::sleep(Duration::from_millis(200));
    };
    let done = start.elapsed() + elapsed;
    let dropped = scrape(url, "ike_exporter_syslog_dropped_total", &filter).unwrap_or(0.0);
    println!(
        "received {received} of {sent} ({:.3} %), all processed {:.3} s after the first send: {:.0} msg/s end to end; dropped (all reasons, cumulative): {dropped}",
        100.0 * received / sent as f64,
        done.as_secs_f64(),
        received / done.as_secs_f64()
    );
}
