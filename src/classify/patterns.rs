//! Description patterns: the failure pattern a text names (catalog.md §4).
//!
//! Many texts are recalled or inferred rather than verified, so matching keys
//! on stable fragments, case-insensitively, with `'`/`’`, `phase-1`/`phase 1`
//! and a missing final period all accepted, after the 11.x `[gateway]: `
//! prefix is removed.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use crate::ike::{Pattern, Phase};

/// Fragments per phase, most specific first; the first match wins.
const PHASE1: &[(Pattern, &str)] = &[
    (
        Pattern::PeerNotConfigured,
        r"couldn.t find configuration for ike phase.1 request",
    ),
    (Pattern::PskMismatch, r"pre.shared key mismatch"),
    (
        Pattern::IdMismatch,
        r"peer.id must be type ip address|\bid mismatch|\bike id\b.*\bmismatch",
    ),
    (
        Pattern::Certificate,
        r"certificate authentication failed|certificate (validation|verification) fail",
    ),
    (
        Pattern::Authentication,
        r"authentication failure|authentication_failed|authentication failed",
    ),
    (Pattern::Timeout, r"due to (negotiation )?timeout"),
    (
        Pattern::ProposalMismatch,
        r"no suitable proposal|unable to process peer.s sa payload|no.proposal.chosen|was not presented in the ike proposal|when processing sa payload",
    ),
];

const PHASE2: &[(Pattern, &str)] = &[
    (Pattern::PfsMismatch, r"pfs group mismatched"),
    (
        Pattern::ProxyIdMismatch,
        r"when processing proxy.id|traffic selector|ts_unacceptable|invalid_id_information",
    ),
    (Pattern::NoPhase1Sa, r"no (active )?(phase.1|ike) sa"),
    (Pattern::Timeout, r"due to (negotiation )?timeout"),
    (
        Pattern::ProposalMismatch,
        r"no suitable proposal|unable to process peer.s sa payload|no.proposal.chosen|when processing sa payload",
    ),
];

fn build(table: &[(Pattern, &str)]) -> RegexSet {
    RegexSet::new(table.iter().map(|(_, re)| *re)).expect("static patterns compile")
}

static SET1: LazyLock<RegexSet> = LazyLock::new(|| build(PHASE1));
static SET2: LazyLock<RegexSet> = LazyLock::new(|| build(PHASE2));
static GATEWAY_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\[([^\]]{1,255})\]:\s*").expect("static regex compiles"));

/// A description made ready for matching: the 11.x prefix split off,
/// lower-cased, typographic apostrophes made plain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The gateway named by a `[name]: ` prefix.
    pub gateway_prefix: Option<String>,
    /// The normalised text.
    pub normalised: String,
}

/// Normalises a description.
pub fn normalise(description: &str) -> Text {
    // Only a text starting with `[` can have a prefix: skip the regex otherwise.
    let prefix = if description.trim_start().starts_with('[') {
        GATEWAY_PREFIX.captures(description)
    } else {
        None
    };
    let (gateway_prefix, body) = match prefix {
        Some(caps) => (Some(caps[1].to_owned()), &description[caps[0].len()..]),
        None => (None, description),
    };
    // PAN-OS writes ASCII: lowercase it in place, and leave Unicode case
    // folding and typographic quotes to the rare text that needs them.
    let normalised = if body.is_ascii() {
        let mut text = body.to_ascii_lowercase();
        if text.contains('`') {
            text = text.replace('`', "'");
        }
        text
    } else {
        body.to_lowercase()
            .replace(['\u{2019}', '\u{2018}', '`'], "'")
    };
    Text {
        gateway_prefix,
        normalised,
    }
}

/// The pattern a normalised description names for `phase`, if any.
pub fn from_description(phase: Phase, text: &str) -> Option<Pattern> {
    let (set, table) = match phase {
        Phase::One => (&*SET1, PHASE1),
        Phase::Two => (&*SET2, PHASE2),
    };
    set.matches(text).iter().next().map(|i| table[i].0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p1(text: &str) -> Option<Pattern> {
        from_description(Phase::One, &normalise(text).normalised)
    }

    fn p2(text: &str) -> Option<Pattern> {
        from_description(Phase::Two, &normalise(text).normalised)
    }

    #[test]
    fn patterns_peer_not_configured_seed_and_pan_table_spellings() {
        assert_eq!(
            p1(
                "IKE phase-1 negotiation is failed. Couldn't find configuration for IKE phase-1 request for peer IP 200.100.1.254[500]."
            ),
            Some(Pattern::PeerNotConfigured)
        );
        assert_eq!(
            p1(
                "IKE phase 1 negotiation is failed. Couldn\u{2019}t find configuration for IKE phase 1 request for peer IP x.x.x.x[1929]"
            ),
            Some(Pattern::PeerNotConfigured)
        );
    }

    #[test]
    fn patterns_timeout_spellings() {
        assert_eq!(
            p1("… cookie:02f2:0000. Due to timeout."),
            Some(Pattern::Timeout)
        );
        assert_eq!(
            p1("… cookie:8422:0000 due to timeout."),
            Some(Pattern::Timeout)
        );
        assert_eq!(
            p2("… message id:0x1. Due to negotiation timeout."),
            Some(Pattern::Timeout)
        );
    }

    #[test]
    fn patterns_proposal_mismatch_texts() {
        for text in [
            "IKE phase-1 negotiation is failed. no suitable proposal found in peer\u{2019}s SA payload.",
            "IKE phase-1 negotiation is failed. Unable to process peer's SA payload.",
            "Received unencrypted notify payload (no proposal chosen) from IP x",
            "[IKE-GW-FGT]: Configured encryption algorithm 'AES256-CBC' was not presented in the IKE proposal.",
        ] {
            assert_eq!(p1(text), Some(Pattern::ProposalMismatch), "{text}");
        }
        assert_eq!(
            p2("IKE phase-2 negotiation failed when processing SA payload."),
            Some(Pattern::ProposalMismatch)
        );
    }

    #[test]
    fn patterns_authentication_family() {
        assert_eq!(
            p1("IKE phase-1 negotiation is failed likely due to pre-shared key mismatch."),
            Some(Pattern::PskMismatch)
        );
        assert_eq!(
            p1("When pre-shared key is used peer-ID must be type IP address."),
            Some(Pattern::IdMismatch)
        );
        assert_eq!(
            p1("IKEv2 certificate authentication failed."),
            Some(Pattern::Certificate)
        );
        assert_eq!(
            p1("x[500] - y[500]:0x7fa6 authentication failure"),
            Some(Pattern::Authentication)
        );
        assert_eq!(
            p1("received AUTHENTICATION_FAILED notify"),
            Some(Pattern::Authentication)
        );
    }

    #[test]
    fn patterns_phase2_texts() {
        assert_eq!(
            p2("pfs group mismatched:my: 2peer: 0"),
            Some(Pattern::PfsMismatch)
        );
        assert_eq!(
            p2("IKE phase-2 negotiation failed when processing Proxy ID. Received local id 1/24"),
            Some(Pattern::ProxyIdMismatch)
        );
        assert_eq!(
            p2("IKEv2 child SA negotiation failed when processing traffic selector."),
            Some(Pattern::ProxyIdMismatch)
        );
        assert_eq!(
            p2("IKE phase-2 negotiation request received but no phase-1 SA is found."),
            Some(Pattern::NoPhase1Sa)
        );
        assert_eq!(
            p2("IKEv2 child SA negotiation request received but no active IKE SA is available."),
            Some(Pattern::NoPhase1Sa)
        );
    }

    #[test]
    fn patterns_gateway_prefix_is_split_off() {
        let t = normalise(
            "[IKE-GW-FGT]: Configured encryption algorithm 'AES256-CBC' was not presented",
        );
        assert_eq!(t.gateway_prefix.as_deref(), Some("IKE-GW-FGT"));
        assert!(t.normalised.starts_with("configured encryption"));
    }

    #[test]
    fn patterns_unrelated_text_matches_nothing() {
        assert_eq!(p1("IKE phase-1 negotiation is failed."), None);
        assert_eq!(
            p2("IKE protocol IPSec SA delete message sent to peer."),
            None
        );
    }
}
