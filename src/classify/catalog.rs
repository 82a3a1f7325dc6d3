//! The `vpn` event catalog: what an event ID says about class, phase and IKE
//! version (catalog.md §2, design.md §5).
//!
//! Rules, not a list, so that IDs added by later PAN-OS releases (11.x added
//! `ikev2-nego-enc-mismatch`, which is in no public list) classify the same
//! way as their siblings. Failure counting applies to the negotiation
//! families only (`ike-nego-*`, `ikev2-nego-*`).

use crate::ike::{IkeVersion, Pattern, Phase};

/// What an event ID means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A failed negotiation; the pattern when the ID alone decides it.
    Failure(Option<Pattern>),
    /// A negotiation that succeeded.
    Success,
    /// The SA was declared down by dead peer detection.
    DpdDown,
    /// Anything else: starts, deletes, notifies, configuration loads, …
    Info,
}

/// The catalog's reading of one event ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub class: Class,
    pub phase: Option<Phase>,
    pub version: Option<IkeVersion>,
}

const INFO: Entry = Entry {
    class: Class::Info,
    phase: None,
    version: None,
};

/// Looks up an event ID.
pub fn lookup(id: &str) -> Entry {
    if let Some((phase, version, tail)) = family(id) {
        return Entry {
            class: class_of(tail),
            phase: Some(phase),
            version: Some(version),
        };
    }
    // An IKEv1 negotiation ID that names no phase (none is known today): a
    // failure still counts, its phase taken from the text by the classifier.
    match id.strip_prefix("ike-nego-").map(class_of) {
        Some(class @ Class::Failure(_)) => Entry {
            class,
            phase: None,
            version: Some(IkeVersion::V1),
        },
        _ => INFO,
    }
}

fn class_of(tail: &str) -> Class {
    if tail == "succ" {
        Class::Success
    } else if tail == "dpd-dn" {
        Class::DpdDown
    } else if is_failure(tail) {
        Class::Failure(fixed_pattern(tail))
    } else {
        Class::Info
    }
}

/// The negotiation family of an ID, and the rest of the ID after it.
fn family(id: &str) -> Option<(Phase, IkeVersion, &str)> {
    if let Some(tail) = id.strip_prefix("ike-nego-p1-") {
        return Some((Phase::One, IkeVersion::V1, tail));
    }
    if let Some(tail) = id.strip_prefix("ike-nego-p2-") {
        return Some((Phase::Two, IkeVersion::V1, tail));
    }
    if let Some(tail) = id.strip_prefix("ikev2-nego-child-") {
        return Some((Phase::Two, IkeVersion::V2, tail));
    }
    if let Some(tail) = id.strip_prefix("ikev2-nego-ike-") {
        return Some((Phase::One, IkeVersion::V2, tail));
    }
    // `ikev2-nego-fail-psk`, `ikev2-nego-enc-mismatch`, …: IKE_SA by design.md §5.
    id.strip_prefix("ikev2-nego-")
        .map(|tail| (Phase::One, IkeVersion::V2, tail))
}

/// True when `tail` is `suffix` or ends with `-suffix`.
fn has_suffix(tail: &str, suffix: &str) -> bool {
    tail.strip_suffix(suffix)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('-'))
}

/// design.md §5's failure suffixes; a simultaneous-rekey `simul-fail` is benign.
fn is_failure(tail: &str) -> bool {
    if has_suffix(tail, "simul-fail") {
        return false;
    }
    const SUFFIXES: [&str; 6] = [
        "fail",
        "bad",
        "no-p1",
        "p1-not-ready",
        "psk-idtype",
        "mismatch",
    ];
    SUFFIXES.iter().any(|s| has_suffix(tail, s))
        || tail.starts_with("fail-")
        || tail.contains("-fail-")
}

/// The pattern an ID decides by itself; `None` when the description must.
fn fixed_pattern(tail: &str) -> Option<Pattern> {
    const FIXED: [(&str, Pattern); 13] = [
        ("fail-psk", Pattern::PskMismatch),
        ("psk-idtype", Pattern::IdMismatch),
        ("cert-id-mismatch", Pattern::IdMismatch),
        ("fail-cert", Pattern::Certificate),
        ("proxy-id-bad", Pattern::ProxyIdMismatch),
        ("ts-bad", Pattern::ProxyIdMismatch),
        ("proposal-bad", Pattern::ProposalMismatch),
        ("no-p1", Pattern::NoPhase1Sa),
        ("p1-not-ready", Pattern::NoPhase1Sa),
        ("fail-fips", Pattern::Other),
        // IKEv2 11.x: a proposal algorithm the peer did not offer.
        ("enc-mismatch", Pattern::ProposalMismatch),
        ("integ-mismatch", Pattern::ProposalMismatch),
        ("dh-mismatch", Pattern::ProposalMismatch),
    ];
    if has_suffix(tail, "prf-mismatch") {
        return Some(Pattern::ProposalMismatch);
    }
    FIXED
        .iter()
        .find(|(suffix, _)| has_suffix(tail, suffix))
        .map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(id: &str) -> Class {
        lookup(id).class
    }

    #[test]
    fn catalog_phase1_ids() {
        assert_eq!(class("ike-nego-p1-fail"), Class::Failure(None));
        assert_eq!(class("ike-nego-p1-fail-common"), Class::Failure(None));
        assert_eq!(
            class("ike-nego-p1-fail-psk"),
            Class::Failure(Some(Pattern::PskMismatch))
        );
        assert_eq!(
            class("ike-nego-p1-psk-idtype"),
            Class::Failure(Some(Pattern::IdMismatch))
        );
        assert_eq!(
            class("ike-nego-p1-fail-cert"),
            Class::Failure(Some(Pattern::Certificate))
        );
        assert_eq!(
            class("ike-nego-p1-cert-id-mismatch"),
            Class::Failure(Some(Pattern::IdMismatch))
        );
        assert_eq!(class("ike-nego-p1-succ"), Class::Success);
        assert_eq!(class("ike-nego-p1-dpd-dn"), Class::DpdDown);
        assert_eq!(class("ike-nego-p1-cert-succ"), Class::Info);
        assert_eq!(class("ike-nego-p1-start"), Class::Info);
    }

    #[test]
    fn catalog_phase2_ids() {
        assert_eq!(class("ike-nego-p2-fail"), Class::Failure(None));
        assert_eq!(
            class("ike-nego-p2-no-p1"),
            Class::Failure(Some(Pattern::NoPhase1Sa))
        );
        assert_eq!(
            class("ike-nego-p2-p1-not-ready"),
            Class::Failure(Some(Pattern::NoPhase1Sa))
        );
        assert_eq!(
            class("ike-nego-p2-proxy-id-bad"),
            Class::Failure(Some(Pattern::ProxyIdMismatch))
        );
        assert_eq!(
            class("ike-nego-p2-proposal-bad"),
            Class::Failure(Some(Pattern::ProposalMismatch))
        );
        assert_eq!(class("ike-nego-p2-succ"), Class::Success);
        assert_eq!(class("ike-nego-p2-simul-fail"), Class::Info);
        assert_eq!(class("ike-nego-p2-stale-p1"), Class::Info);
    }

    #[test]
    fn catalog_ikev2_ids() {
        let e = lookup("ikev2-nego-enc-mismatch");
        assert_eq!(e.class, Class::Failure(Some(Pattern::ProposalMismatch)));
        assert_eq!(
            (e.phase, e.version),
            (Some(Phase::One), Some(IkeVersion::V2))
        );
        assert_eq!(
            class("ikev2-nego-fail-fips"),
            Class::Failure(Some(Pattern::Other))
        );
        assert_eq!(
            class("ikev2-nego-fail-psk"),
            Class::Failure(Some(Pattern::PskMismatch))
        );
        assert_eq!(
            class("ikev2-nego-psk-idtype"),
            Class::Failure(Some(Pattern::IdMismatch))
        );
        assert_eq!(
            class("ikev2-nego-cert-id-mismatch"),
            Class::Failure(Some(Pattern::IdMismatch))
        );
        assert_eq!(class("ikev2-nego-ike-dpd-dn"), Class::DpdDown);
        assert_eq!(class("ikev2-nego-child-simul-fail"), Class::Info);
        let child = lookup("ikev2-nego-child-ts-bad");
        assert_eq!(child.class, Class::Failure(Some(Pattern::ProxyIdMismatch)));
        assert_eq!(child.phase, Some(Phase::Two));
        assert_eq!(
            class("ikev2-nego-child-no-p1"),
            Class::Failure(Some(Pattern::NoPhase1Sa))
        );
        assert_eq!(class("ikev2-nego-ike-succ"), Class::Success);
        assert_eq!(class("ikev2-nego-cert-succ"), Class::Info);
    }

    #[test]
    fn catalog_non_negotiation_ids_are_info() {
        for id in [
            "ike-config-p1-failed",
            "ike-config-p2-abort",
            "ike-generic-event",
            "ipsec-key-install",
            "tunnel-status-down",
            "ike-recv-notify",
            "ikev2-send-p1-delete",
            "something-new",
        ] {
            assert_eq!(lookup(id), INFO, "{id}");
        }
    }

    #[test]
    fn catalog_suffixes_apply_to_unknown_ids() {
        assert_eq!(
            class("ike-nego-p2-rekey-no-p1"),
            Class::Failure(Some(Pattern::NoPhase1Sa))
        );
        assert_eq!(
            class("ike-nego-p1-foo-psk-idtype"),
            Class::Failure(Some(Pattern::IdMismatch))
        );
        assert_eq!(class("ikev2-nego-auth-mismatch"), Class::Failure(None));
        assert_eq!(class("ike-nego-p1-nobad"), Class::Info);
        let phaseless = lookup("ike-nego-fail-new");
        assert_eq!(
            (phaseless.class, phaseless.phase),
            (Class::Failure(None), None)
        );
    }

    #[test]
    fn catalog_unknown_negotiation_failure_is_counted() {
        let e = lookup("ikev2-nego-child-fail-new-reason");
        assert_eq!(e.class, Class::Failure(None));
        assert_eq!(e.phase, Some(Phase::Two));
    }
}
