//! Deterministic workload for the benchmarks (`bench/compare.sh`, `bench/live.sh`,
//! docs/performance.md): N PAN-OS log lines, mostly TRAFFIC lines of about
//! 380 bytes, with `vpn` SYSTEM events spread among them, cycling through the
//! Phase 1 and Phase 2 failure patterns (and the starts and successes around
//! them) for a set of peers on two firewalls:
//!
//! - `fw-hq` (PAN-OS 9.x): 23-field SYSTEM lines, descriptions always quoted;
//! - `fw-dc` (PAN-OS 10.x): 26-field SYSTEM lines, descriptions quoted only
//!   when they hold a comma, with the high-resolution timestamp.
//!
//! Peer `p` (`198.51.100.x`, or further /24s past 250 peers) belongs to
//! `fw-hq` when `p` is even, else `fw-dc`, through gateway `gw-site-p` and
//! tunnel `tun-site-p`. Every failure names its peer in the text, or comes
//! right after a start line (of the same scenario) that does.
//!
//! ```text
//! cargo run --release --example workload -- [--lines N] [--vpn-percent P] [--peers K]
//!     [--envelope none|bsd|ietf] [--seed S] [--expect FILE] [--rate LINES_PER_S] > out.log
//! ```
//!
//! The same options and seed always give the same bytes. `--expect FILE`
//! writes what the exporter must count for exactly these lines, one
//! `name{pattern="x"} value` or `name value` per line (sorted, zero values
//! omitted): the failure counters summed by pattern, the success counters,
//! `ike_events_total`, `ike_exporter_lines_total` and
//! `ike_exporter_bytes_total`, each summed over every other label.
//! `--rate` paces the output (default 0: as fast as the pipe takes it).
//! `--scenarios all|failures` chooses the mix (`failures`: no starts, successes
//! or informational events; every vpn line is a failure naming its peer).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Envelope {
    None,
    Bsd,
    Ietf,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mix {
    All,
    Failures,
}

struct Args {
    lines: u64,
    vpn_percent: f64,
    peers: u32,
    envelope: Envelope,
    seed: u64,
    expect: Option<String>,
    rate: u64,
    mix: Mix,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        lines: 500_000,
        vpn_percent: 2.0,
        peers: 50,
        envelope: Envelope::None,
        seed: 1,
        expect: None,
        rate: 0,
        mix: Mix::All,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--lines" => args.lines = num(value()?)?,
            "--vpn-percent" => {
                args.vpn_percent = value()?
                    .parse()
                    .map_err(|e| format!("--vpn-percent: {e}"))?
            }
            "--peers" => {
                args.peers = u32::try_from(num(value()?)?).map_err(|e| format!("--peers: {e}"))?
            }
            "--envelope" => {
                args.envelope = match value()?.as_str() {
                    "none" => Envelope::None,
                    "bsd" => Envelope::Bsd,
                    "ietf" => Envelope::Ietf,
                    other => return Err(format!("--envelope: none, bsd or ietf, not {other}")),
                }
            }
            "--seed" => args.seed = num(value()?)?,
            "--expect" => args.expect = Some(value()?),
            "--rate" => args.rate = num(value()?)?,
            "--scenarios" => {
                args.mix = match value()?.as_str() {
                    "all" => Mix::All,
                    "failures" => Mix::Failures,
                    other => return Err(format!("--scenarios: all or failures, not {other}")),
                }
            }
            "-h" | "--help" => {
                return Err("usage: workload [--lines N] [--vpn-percent P] [--peers K] \
                     [--envelope none|bsd|ietf] [--seed S] [--expect FILE] [--rate N] \
                     [--scenarios all|failures]"
                    .into());
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !(0.0..=100.0).contains(&args.vpn_percent) {
        return Err("--vpn-percent must be between 0 and 100".into());
    }
    if args.peers == 0 || args.peers > 30_000 {
        return Err("--peers must be between 1 and 30000".into());
    }
    Ok(args)
}

/// xorshift64*: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that seeds 0, 1, 2… give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0), bias negligible for the small n used here.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next() >> 11) * u128::from(n)) >> 53) as u64
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    One,
    Two,
}

/// What the exporter must do with a line.
#[derive(Clone, Copy)]
enum Expect {
    Info,
    Success(Phase),
    Failure(Phase, &'static str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Object {
    Gateway,
    Tunnel,
    None,
}

/// One vpn line of a scenario: event ID, object, description template and
/// expected outcome. `{L}` is the firewall's address, `{P}` the peer's,
/// `{C}` a cookie or SPI, `{M}` a message ID, `{S}` a subnet octet.
struct Step {
    id: &'static str,
    object: Object,
    text: &'static str,
    expect: Expect,
}

const fn step(id: &'static str, object: Object, text: &'static str, expect: Expect) -> Step {
    Step {
        id,
        object,
        text,
        expect,
    }
}

use Expect::{Failure, Info, Success};
use Object::{Gateway, Tunnel};
use Phase::{One, Two};

const P1_START: Step = step(
    "ike-nego-p1-start",
    Gateway,
    "IKE phase-1 negotiation is started as initiator, main mode. Initiated SA: {L}[500]-{P}[500] cookie:{C}:0000000000000000.",
    Info,
);
const P1_START_RESPONDER: Step = step(
    "ike-nego-p1-start",
    Gateway,
    "IKE phase-1 negotiation is started as responder, main mode. Initiated SA: {L}[500]-{P}[500] cookie:{C}:41c7e9b20d5f8a16.",
    Info,
);
const P2_START: Step = step(
    "ike-nego-p2-start",
    Tunnel,
    "IKE phase-2 negotiation is started as initiator, quick mode. Initiated SA: {L}[500]-{P}[500] message id:{M}.",
    Info,
);
const V2_IKE_START: Step = step(
    "ikev2-nego-ike-start",
    Gateway,
    "IKEv2 IKE SA negotiation is started as initiator, non-rekey. Initiated SA: {L}[500]-{P}[500] SPI:{C}:0000000000000000.",
    Info,
);
const V2_CHILD_START: Step = step(
    "ikev2-nego-child-start",
    Tunnel,
    "IKEv2 child SA negotiation is started as initiator, non-rekey. Initiated SA: {L}[500]-{P}[500] message id:{M}.",
    Info,
);

const P1_TIMEOUT: Step = step(
    "ike-nego-p1-fail",
    Gateway,
    "IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: {L}[500]-{P}[500] cookie:{C}:0000000000000000 due to timeout.",
    Failure(One, "timeout"),
);
const P1_NOT_CONFIGURED: Step = step(
    "ike-nego-p1-fail-common",
    Object::None,
    "IKE phase-1 negotiation is failed. Couldn't find configuration for IKE phase-1 request for peer IP {P}[500].",
    Failure(One, "peer_not_configured"),
);
const P1_PROPOSAL: Step = step(
    "ike-nego-p1-fail-common",
    Gateway,
    "IKE phase-1 negotiation is failed. no suitable proposal found in peer's SA payload.",
    Failure(One, "proposal_mismatch"),
);
const P1_PSK: Step = step(
    "ike-nego-p1-fail-psk",
    Gateway,
    "IKE phase-1 negotiation is failed likely due to pre-shared key mismatch.",
    Failure(One, "psk_mismatch"),
);
const V2_IKE_TIMEOUT: Step = step(
    "ikev2-nego-ike-fail",
    Gateway,
    "IKEv2 IKE SA negotiation is failed as initiator, non-rekey. Failed SA: {L}[500]-{P}[500] SPI:{C}:0000000000000000. Due to negotiation timeout.",
    Failure(One, "timeout"),
);
const P1_SUCC: Step = step(
    "ike-nego-p1-succ",
    Gateway,
    "IKE phase-1 negotiation is succeeded as initiator, main mode. Established SA: {L}[500]-{P}[500] cookie:{C}:5d20b6e14f9a7c33 lifetime 28800 Sec.",
    Success(One),
);
const V2_IKE_SUCC: Step = step(
    "ikev2-nego-ike-succ",
    Gateway,
    "IKEv2 IKE SA negotiation is succeeded as initiator, non-rekey. Established SA: {L}[500]-{P}[500] SPI:{C}:91c2d8e07a4b3f65 lifetime 28800 Sec.",
    Success(One),
);

const P2_PROXY_ID: Step = step(
    "ike-nego-p2-proxy-id-bad",
    Tunnel,
    "IKE phase-2 negotiation failed when processing Proxy ID. Received local id 172.16.{S}.0/24 type IPv4 address protocol 0 port 0, received remote id 10.{S}.0.0/16 type IPv4 address protocol 0 port 0.",
    Failure(Two, "proxy_id_mismatch"),
);
const P2_PFS: Step = step(
    "ike-nego-p2-fail",
    Tunnel,
    "pfs group mismatched:my: 2peer: 0",
    Failure(Two, "pfs_mismatch"),
);
const P2_NO_P1: Step = step(
    "ike-nego-p2-no-p1",
    Tunnel,
    "IKE phase-2 negotiation request received but no phase-1 SA is found.",
    Failure(Two, "no_phase1_sa"),
);
const P2_TIMEOUT: Step = step(
    "ike-nego-p2-fail",
    Tunnel,
    "IKE phase-2 negotiation is failed as initiator, quick mode. Failed SA: {L}[500]-{P}[500] message id:{M} due to timeout.",
    Failure(Two, "timeout"),
);
const P2_PROPOSAL: Step = step(
    "ike-nego-p2-proposal-bad",
    Tunnel,
    "IKE phase-2 negotiation failed when processing SA payload. no suitable proposal found in peer's SA payload.",
    Failure(Two, "proposal_mismatch"),
);
const V2_TS_BAD: Step = step(
    "ikev2-nego-child-ts-bad",
    Tunnel,
    "IKEv2 child SA negotiation failed when processing traffic selector.",
    Failure(Two, "proxy_id_mismatch"),
);
const P2_SUCC: Step = step(
    "ike-nego-p2-succ",
    Tunnel,
    "IKE phase-2 negotiation is succeeded as initiator, quick mode. Established SA: {L}[500]-{P}[500] message id:{M}, SPI:0xC6A1D2E3/0x9B0E7F41.",
    Success(Two),
);
const V2_CHILD_SUCC: Step = step(
    "ikev2-nego-child-succ",
    Tunnel,
    "IKEv2 child SA negotiation is succeeded as initiator, non-rekey. Established SA: {L}[500]-{P}[500] SPI:0x8F2A61C4/0xD3079B5E lifetime 3600 Sec lifesize unlimited.",
    Success(Two),
);
const KEY_INSTALL: Step = step(
    "ipsec-key-install",
    Tunnel,
    "IPSec key installed. Installed SA: {L}[500]-{P}[500] SPI:0xC6A1D2E3/0x9B0E7F41 lifetime 3600 Sec lifesize unlimited.",
    Info,
);

/// Scenarios, each for one peer, taken in turn.
const ALL: &[&[Step]] = &[
    &[P1_START, P1_TIMEOUT],
    &[P1_NOT_CONFIGURED],
    &[P1_START, P1_PROPOSAL],
    &[P1_START_RESPONDER, P1_PSK],
    &[P1_START, P1_SUCC],
    &[V2_IKE_START, V2_IKE_TIMEOUT],
    &[P2_START, P2_PROXY_ID],
    &[P2_START, P2_PFS],
    &[P2_START, P2_NO_P1],
    &[P2_START, P2_TIMEOUT],
    &[P2_START, P2_PROPOSAL],
    &[P2_START, P2_SUCC, KEY_INSTALL],
    &[V2_CHILD_START, V2_TS_BAD],
    &[V2_IKE_START, V2_IKE_SUCC],
    &[V2_CHILD_START, V2_CHILD_SUCC],
];

/// `--scenarios failures`: failures that name their peer, nothing else.
const FAILURES: &[&[Step]] = &[
    &[P1_TIMEOUT],
    &[P1_NOT_CONFIGURED],
    &[V2_IKE_TIMEOUT],
    &[P2_TIMEOUT],
];

struct Device {
    name: &'static str,
    serial: &'static str,
    local: &'static str,
    /// 26-field layout (PAN-OS 10.x): quotes only when needed, high-res time.
    modern: bool,
    seqno: u64,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Calendar time of a Unix timestamp (UTC).
#[derive(Clone, Copy)]
struct Civil {
    y: i64,
    mo: u32,
    d: u32,
    h: u64,
    mi: u64,
    s: u64,
}

fn civil(secs: u64) -> Civil {
    // Howard Hinnant's days-to-civil.
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(mo <= 2);
    Civil {
        y,
        mo,
        d,
        h: rem / 3600,
        mi: rem / 60 % 60,
        s: rem % 60,
    }
}

/// The time columns of one line, formatted once per second.
struct Clock {
    secs: u64,
    panos: String,
    bsd: String,
    ietf: String,
    hires_prefix: String,
}

impl Clock {
    fn new() -> Self {
        let mut c = Self {
            secs: u64::MAX,
            panos: String::new(),
            bsd: String::new(),
            ietf: String::new(),
            hires_prefix: String::new(),
        };
        c.set(0);
        c
    }
    fn set(&mut self, secs: u64) {
        if secs == self.secs {
            return;
        }
        self.secs = secs;
        // 2024-03-12 00:00:00 UTC.
        let t = civil(1_710_201_600 + secs);
        self.panos = format!(
            "{}/{:02}/{:02} {:02}:{:02}:{:02}",
            t.y, t.mo, t.d, t.h, t.mi, t.s
        );
        self.bsd = format!(
            "{} {:>2} {:02}:{:02}:{:02}",
            MONTHS[t.mo as usize - 1],
            t.d,
            t.h,
            t.mi,
            t.s
        );
        self.ietf = format!(
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
            t.y, t.mo, t.d, t.h, t.mi, t.s
        );
        self.hires_prefix = format!(
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.y, t.mo, t.d, t.h, t.mi, t.s
        );
    }
}

/// (application, destination port, protocol, category)
const APPS: [(&str, u16, &str, &str); 10] = [
    ("ssl", 443, "tcp", "computer-and-internet-info"),
    ("web-browsing", 80, "tcp", "news"),
    ("dns", 53, "udp", "any"),
    (
        "ms-office365-base",
        443,
        "tcp",
        "computer-and-internet-info",
    ),
    ("google-base", 443, "tcp", "search-engines"),
    ("ntp", 123, "udp", "any"),
    ("ping", 0, "icmp", "any"),
    ("incomplete", 443, "tcp", "any"),
    ("ike", 500, "udp", "any"),
    ("ssh", 22, "tcp", "any"),
];
const REASONS: [&str; 5] = [
    "tcp-fin",
    "aged-out",
    "tcp-rst-from-client",
    "tcp-rst-from-server",
    "policy-deny",
];
const COUNTRIES: [&str; 4] = ["United States", "Germany", "Japan", "Netherlands"];

/// A TRAFFIC line of about 380 bytes: PAN-OS field order, from the first
/// field to the session end reason (47 fields).
fn traffic(out: &mut String, rng: &mut Rng, dev: &mut Device, clock: &Clock) {
    let r = rng.next();
    let (app, dport, proto, category) = APPS[(r % 10) as usize];
    let subtype = match (r >> 8) % 20 {
        0 => "start",
        1 => "deny",
        2 => "drop",
        _ => "end",
    };
    let (rule, action) = match subtype {
        "deny" | "drop" => ("deny-all", subtype),
        _ => ("allow-web", "allow"),
    };
    let reason = if action == "allow" {
        REASONS[((r >> 16) % 4) as usize]
    } else {
        REASONS[4]
    };
    let src = format!("10.1.{}.{}", (r >> 20) % 64, (r >> 28) % 250 + 2);
    let dst = format!("203.0.113.{}", (r >> 36) % 254 + 1);
    let sport = 1024 + (r >> 44) % 64_000;
    let sent = 100 + rng.below(20_000);
    let rcvd = rng.below(200_000);
    let pkts_s = 1 + sent / 900;
    let pkts_r = rcvd / 1200;
    dev.seqno += 1;
    let natp = 1024 + (r >> 50) % 60_000;
    let _ = write!(
        out,
        "1,{t},{serial},TRAFFIC,{subtype},2304,{t},{src},{dst},{nat},0.0.0.0,{rule},,,{app},vsys1,trust,untrust,ethernet1/2,ethernet1/1,default,{t},{sess},1,{sport},{dport},{natp},{dport},0x400053,{proto},{action},{bytes},{sent},{rcvd},{pkts},{t},{elapsed},{category},0,{seq},0x0,10.0.0.0-10.255.255.255,{country},0,{pkts_s},{pkts_r},{reason}",
        t = clock.panos,
        serial = dev.serial,
        nat = dev.local,
        sess = (r >> 12) % 1_000_000,
        bytes = sent + rcvd,
        pkts = pkts_s + pkts_r,
        elapsed = (r >> 40) % 600,
        seq = dev.seqno,
        country = COUNTRIES[((r >> 56) % 4) as usize],
    );
}

fn peer_addr(p: u32) -> String {
    format!("198.51.{}.{}", 100 + p / 250, p % 250 + 1)
}

/// A SYSTEM vpn line for `step` and peer `p`.
#[allow(clippy::too_many_arguments)]
fn vpn(out: &mut String, step: &Step, p: u32, dev: &mut Device, clock: &Clock, ms: u64, n: u64) {
    let peer = peer_addr(p);
    let mut text = step
        .text
        .replace("{L}", dev.local)
        .replace("{P}", &peer)
        .replace(
            "{C}",
            &format!("{:016x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        )
        .replace("{M}", &format!("0x{:08x}", n as u32 ^ 0x3c1f_08a2))
        .replace("{S}", &(p % 250).to_string());
    if !dev.modern || text.contains(',') || text.contains('"') {
        text = format!("\"{}\"", text.replace('"', "\"\""));
    }
    let object = match step.object {
        Object::Gateway => format!("gw-site-{p}"),
        Object::Tunnel => format!("tun-site-{p}"),
        Object::None => String::new(),
    };
    let severity = match step.expect {
        Expect::Failure(..) => "high",
        _ => "informational",
    };
    dev.seqno += 1;
    let _ = write!(
        out,
        "1,{t},{serial},SYSTEM,vpn,{cfg},{t},,{id},{object},0,0,general,{severity},{text},{seq},0x0,0,0,0,0,,{name}",
        t = clock.panos,
        serial = dev.serial,
        cfg = if dev.modern { 2560 } else { 0 },
        id = step.id,
        seq = dev.seqno,
        name = dev.name,
    );
    if dev.modern {
        let _ = write!(out, ",0,0,{}.{ms:03}+00:00", clock.hires_prefix);
    }
}

#[derive(Default)]
struct Totals {
    lines: u64,
    bytes: u64,
    events: u64,
    failures: BTreeMap<(Phase, &'static str), u64>,
    successes: [u64; 2],
}

fn write_expect(path: &str, totals: &Totals) -> io::Result<()> {
    let mut rows = vec![
        format!("ike_events_total {}", totals.events),
        format!("ike_exporter_bytes_total {}", totals.bytes),
        format!("ike_exporter_lines_total {}", totals.lines),
    ];
    for ((phase, pattern), n) in &totals.failures {
        let phase = if *phase == Phase::One { 1 } else { 2 };
        rows.push(format!(
            "ike_phase{phase}_failures_total{{pattern=\"{pattern}\"}} {n}"
        ));
    }
    for (i, n) in totals.successes.iter().enumerate() {
        if *n > 0 {
            rows.push(format!("ike_phase{}_successes_total {n}", i + 1));
        }
    }
    rows.sort();
    let mut text = rows.join("\n");
    text.push('\n');
    std::fs::write(path, text)
}

fn run(args: &Args) -> io::Result<Totals> {
    let mut rng = Rng::new(args.seed);
    let mut devices = [
        Device {
            name: "fw-hq",
            serial: "013101009876",
            local: "192.0.2.10",
            modern: false,
            seqno: 1_804_300,
        },
        Device {
            name: "fw-dc",
            serial: "016201001234",
            local: "192.0.2.20",
            modern: true,
            seqno: 7_084_526_173_900_210_000,
        },
    ];
    let scenarios = match args.mix {
        Mix::All => ALL,
        Mix::Failures => FAILURES,
    };
    let vpn_total = (args.lines as f64 * args.vpn_percent / 100.0).round() as u64;
    let mut vpn_left = vpn_total.min(args.lines);
    let mut clock = Clock::new();
    let mut totals = Totals::default();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = String::with_capacity(1024);
    let mut payload = String::with_capacity(1024);
    // Pending steps of the current scenario, and its peer.
    let (mut scenario, mut pos, mut peer) = (0usize, usize::MAX, 0u32);
    let start = Instant::now();
    for i in 0..args.lines {
        // 20 lines per second of log time.
        clock.set(i / 20);
        let ms = (i % 20) * 50;
        payload.clear();
        // Selection sampling: exactly vpn_total vpn lines, spread at random.
        let is_vpn = vpn_left > 0 && rng.below(args.lines - i) < vpn_left;
        let (host, failure) = if is_vpn {
            vpn_left -= 1;
            if pos >= scenarios[scenario].len() {
                scenario = (scenario + 1) % scenarios.len();
                pos = 0;
                peer = rng.below(u64::from(args.peers)) as u32;
            }
            let st = &scenarios[scenario][pos];
            pos += 1;
            let dev = &mut devices[(peer % 2) as usize];
            vpn(&mut payload, st, peer, dev, &clock, ms, i);
            totals.events += 1;
            match st.expect {
                Expect::Info => {}
                Expect::Success(ph) => totals.successes[ph as usize] += 1,
                Expect::Failure(ph, pattern) => {
                    *totals.failures.entry((ph, pattern)).or_default() += 1
                }
            }
            (dev.name, matches!(st.expect, Expect::Failure(..)))
        } else {
            let dev = &mut devices[(rng.next() & 1) as usize];
            traffic(&mut payload, &mut rng, dev, &clock);
            (dev.name, false)
        };
        line.clear();
        let pri = if failure { 11 } else { 14 };
        match args.envelope {
            Envelope::None => {}
            Envelope::Bsd => {
                let _ = write!(line, "<{pri}>{} {host} ", clock.bsd);
            }
            Envelope::Ietf => {
                let _ = write!(line, "<{pri}>1 {} {host} - - - - ", clock.ietf);
            }
        }
        line.push_str(&payload);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        totals.lines += 1;
        totals.bytes += line.len() as u64;
        if args.rate > 0 && totals.lines.is_multiple_of(1000) {
            out.flush()?;
            let due = Duration::from_secs_f64(totals.lines as f64 / args.rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    out.flush()?;
    Ok(totals)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("workload: {error}");
            std::process::exit(2);
        }
    };
    let totals = match run(&args) {
        Ok(totals) => totals,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(error) => {
            eprintln!("workload: {error}");
            std::process::exit(1);
        }
    };
    if let Some(path) = &args.expect
        && let Err(error) = write_expect(path, &totals)
    {
        eprintln!("workload: {path}: {error}");
        std::process::exit(1);
    }
}
