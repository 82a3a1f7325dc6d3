//! Load generator for the syslog listeners: sends N PAN-OS messages (mostly
//! TRAFFIC-like lines of about 350 bytes, one `vpn` event every K) over UDP
//! or one TCP connection (octet counting) at a chosen rate, then reads the
//! exporter's own metrics and reports received versus sent.
//!
//! ```text
//! cargo run --release --example syslog_load -- --tcp 127.0.0.1:6514 --count 1000000 \
//!     --metrics http://127.0.0.1:9765/metrics --source syslog_tcp
//! cargo run --release --example syslog_load -- --udp 127.0.0.1:5514 --count 200000 --rate 100000 …
//! ```

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

struct Args {
    tcp: Option<String>,
    udp: Option<String>,
    count: u64,
    rate: u64,
    vpn_every: u64,
    metrics: Option<String>,
    source: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        tcp: None,
        udp: None,
        count: 100_000,
        rate: 0,
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
    if args.tcp.is_some() == args.udp.is_some() {
        return Err("give exactly one of --tcp ADDR or --udp ADDR".into());
    }
    Ok(args)
}

/// Message `i`: a TRAFFIC line, or every `vpn_every`-th a Phase 1 timeout.
fn message(i: u64, vpn_every: u64) -> String {
    let header = "<14>Mar 12 10:15:02 fw-load ";
    if vpn_every > 0 && i.is_multiple_of(vpn_every) {
        return format!(
            "{header}1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail,gw-load,0,0,general,high,\"IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 192.0.2.10[500]-198.51.100.{}[500] cookie:{i:016x}:0000000000000000 due to timeout.\",{i},0x0,0,0,0,0,,fw-load",
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

/// Sleeps as needed to hold `rate` messages per second (0: as fast as possible).
fn pace(start: Instant, sent: u64, rate: u64) {
    if rate == 0 || !sent.is_multiple_of(1000) {
        return;
    }
    let due = Duration::from_secs_f64(sent as f64 / rate as f64);
    if let Some(wait) = due.checked_sub(start.elapsed()) {
        std::thread::sleep(wait);
    }
}

fn send(args: &Args) -> std::io::Result<(u64, Duration)> {
    let start = Instant::now();
    if let Some(addr) = &args.tcp {
        let stream = TcpStream::connect(addr)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stream);
        for i in 0..args.count {
            let m = message(i, args.vpn_every);
            write!(out, "{} {m}", m.len())?;
            pace(start, i + 1, args.rate);
        }
        out.flush()?;
    } else if let Some(addr) = &args.udp {
        let socket = UdpSocket::bind("0.0.0.0:0")?;
        socket.connect(addr)?;
        for i in 0..args.count {
            socket.send(message(i, args.vpn_every).as_bytes())?;
            pace(start, i + 1, args.rate);
        }
    }
    Ok((args.count, start.elapsed()))
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
