//! Classification: a PAN-OS `vpn` record → an IKE event with its outcome,
//! pattern, peer and details. Pure: no state, metrics or clock.
//!
//! The event ID decides first ([`catalog`]), the description second
//! ([`patterns`]); where both name a pattern, the more specific wins
//! (design.md §5: a PFS text under `ike-nego-p2-proposal-bad` is
//! `pfs_mismatch`). Peer resolution for texts without an address needs
//! state and happens in the record stage.

pub mod catalog;
pub mod patterns;
pub mod proposal;

use std::sync::LazyLock;

use regex::Regex;

use crate::ike::{self, IkeVersion, Pattern, Phase, ProposalDiff};
use crate::parse::SystemRecord;

pub use self::catalog::Class;
pub use self::proposal::ProxyIds;

/// What happened, as far as the negotiation counters are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Counted only in `ike_events_total`.
    Info,
    /// A negotiation succeeded.
    Success,
    /// A negotiation failed, for this reason.
    Failure(Pattern),
    /// DPD declared the Phase 1 SA down.
    DpdDown,
}

/// A classified `vpn` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event_id: String,
    /// Gateway (Phase 1) or tunnel (Phase 2): the object field, else the 11.x prefix.
    pub object: String,
    pub phase: Option<Phase>,
    pub ike_version: Option<IkeVersion>,
    pub outcome: Outcome,
    /// The peer address the description names, if any.
    pub peer: Option<String>,
    /// Proposal differences stated by the description.
    pub proposal: Vec<ProposalDiff>,
    /// Proxy IDs, for proxy-ID mismatches.
    pub proxy_ids: Option<ProxyIds>,
}

/// Classifies one SYSTEM `vpn` record.
pub fn classify(record: &SystemRecord) -> Event {
    let entry = catalog::lookup(&record.event_id);
    let text = patterns::normalise(&record.description);
    let object = if record.object.is_empty() {
        text.gateway_prefix.clone().unwrap_or_default()
    } else {
        record.object.clone()
    };
    let phase = match entry.class {
        Class::Failure(_) => Some(
            entry
                .phase
                .unwrap_or_else(|| phase_from_text(&text.normalised)),
        ),
        _ => entry.phase,
    };
    let outcome = match (entry.class, phase) {
        (Class::Failure(fixed), Some(phase)) => {
            let described = patterns::from_description(phase, &text.normalised);
            Outcome::Failure(decide(fixed, described))
        }
        (Class::Failure(_), None) | (Class::Info, _) => Outcome::Info,
        (Class::Success, _) => Outcome::Success,
        (Class::DpdDown, _) => Outcome::DpdDown,
    };
    let peer = peer_of(&record.description);
    let (proposal, proxy_ids) = match (outcome, phase) {
        (Outcome::Failure(Pattern::ProposalMismatch | Pattern::PfsMismatch), Some(phase)) => {
            (proposal::proposal_diffs(phase, &record.description), None)
        }
        (Outcome::Failure(Pattern::ProxyIdMismatch), _) => {
            (Vec::new(), Some(proposal::proxy_ids(&record.description)))
        }
        _ => (Vec::new(), None),
    };
    Event {
        event_id: record.event_id.clone(),
        object,
        phase,
        ike_version: entry.version,
        outcome,
        peer,
        proposal,
        proxy_ids,
    }
}

/// The ID's pattern wins, except where the text refines it.
fn decide(fixed: Option<Pattern>, described: Option<Pattern>) -> Pattern {
    match (fixed, described) {
        (Some(Pattern::ProposalMismatch), Some(Pattern::PfsMismatch)) => Pattern::PfsMismatch,
        (Some(fixed), _) => fixed,
        (None, Some(described)) => described,
        (None, None) => Pattern::Other,
    }
}

static PEER_IP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bpeer ip ([0-9a-f:.]*[0-9a-f])").expect("static regex compiles")
});

/// The peer named by `peer IP X[port]` or by the second of two SA endpoints.
fn peer_of(description: &str) -> Option<String> {
    if let Some(caps) = PEER_IP.captures(description) {
        return Some(caps[1].to_owned());
    }
    ike::endpoints(description).map(|e| e.peer)
}

/// The phase of a failure whose ID names none (`ike-nego-fail-…`), from its text.
fn phase_from_text(text: &str) -> Phase {
    let phase2 = ["phase-2", "phase 2", "quick mode", "child sa", "ipsec sa"];
    if phase2.iter().any(|m| text.contains(m)) {
        Phase::Two
    } else {
        Phase::One
    }
}

#[cfg(test)]
mod tests;
