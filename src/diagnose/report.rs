//! The `diagnose` report: per device and peer, the failure patterns with
//! counts and first/last time, the latest state of each gateway and tunnel,
//! proposal and proxy-ID differences, and what to check.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::advice;
use crate::classify::Outcome;
use crate::ike::{IkeVersion, Pattern, Phase, ProposalDiff};
use crate::record::Observation;

/// How often something was seen, and when first and last (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Span {
    pub count: u64,
    pub first: f64,
    pub last: f64,
}

impl Span {
    fn new(time: f64) -> Self {
        Self {
            count: 1,
            first: time,
            last: time,
        }
    }

    fn add(&mut self, time: f64) {
        self.count += 1;
        self.first = self.first.min(time);
        self.last = self.last.max(time);
    }
}

fn bump<K: Ord>(map: &mut BTreeMap<K, Span>, key: K, time: f64) {
    map.entry(key)
        .and_modify(|s| s.add(time))
        .or_insert_with(|| Span::new(time));
}

/// The latest negotiation outcome of a gateway or tunnel.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Latest {
    time: f64,
    up: bool,
    pattern: Option<Pattern>,
}

#[derive(Debug, Default)]
struct PeerReport {
    failures: BTreeMap<(Phase, Pattern, String, Option<IkeVersion>), Span>,
    successes: BTreeMap<(Phase, String), Span>,
    dpd_down: BTreeMap<String, Span>,
    latest: BTreeMap<(Phase, String), Latest>,
    proposals: BTreeMap<ProposalDiff, Span>,
    proxy_ids: BTreeMap<(String, String, String), Span>,
}

/// Everything `diagnose` saw.
#[derive(Debug, Default)]
pub struct Report {
    devices: BTreeMap<String, BTreeMap<String, PeerReport>>,
    sources: Vec<String>,
    events: u64,
}

impl Report {
    /// Adds one recorded observation.
    pub fn add(&mut self, obs: Observation) {
        if obs.event_id.is_some() {
            self.events += 1;
        }
        let peer = self
            .devices
            .entry(obs.device)
            .or_default()
            .entry(obs.peer)
            .or_default();
        for diff in obs.proposal {
            bump(&mut peer.proposals, diff, obs.time);
        }
        if let Some(ids) = obs.proxy_ids {
            bump(
                &mut peer.proxy_ids,
                (obs.object.clone(), ids.local_id, ids.remote_id),
                obs.time,
            );
        }
        let Some(phase) = obs.phase else { return };
        let (up, pattern) = match obs.outcome {
            Outcome::Failure(pattern) => {
                bump(
                    &mut peer.failures,
                    (phase, pattern, obs.object.clone(), obs.ike_version),
                    obs.time,
                );
                if pattern == Pattern::PeerNotConfigured || obs.object.is_empty() {
                    return;
                }
                (false, Some(pattern))
            }
            Outcome::Success => {
                bump(&mut peer.successes, (phase, obs.object.clone()), obs.time);
                (true, None)
            }
            Outcome::DpdDown => {
                bump(&mut peer.dpd_down, obs.object.clone(), obs.time);
                (false, None)
            }
            Outcome::Info => return,
        };
        let latest = Latest {
            time: obs.time,
            up,
            pattern,
        };
        peer.latest
            .entry((phase, obs.object))
            .and_modify(|l| {
                if latest.time >= l.time {
                    *l = latest;
                }
            })
            .or_insert(latest);
    }

    /// Notes that a source was read to its end.
    pub fn source_read(&mut self, path: &Path) {
        self.sources.push(path.display().to_string());
    }

    /// Writes the report for a person.
    pub fn write_text(&self, out: &mut dyn Write, tz: &TimeZone) -> io::Result<()> {
        let when = |t: f64| format_time(t, tz);
        writeln!(
            out,
            "ike_exporter diagnose: {} vpn events from {} input(s)",
            self.events,
            self.sources.len()
        )?;
        if self.devices.is_empty() {
            writeln!(out, "No IKE events found.")?;
        }
        for (device, peers) in &self.devices {
            writeln!(out, "\nDevice {device}")?;
            for (peer, r) in peers {
                writeln!(out, "  Peer {peer}")?;
                for ((phase, object), l) in &r.latest {
                    let what = if *phase == Phase::One {
                        "gateway"
                    } else {
                        "tunnel"
                    };
                    let state = match (l.up, l.pattern) {
                        (true, _) => "UP".to_owned(),
                        (false, Some(p)) => format!("DOWN ({})", p.as_str()),
                        (false, None) => "DOWN (DPD)".to_owned(),
                    };
                    writeln!(
                        out,
                        "    Phase {} {what} {object}: {state} at {}",
                        phase.as_str(),
                        when(l.time)
                    )?;
                }
                for ((phase, pattern, object, version), s) in &r.failures {
                    let version = version.map_or("?", IkeVersion::as_str);
                    let object = if object.is_empty() { "(none)" } else { object };
                    writeln!(
                        out,
                        "    Phase {} failure: {} x{} (IKEv{version}, {object}), first {}, last {}",
                        phase.as_str(),
                        pattern.as_str(),
                        s.count,
                        when(s.first),
                        when(s.last)
                    )?;
                    writeln!(out, "      {}.", advice::summary(*phase, *pattern))?;
                    for check in advice::checks(*phase, *pattern) {
                        writeln!(out, "      - {check}")?;
                    }
                }
                for ((phase, object), s) in &r.successes {
                    writeln!(
                        out,
                        "    Phase {} success x{} ({object}), last {}",
                        phase.as_str(),
                        s.count,
                        when(s.last)
                    )?;
                }
                for (object, s) in &r.dpd_down {
                    writeln!(
                        out,
                        "    DPD down x{} ({object}), last {}",
                        s.count,
                        when(s.last)
                    )?;
                }
                for (d, s) in &r.proposals {
                    writeln!(
                        out,
                        "    Phase {} proposal difference: {} firewall {:?} vs peer {:?} x{}",
                        d.phase.as_str(),
                        d.parameter.as_str(),
                        d.local,
                        d.remote,
                        s.count
                    )?;
                }
                for ((tunnel, local, remote), s) in &r.proxy_ids {
                    writeln!(
                        out,
                        "    Proxy-ID mismatch on {tunnel}: local id {:?}, remote id {:?} x{}",
                        local, remote, s.count
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Writes the report as JSON.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &self.to_json())?;
        writeln!(out)
    }

    fn to_json(&self) -> JsonReport<'_> {
        let devices = self
            .devices
            .iter()
            .map(|(device, peers)| JsonDevice {
                device,
                peers: peers.iter().map(|(peer, r)| json_peer(peer, r)).collect(),
            })
            .collect();
        JsonReport {
            inputs: &self.sources,
            vpn_events: self.events,
            devices,
        }
    }
}

fn json_peer<'a>(peer: &'a str, r: &'a PeerReport) -> JsonPeer<'a> {
    JsonPeer {
        peer,
        state: r
            .latest
            .iter()
            .map(|((phase, object), l)| JsonState {
                phase: *phase,
                object,
                up: l.up,
                pattern: l.pattern,
                time: l.time,
            })
            .collect(),
        failures: r
            .failures
            .iter()
            .map(|((phase, pattern, object, version), span)| JsonFailure {
                phase: *phase,
                pattern: *pattern,
                object,
                ike_version: *version,
                span: *span,
                summary: advice::summary(*phase, *pattern),
                checks: advice::checks(*phase, *pattern),
            })
            .collect(),
        successes: r
            .successes
            .iter()
            .map(|((phase, object), span)| JsonCount {
                phase: Some(*phase),
                object,
                span: *span,
            })
            .collect(),
        dpd_down: r
            .dpd_down
            .iter()
            .map(|(object, span)| JsonCount {
                phase: Some(Phase::One),
                object,
                span: *span,
            })
            .collect(),
        proposal_mismatches: r
            .proposals
            .iter()
            .map(|(diff, span)| JsonProposal { diff, span: *span })
            .collect(),
        proxy_id_mismatches: r
            .proxy_ids
            .iter()
            .map(|((tunnel, local_id, remote_id), span)| JsonProxy {
                tunnel,
                local_id,
                remote_id,
                span: *span,
            })
            .collect(),
    }
}

fn format_time(t: f64, tz: &TimeZone) -> String {
    let Ok(ts) = Timestamp::from_millisecond((t * 1000.0).round() as i64) else {
        return t.to_string();
    };
    ts.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S%.3f %:z")
        .to_string()
}

#[derive(Serialize)]
struct JsonReport<'a> {
    inputs: &'a [String],
    vpn_events: u64,
    devices: Vec<JsonDevice<'a>>,
}

#[derive(Serialize)]
struct JsonDevice<'a> {
    device: &'a str,
    peers: Vec<JsonPeer<'a>>,
}

#[derive(Serialize)]
struct JsonPeer<'a> {
    peer: &'a str,
    state: Vec<JsonState<'a>>,
    failures: Vec<JsonFailure<'a>>,
    successes: Vec<JsonCount<'a>>,
    dpd_down: Vec<JsonCount<'a>>,
    proposal_mismatches: Vec<JsonProposal<'a>>,
    proxy_id_mismatches: Vec<JsonProxy<'a>>,
}

#[derive(Serialize)]
struct JsonState<'a> {
    phase: Phase,
    object: &'a str,
    up: bool,
    pattern: Option<Pattern>,
    time: f64,
}

#[derive(Serialize)]
struct JsonFailure<'a> {
    phase: Phase,
    pattern: Pattern,
    object: &'a str,
    ike_version: Option<IkeVersion>,
    #[serde(flatten)]
    span: Span,
    summary: &'static str,
    checks: &'static [&'static str],
}

#[derive(Serialize)]
struct JsonCount<'a> {
    phase: Option<Phase>,
    object: &'a str,
    #[serde(flatten)]
    span: Span,
}

#[derive(Serialize)]
struct JsonProposal<'a> {
    #[serde(flatten)]
    diff: &'a ProposalDiff,
    #[serde(flatten)]
    span: Span,
}

#[derive(Serialize)]
struct JsonProxy<'a> {
    tunnel: &'a str,
    local_id: &'a str,
    remote_id: &'a str,
    #[serde(flatten)]
    span: Span,
}
