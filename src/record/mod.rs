//! The record stage: resolves peers, applies the cardinality guard and
//! updates the domain metrics. The only stage that touches them.
//!
//! Each recorded event also comes back as an [`Observation`] with its final
//! label values, which `diagnose` turns into its report.

pub mod guard;
pub mod peers;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use self::guard::{ComboGuard, LabelGuard, OTHER, sanitise};
use self::peers::{PeerResolver, UNKNOWN};
use crate::classify::{Event, Outcome, ProxyIds};
use crate::ike::{IkeVersion, Pattern, Phase, ProposalDiff};
use crate::metrics::Metrics;
use crate::parse::ikemgr::ProposalRecord;

/// Limits and maps the record stage works with (design.md §4).
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// Distinct peers per exporter before further ones become `other`.
    pub max_peers: usize,
    /// Distinct gateways and tunnels per exporter before further ones become `other`.
    pub max_objects: usize,
    /// Distinct event IDs before further ones become `other`.
    pub max_event_ids: usize,
    /// Distinct devices before further ones become `other`.
    pub max_devices: usize,
    /// Configured gateway/tunnel name → peer address.
    pub gateways: HashMap<String, String>,
    /// Peers always tracked, whatever the limit.
    pub peers: Vec<String>,
}

impl Default for RecordConfig {
    fn default() -> Self {
        Self {
            max_peers: 1000,
            max_objects: 1000,
            max_event_ids: 256,
            max_devices: 1000,
            gateways: HashMap::new(),
            peers: Vec::new(),
        }
    }
}

/// An event as recorded, with the label values used.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub device: String,
    /// `None` for a proposal difference assembled from ikemgr.log.
    pub event_id: Option<String>,
    pub object: String,
    pub peer: String,
    pub phase: Option<Phase>,
    pub ike_version: Option<IkeVersion>,
    pub outcome: Outcome,
    pub proposal: Vec<ProposalDiff>,
    pub proxy_ids: Option<ProxyIds>,
    /// Seconds since the epoch (the log's time in `diagnose`, read time live).
    pub time: f64,
}

/// Series identity of an `*_up` gauge.
type UpKey = (Phase, String, String, String);

/// The record stage's state.
#[derive(Debug)]
pub struct Recorder {
    metrics: Arc<Metrics>,
    peers: PeerResolver,
    peer_guard: LabelGuard,
    object_guard: LabelGuard,
    event_id_guard: LabelGuard,
    device_guard: LabelGuard,
    /// Proposal values and proxy IDs (free text from the peer).
    value_guard: LabelGuard,
    /// (device, gateway/tunnel, peer) combinations.
    entity_combos: ComboGuard,
    /// Label sets of the proposal and proxy-ID counters.
    detail_combos: ComboGuard,
    /// Time of the outcome each `*_up` gauge shows, so that only a newer one moves it.
    up_times: HashMap<UpKey, f64>,
}

impl Recorder {
    /// A recorder updating `metrics`.
    pub fn new(metrics: Arc<Metrics>, config: RecordConfig) -> Self {
        let always_peers = config.peers.iter().chain(config.gateways.values()).cloned();
        let always_objects = config.gateways.keys().cloned().collect::<Vec<_>>();
        Self {
            metrics,
            peer_guard: LabelGuard::new(config.max_peers, always_peers),
            object_guard: LabelGuard::new(config.max_objects, always_objects),
            event_id_guard: LabelGuard::new(config.max_event_ids, []),
            device_guard: LabelGuard::new(config.max_devices, []),
            value_guard: LabelGuard::new(config.max_objects, []),
            entity_combos: ComboGuard::new(combos(&config)),
            detail_combos: ComboGuard::new(combos(&config)),
            peers: PeerResolver::new(config.gateways, config.max_objects.saturating_mul(4)),
            up_times: HashMap::new(),
        }
    }

    /// Applies a reloaded configuration. Counters, learned peers and the
    /// label values already admitted stay.
    pub fn reconfigure(&mut self, config: RecordConfig) {
        let always_peers: Vec<String> = config
            .peers
            .iter()
            .chain(config.gateways.values())
            .cloned()
            .collect();
        let always_objects: Vec<String> = config.gateways.keys().cloned().collect();
        self.peer_guard.reconfigure(config.max_peers, always_peers);
        self.object_guard
            .reconfigure(config.max_objects, always_objects);
        self.event_id_guard.reconfigure(config.max_event_ids, []);
        self.device_guard.reconfigure(config.max_devices, []);
        self.value_guard.reconfigure(config.max_objects, []);
        self.entity_combos.set_max(combos(&config));
        self.detail_combos.set_max(combos(&config));
        self.peers
            .set_configured(config.gateways, config.max_objects.saturating_mul(4));
    }

    /// Records one classified SYSTEM event from `device` at `time`.
    pub fn record_event(&mut self, event: &Event, device: &str, time: f64) -> Observation {
        let device = self.guard_device(device);
        let raw_object = sanitise(&event.object);
        let named_peer = event.peer.as_deref().map(sanitise);
        if let Some(peer) = &named_peer {
            self.peers.learn(&device, &raw_object, peer);
        }
        let peer = match &named_peer {
            Some(peer) => peer.clone(),
            None => Cow::Owned(self.peers.resolve(&device, &raw_object).to_owned()),
        };
        let peer = self.guard_peer(&peer);
        let object = self.guard_object(&raw_object, event.phase);
        let (object, peer) = if self.entity_combos.admit(&[&device, &object, &peer]) {
            (object, peer)
        } else {
            self.overflow("series");
            (OTHER.to_owned(), OTHER.to_owned())
        };
        let event_id = self.guard_event_id(&event.event_id);
        let proposal = event
            .proposal
            .iter()
            .map(|d| self.guard_diff(&device, &peer, d))
            .collect();
        let proxy_ids = event
            .proxy_ids
            .as_ref()
            .map(|ids| self.guard_ids(&device, &peer, &object, ids));
        self.metrics
            .events
            .with_label_values(&[device.as_str(), event_id.as_str()])
            .inc();

        let obs = Observation {
            device,
            event_id: Some(event_id),
            object,
            peer,
            phase: event.phase,
            ike_version: event.ike_version,
            outcome: event.outcome,
            proposal,
            proxy_ids,
            time,
        };
        if let (Some(phase), Some(version)) = (obs.phase, obs.ike_version) {
            self.record_outcome(&obs, phase, version);
        }
        obs
    }

    /// Records a proposal difference assembled from ikemgr.log lines.
    pub fn record_proposal(
        &mut self,
        record: &ProposalRecord,
        device: &str,
        time: f64,
    ) -> Observation {
        let device = self.guard_device(device);
        let peer = record
            .peer
            .as_deref()
            .map_or(Cow::Borrowed(UNKNOWN), sanitise);
        let peer = self.guard_peer(&peer);
        let diff = self.guard_diff(&device, &peer, &record.diff);
        self.count_proposal(&device, &peer, &diff);
        Observation {
            device,
            event_id: None,
            object: String::new(),
            peer,
            phase: Some(diff.phase),
            ike_version: Some(IkeVersion::V1),
            outcome: Outcome::Info,
            proposal: vec![diff],
            proxy_ids: None,
            time,
        }
    }

    fn record_outcome(&mut self, obs: &Observation, phase: Phase, version: IkeVersion) {
        let m = &self.metrics;
        let base = [obs.device.as_str(), obs.object.as_str(), obs.peer.as_str()];
        match obs.outcome {
            Outcome::Failure(pattern) => {
                let (failures, last) = match phase {
                    Phase::One => (&m.phase1_failures, &m.phase1_last_failure),
                    Phase::Two => (&m.phase2_failures, &m.phase2_last_failure),
                };
                let p = pattern.as_str();
                failures
                    .with_label_values(&[base[0], base[1], base[2], version.as_str(), p])
                    .inc();
                keep_max(
                    &last.with_label_values(&[base[0], base[1], base[2], p]),
                    obs.time,
                );
                // design.md §5: no configured gateway, nothing to show as down.
                if pattern != Pattern::PeerNotConfigured {
                    self.set_up(phase, obs, 0);
                }
                for diff in &obs.proposal {
                    self.count_proposal(&obs.device, &obs.peer, diff);
                }
                if let Some(ids) = &obs.proxy_ids {
                    let labels = [
                        base[0],
                        base[2],
                        base[1],
                        ids.local_id.as_str(),
                        ids.remote_id.as_str(),
                    ];
                    self.metrics
                        .proxy_id_mismatches
                        .with_label_values(&labels)
                        .inc();
                }
            }
            Outcome::Success => {
                let (successes, last) = match phase {
                    Phase::One => (&m.phase1_successes, &m.phase1_last_success),
                    Phase::Two => (&m.phase2_successes, &m.phase2_last_success),
                };
                successes
                    .with_label_values(&[base[0], base[1], base[2], version.as_str()])
                    .inc();
                keep_max(&last.with_label_values(&base), obs.time);
                self.set_up(phase, obs, 1);
            }
            Outcome::DpdDown => self.set_up(phase, obs, 0),
            Outcome::Info => {}
        }
    }

    /// Moves an `*_up` gauge unless a newer outcome already set it. Objects
    /// left empty by PAN-OS (no gateway matched) get no gauge.
    fn set_up(&mut self, phase: Phase, obs: &Observation, value: i64) {
        if obs.object.is_empty() {
            return;
        }
        let key = (
            phase,
            obs.device.clone(),
            obs.object.clone(),
            obs.peer.clone(),
        );
        let newest = self.up_times.get(&key).is_none_or(|&t| obs.time >= t);
        if !newest {
            return;
        }
        self.up_times.insert(key, obs.time);
        let gauge = match phase {
            Phase::One => &self.metrics.phase1_up,
            Phase::Two => &self.metrics.phase2_up,
        };
        gauge
            .with_label_values(&[obs.device.as_str(), obs.object.as_str(), obs.peer.as_str()])
            .set(value);
    }

    fn count_proposal(&self, device: &str, peer: &str, diff: &ProposalDiff) {
        let labels = [
            device,
            peer,
            diff.phase.as_str(),
            diff.parameter.as_str(),
            diff.local.as_str(),
            diff.remote.as_str(),
        ];
        self.metrics
            .proposal_mismatches
            .with_label_values(&labels)
            .inc();
    }

    fn guard_device(&mut self, device: &str) -> String {
        let device = sanitise(device);
        let (value, folded) = self.device_guard.admit(&device);
        if folded {
            self.overflow("device");
        }
        value.to_owned()
    }

    fn overflow(&self, label: &str) {
        self.metrics
            .label_overflow
            .with_label_values(&[label])
            .inc();
    }

    /// A value from the peer's text, capped like any free-form label.
    fn guard_value(&mut self, value: &str) -> String {
        let value = sanitise(value);
        let (admitted, folded) = self.value_guard.admit(&value);
        if folded {
            self.overflow("value");
        }
        admitted.to_owned()
    }

    fn guard_diff(&mut self, device: &str, peer: &str, diff: &ProposalDiff) -> ProposalDiff {
        let (mut local, mut remote) = (
            self.guard_value(&diff.local),
            self.guard_value(&diff.remote),
        );
        let parameter = diff.parameter.as_str();
        if !self
            .detail_combos
            .admit(&[device, peer, parameter, &local, &remote])
        {
            self.overflow("series");
            (local, remote) = (OTHER.to_owned(), OTHER.to_owned());
        }
        ProposalDiff {
            phase: diff.phase,
            parameter: diff.parameter,
            local,
            remote,
        }
    }

    fn guard_ids(&mut self, device: &str, peer: &str, tunnel: &str, ids: &ProxyIds) -> ProxyIds {
        let (mut local_id, mut remote_id) = (
            self.guard_value(&ids.local_id),
            self.guard_value(&ids.remote_id),
        );
        if !self
            .detail_combos
            .admit(&[device, peer, tunnel, &local_id, &remote_id])
        {
            self.overflow("series");
            (local_id, remote_id) = (OTHER.to_owned(), OTHER.to_owned());
        }
        ProxyIds {
            local_id,
            remote_id,
        }
    }

    fn guard_peer(&mut self, peer: &str) -> String {
        let (value, folded) = self.peer_guard.admit(peer);
        if folded {
            self.metrics
                .label_overflow
                .with_label_values(&["peer"])
                .inc();
        }
        value.to_owned()
    }

    fn guard_object(&mut self, object: &str, phase: Option<Phase>) -> String {
        let (value, folded) = self.object_guard.admit(object);
        if folded {
            let label = if phase == Some(Phase::Two) {
                "tunnel"
            } else {
                "gateway"
            };
            self.metrics
                .label_overflow
                .with_label_values(&[label])
                .inc();
        }
        value.to_owned()
    }

    fn guard_event_id(&mut self, event_id: &str) -> String {
        let event_id = sanitise(event_id);
        let (value, folded) = self.event_id_guard.admit(&event_id);
        if folded {
            self.metrics
                .label_overflow
                .with_label_values(&["event_id"])
                .inc();
        }
        value.to_owned()
    }
}

fn keep_max(gauge: &crate::metrics::Gauge, time: f64) {
    if time > gauge.get() {
        gauge.set(time);
    }
}

/// Label combinations allowed per family: a gateway or tunnel usually has
/// one peer, so peers plus objects leave room for every real pairing.
fn combos(config: &RecordConfig) -> usize {
    config.max_peers.saturating_add(config.max_objects)
}

#[cfg(test)]
mod tests;
