//! What `diagnose` found, aggregated: per device and peer, the latest state
//! of each gateway and tunnel, the failure patterns with counts and first and
//! last time, proposal and proxy-ID differences; per input, what was read.
//! [`text`](super::text) renders it for a person; this module also renders
//! it as JSON for scripts.

use std::collections::BTreeMap;
use std::io::{self, Write};

use jiff::Timestamp;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use crate::advice::{self, Lang};
use crate::classify::Outcome;
use crate::ike::{IkeVersion, Pattern, Phase, ProposalDiff};
use crate::pipeline::SourceTotals;
use crate::record::Observation;

/// How often something was seen, and when first and last (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
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

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Span", 5)?;
        s.serialize_field("count", &self.count)?;
        s.serialize_field("first", &self.first)?;
        s.serialize_field("first_time", &rfc3339(self.first))?;
        s.serialize_field("last", &self.last)?;
        s.serialize_field("last_time", &rfc3339(self.last))?;
        s.end()
    }
}

/// A Unix time as RFC 3339 in UTC.
pub fn rfc3339(t: f64) -> String {
    Timestamp::from_millisecond((t * 1000.0).round() as i64)
        .map_or_else(|_| t.to_string(), |ts| ts.to_string())
}

fn bump<K: Ord>(map: &mut BTreeMap<K, Span>, key: K, time: f64) {
    map.entry(key)
        .and_modify(|s| s.add(time))
        .or_insert_with(|| Span::new(time));
}

/// Why a gateway or tunnel is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Down {
    Failure(Pattern),
    DpdDown,
}

/// The latest negotiation outcome of a gateway or tunnel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latest {
    pub time: f64,
    /// `None` when the latest outcome was a success.
    pub down: Option<Down>,
}

/// What is known of one gateway (Phase 1) or tunnel (Phase 2).
#[derive(Debug, Default)]
pub struct ObjectState {
    pub latest: Option<Latest>,
    pub successes: Option<Span>,
    pub dpd_down: Option<Span>,
}

/// A failure pattern seen on one gateway or tunnel.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FailureKey {
    pub phase: Phase,
    pub pattern: Pattern,
    pub object: String,
    pub ike_version: Option<IkeVersion>,
}

/// Everything about one peer of one device.
#[derive(Debug, Default)]
pub struct PeerReport {
    pub objects: BTreeMap<(Phase, String), ObjectState>,
    pub failures: BTreeMap<FailureKey, Span>,
    pub proposals: BTreeMap<ProposalDiff, Span>,
    /// (tunnel, local_id, remote_id)
    pub proxy_ids: BTreeMap<(String, String, String), Span>,
    /// Latest delete or expiry event per object: (time, event ID).
    pub teardowns: BTreeMap<String, (f64, String)>,
}

impl PeerReport {
    /// The success that followed a failure, if the object came up again.
    pub fn resolved_at(&self, key: &FailureKey, span: &Span) -> Option<f64> {
        let state = self.objects.get(&(key.phase, key.object.clone()))?;
        match state.latest {
            Some(Latest { time, down: None }) if time >= span.last => Some(time),
            _ => None,
        }
    }

    /// A delete or expiry logged after `time` for `object`.
    pub fn teardown_after(&self, object: &str, time: f64) -> Option<&(f64, String)> {
        self.teardowns.get(object).filter(|(t, _)| *t > time)
    }

    fn is_empty(&self) -> bool {
        self.objects.is_empty()
            && self.failures.is_empty()
            && self.proposals.is_empty()
            && self.proxy_ids.is_empty()
    }
}

/// Everything about one device.
#[derive(Debug, Default)]
pub struct DeviceReport {
    pub peers: BTreeMap<String, PeerReport>,
    /// Every `vpn` event by event ID.
    pub events: BTreeMap<String, u64>,
}

/// One input and what it delivered.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub totals: SourceTotals,
}

/// Everything `diagnose` saw.
#[derive(Debug, Default)]
pub struct Report {
    pub devices: BTreeMap<String, DeviceReport>,
    pub inputs: Vec<Input>,
    pub vpn_events: u64,
    /// The `--timezone` used for times that carry none.
    pub timezone: String,
}

impl Report {
    /// An empty report whose civil times were read in `timezone`.
    pub fn new(timezone: &str) -> Self {
        Self {
            timezone: timezone.to_owned(),
            ..Self::default()
        }
    }

    /// Adds one recorded observation.
    pub fn add(&mut self, obs: Observation) {
        let device = self.devices.entry(obs.device).or_default();
        if let Some(id) = &obs.event_id {
            self.vpn_events += 1;
            *device.events.entry(id.clone()).or_default() += 1;
        }
        let is_teardown = obs
            .event_id
            .as_deref()
            .is_some_and(|id| id.ends_with("-delete") || id.ends_with("-expire"));
        let has_detail = !obs.proposal.is_empty() || obs.proxy_ids.is_some();
        let keeps_teardown = is_teardown && !obs.object.is_empty();
        if obs.outcome == Outcome::Info && !has_detail && !keeps_teardown {
            return;
        }
        let peer = device.peers.entry(obs.peer).or_default();
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
        if is_teardown && let Some(id) = obs.event_id {
            let newer = peer
                .teardowns
                .get(&obs.object)
                .is_none_or(|(t, _)| obs.time >= *t);
            if newer {
                peer.teardowns.insert(obs.object.clone(), (obs.time, id));
            }
        }
        let Some(phase) = obs.phase else { return };
        let down = match obs.outcome {
            Outcome::Failure(pattern) => {
                let key = FailureKey {
                    phase,
                    pattern,
                    object: obs.object.clone(),
                    ike_version: obs.ike_version,
                };
                bump(&mut peer.failures, key, obs.time);
                if pattern == Pattern::PeerNotConfigured || obs.object.is_empty() {
                    return;
                }
                Some(Down::Failure(pattern))
            }
            Outcome::DpdDown => Some(Down::DpdDown),
            Outcome::Success => None,
            Outcome::Info => return,
        };
        let state = peer.objects.entry((phase, obs.object)).or_default();
        match obs.outcome {
            Outcome::Success => bump_option(&mut state.successes, obs.time),
            Outcome::DpdDown => bump_option(&mut state.dpd_down, obs.time),
            _ => {}
        }
        if state.latest.is_none_or(|l| obs.time >= l.time) {
            state.latest = Some(Latest {
                time: obs.time,
                down,
            });
        }
    }

    /// Notes an input read to its end.
    pub fn input_read(&mut self, name: &str, totals: SourceTotals) {
        self.inputs.push(Input {
            name: name.to_owned(),
            totals,
        });
    }

    /// Peers worth showing, per device.
    pub fn peers(&self) -> impl Iterator<Item = (&str, &str, &PeerReport)> {
        self.devices.iter().flat_map(|(device, d)| {
            d.peers
                .iter()
                .filter(|(_, p)| !p.is_empty())
                .map(move |(peer, p)| (device.as_str(), peer.as_str(), p))
        })
    }

    /// Gateways and tunnels whose latest outcome was a failure or DPD down.
    pub fn down_now(&self) -> Vec<DownNow<'_>> {
        let mut out = Vec::new();
        for (device, peer, report) in self.peers() {
            for ((phase, object), state) in &report.objects {
                if let Some(Latest {
                    time,
                    down: Some(down),
                }) = state.latest
                {
                    out.push(DownNow {
                        device,
                        peer,
                        phase: *phase,
                        object,
                        down,
                        time,
                    });
                }
            }
        }
        out
    }

    /// Writes the report as JSON.
    pub fn write_json(&self, out: &mut dyn Write, lang: Lang) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &json::report(self, lang))?;
        writeln!(out)
    }
}

fn bump_option(span: &mut Option<Span>, time: f64) {
    match span {
        Some(s) => s.add(time),
        None => *span = Some(Span::new(time)),
    }
}

/// A gateway or tunnel that is down at the end of the logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DownNow<'a> {
    pub device: &'a str,
    pub peer: &'a str,
    pub phase: Phase,
    pub object: &'a str,
    pub down: Down,
    pub time: f64,
}

impl Down {
    /// The reason as a label-like word.
    pub fn as_str(self) -> &'static str {
        match self {
            Down::Failure(p) => p.as_str(),
            Down::DpdDown => "dpd_down",
        }
    }

    /// One-line meaning.
    pub fn summary(self, phase: Phase, lang: Lang) -> &'static str {
        match self {
            Down::Failure(p) => advice::summary_in(lang, phase, p),
            Down::DpdDown => advice::dpd_down_summary_in(lang),
        }
    }

    /// What to check.
    pub fn checks(self, phase: Phase, lang: Lang) -> &'static [&'static str] {
        match self {
            Down::Failure(p) => advice::checks_in(lang, phase, p),
            Down::DpdDown => advice::dpd_down_checks_in(lang),
        }
    }
}

/// The JSON shape of the report (stable field names for scripts).
mod json {
    use super::*;

    #[derive(Serialize)]
    pub struct JsonReport<'a> {
        timezone: &'a str,
        vpn_events: u64,
        inputs: Vec<JsonInput<'a>>,
        down_now: Vec<JsonDown<'a>>,
        devices: Vec<JsonDevice<'a>>,
    }

    #[derive(Serialize)]
    struct JsonInput<'a> {
        name: &'a str,
        lines: u64,
        bytes: u64,
        ignored: u64,
        parse_errors: &'a BTreeMap<&'static str, u64>,
    }

    #[derive(Serialize)]
    struct JsonDown<'a> {
        device: &'a str,
        peer: &'a str,
        phase: Phase,
        object: &'a str,
        reason: &'static str,
        time: f64,
    }

    #[derive(Serialize)]
    struct JsonDevice<'a> {
        device: &'a str,
        events: &'a BTreeMap<String, u64>,
        peers: Vec<JsonPeer<'a>>,
    }

    #[derive(Serialize)]
    struct JsonPeer<'a> {
        peer: &'a str,
        state: Vec<JsonState<'a>>,
        failures: Vec<JsonFailure<'a>>,
        proposal_mismatches: Vec<JsonProposal<'a>>,
        proxy_id_mismatches: Vec<JsonProxy<'a>>,
    }

    #[derive(Serialize)]
    struct JsonState<'a> {
        phase: Phase,
        object: &'a str,
        up: Option<bool>,
        reason: Option<&'static str>,
        time: Option<f64>,
        successes: Option<Span>,
        dpd_down: Option<Span>,
        teardown_after: Option<JsonTeardown<'a>>,
    }

    #[derive(Serialize)]
    struct JsonTeardown<'a> {
        event_id: &'a str,
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
        resolved_at: Option<f64>,
        summary: &'static str,
        checks: &'static [&'static str],
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

    pub fn report(r: &Report, lang: Lang) -> JsonReport<'_> {
        let inputs = r
            .inputs
            .iter()
            .map(|i| JsonInput {
                name: &i.name,
                lines: i.totals.lines,
                bytes: i.totals.bytes,
                ignored: i.totals.ignored,
                parse_errors: &i.totals.parse_errors,
            })
            .collect();
        let down_now = r
            .down_now()
            .into_iter()
            .map(|d| JsonDown {
                device: d.device,
                peer: d.peer,
                phase: d.phase,
                object: d.object,
                reason: d.down.as_str(),
                time: d.time,
            })
            .collect();
        let devices = r
            .devices
            .iter()
            .map(|(device, d)| JsonDevice {
                device,
                events: &d.events,
                peers: d
                    .peers
                    .iter()
                    .filter(|(_, p)| !p.is_empty())
                    .map(|(peer, p)| peer_json(peer, p, lang))
                    .collect(),
            })
            .collect();
        JsonReport {
            timezone: &r.timezone,
            vpn_events: r.vpn_events,
            inputs,
            down_now,
            devices,
        }
    }

    fn peer_json<'a>(peer: &'a str, p: &'a PeerReport, lang: Lang) -> JsonPeer<'a> {
        JsonPeer {
            peer,
            state: p
                .objects
                .iter()
                .map(|((phase, object), s)| JsonState {
                    phase: *phase,
                    object,
                    up: s.latest.map(|l| l.down.is_none()),
                    reason: s.latest.and_then(|l| l.down).map(Down::as_str),
                    time: s.latest.map(|l| l.time),
                    successes: s.successes,
                    dpd_down: s.dpd_down,
                    teardown_after: s.latest.and_then(|l| p.teardown_after(object, l.time)).map(
                        |(time, event_id)| JsonTeardown {
                            event_id,
                            time: *time,
                        },
                    ),
                })
                .collect(),
            failures: p
                .failures
                .iter()
                .map(|(key, span)| JsonFailure {
                    phase: key.phase,
                    pattern: key.pattern,
                    object: &key.object,
                    ike_version: key.ike_version,
                    span: *span,
                    resolved_at: p.resolved_at(key, span),
                    summary: advice::summary_in(lang, key.phase, key.pattern),
                    checks: advice::checks_in(lang, key.phase, key.pattern),
                })
                .collect(),
            proposal_mismatches: p
                .proposals
                .iter()
                .map(|(diff, span)| JsonProposal { diff, span: *span })
                .collect(),
            proxy_id_mismatches: p
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
}
