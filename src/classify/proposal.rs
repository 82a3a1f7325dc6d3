//! Failure details in SYSTEM descriptions: which proposal parameter differed
//! and how, and which proxy IDs the peer proposed.

use std::sync::LazyLock;

use regex::Regex;

use crate::ike::{Parameter, Phase, ProposalDiff};

static MISMATCHED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)([a-z_]+(?: [a-z]+)?) mismatched: *my: *(\S+?) *peer: *(\S+?)\.?(?:\s|$)")
        .expect("static regex compiles")
});
static NOT_PRESENTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)configured ([a-z0-9 -]+?)(?: algorithm| group)? ['‘’]([^'‘’]*)['‘’] was not presented")
        .expect("static regex compiles")
});
static PROXY_IDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)received local id (\S+?),? .*received remote id (\S+?)[,.]?(?:\s|$)")
        .expect("static regex compiles")
});

/// The proxy IDs of a proxy-ID mismatch, as printed; empty when not named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyIds {
    pub local_id: String,
    pub remote_id: String,
}

/// Proposal differences a description states (`pfs group mismatched:my: 2peer: 0`,
/// IKEv2 `Configured encryption algorithm 'AES256-CBC' was not presented …`).
pub fn proposal_diffs(phase: Phase, description: &str) -> Vec<ProposalDiff> {
    let mut diffs = Vec::new();
    for caps in MISMATCHED.captures_iter(description) {
        if let Some(parameter) = Parameter::from_log_name(&caps[1]) {
            diffs.push(ProposalDiff {
                phase,
                parameter,
                local: caps[2].to_owned(),
                remote: caps[3].to_owned(),
            });
        }
    }
    for caps in NOT_PRESENTED.captures_iter(description) {
        if let Some(parameter) = Parameter::from_log_name(&caps[1]) {
            diffs.push(ProposalDiff {
                phase,
                parameter,
                local: caps[2].to_owned(),
                remote: String::new(),
            });
        }
    }
    // One difference per parameter: a text cannot multiply series by
    // repeating a clause.
    let mut seen = Vec::new();
    diffs.retain(|d| {
        let first = !seen.contains(&d.parameter);
        seen.push(d.parameter);
        first
    });
    diffs
}

/// The proxy IDs of an IKEv1 `Received local id … received remote id …` text.
pub fn proxy_ids(description: &str) -> ProxyIds {
    PROXY_IDS
        .captures(description)
        .map(|caps| ProxyIds {
            local_id: caps[1].to_owned(),
            remote_id: caps[2].to_owned(),
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposal_pfs_text_from_pan_table() {
        let diffs = proposal_diffs(Phase::Two, "pfs group mismatched:my: 2peer: 0");
        assert_eq!(
            diffs,
            [ProposalDiff {
                phase: Phase::Two,
                parameter: Parameter::DhGroup,
                local: "2".into(),
                remote: "0".into()
            }]
        );
    }

    #[test]
    fn proposal_racoon_spacing() {
        let diffs = proposal_diffs(Phase::Two, "lifetime mismatched: my:3600 peer:28800.");
        assert_eq!(
            (diffs[0].parameter, diffs[0].remote.as_str()),
            (Parameter::Lifetime, "28800")
        );
    }

    #[test]
    fn proposal_ikev2_not_presented() {
        let text = "Configured encryption algorithm 'AES256-CBC' was not presented in the IKE proposal. Please ensure …";
        let diffs = proposal_diffs(Phase::One, text);
        assert_eq!(diffs.len(), 1);
        assert_eq!(
            (
                diffs[0].parameter,
                diffs[0].local.as_str(),
                diffs[0].remote.as_str()
            ),
            (Parameter::Enctype, "AES256-CBC", "")
        );
        let curly = proposal_diffs(
            Phase::One,
            "Configured encryption algorithm ‘AES256-CBC’ was not presented",
        );
        assert_eq!(curly[0].local, "AES256-CBC");
        let dh = proposal_diffs(
            Phase::One,
            "Configured DH group 'group20' was not presented in the IKE proposal.",
        );
        assert_eq!(dh[0].parameter, Parameter::DhGroup);
    }

    #[test]
    fn proposal_one_difference_per_parameter() {
        let text = "pfs group mismatched: my:1 peer:2 pfs group mismatched: my:3 peer:4 lifetime mismatched: my:5 peer:6";
        let diffs = proposal_diffs(Phase::Two, text);
        assert_eq!(diffs.len(), 2);
        assert_eq!(diffs[0].local, "1");
    }

    #[test]
    fn proposal_unknown_parameter_is_skipped() {
        assert!(proposal_diffs(Phase::Two, "spisize mismatched: my:4 peer:8").is_empty());
    }

    #[test]
    fn proxy_ids_ikev1_text() {
        let text = "IKE phase-2 negotiation failed when processing Proxy ID. Received local id 172.16.20.0/24 type IPv4 address protocol 0 port 0, received remote id 10.10.0.0/16 type IPv4 address protocol 0 port 0.";
        assert_eq!(
            proxy_ids(text),
            ProxyIds {
                local_id: "172.16.20.0/24".into(),
                remote_id: "10.10.0.0/16".into()
            }
        );
    }

    #[test]
    fn proxy_ids_absent_are_empty() {
        assert_eq!(
            proxy_ids("IKEv2 child SA negotiation failed when processing traffic selector."),
            ProxyIds::default()
        );
    }
}
