//! What to check for each failure pattern: the troubleshooting guide of
//! design.md §1 and the Phase 2 checks, in one place, for `diagnose`, the
//! README and (later) the alert annotations and runbook.

use crate::ike::{Pattern, Phase};

/// One-line summary of a pattern.
pub fn summary(phase: Phase, pattern: Pattern) -> &'static str {
    match (phase, pattern) {
        (_, Pattern::PeerNotConfigured) => "the firewall has no IKE gateway for this peer address",
        (Phase::One, Pattern::Timeout) => "the peer did not answer the Phase 1 negotiation",
        (Phase::Two, Pattern::Timeout) => "the peer did not answer the Phase 2 negotiation",
        (Phase::One, Pattern::ProposalMismatch) => {
            "no Phase 1 (IKE) proposal acceptable to both sides"
        }
        (Phase::Two, Pattern::ProposalMismatch) => {
            "no Phase 2 (IPsec) proposal acceptable to both sides"
        }
        (_, Pattern::PskMismatch) => "the pre-shared keys differ",
        (_, Pattern::IdMismatch) => "the IKE identities do not match",
        (_, Pattern::Certificate) => "certificate authentication failed",
        (_, Pattern::Authentication) => "authentication failed",
        (_, Pattern::ProxyIdMismatch) => "the proxy IDs (traffic selectors) differ",
        (_, Pattern::PfsMismatch) => "the PFS DH groups differ",
        (_, Pattern::NoPhase1Sa) => "Phase 2 was requested but no Phase 1 SA is up",
        (Phase::One, Pattern::Other) => "another Phase 1 failure",
        (Phase::Two, Pattern::Other) => "another Phase 2 failure",
    }
}

/// The concrete checks for a pattern, in order.
pub fn checks(phase: Phase, pattern: Pattern) -> &'static [&'static str] {
    match (phase, pattern) {
        (_, Pattern::PeerNotConfigured) => &[
            "Check Network > Network Profiles > IKE Gateways > Peer Address on the firewall: it must be the peer's address. The peer device needs no check.",
            "If the address is not one of your VPN peers, this is an internet scanner probing UDP 500: no action is needed.",
        ],
        (Phase::One, Pattern::Timeout) => &[
            "From the firewall CLI: ping source <local IP> host <peer IP>.",
            "Look for a security policy (untrust to untrust) that denies the traffic; allow the applications ike and ipsec. Make the same check on the peer.",
            "Check the Phase 1 parameters (peer address, IKE version, exchange mode) on the firewall, then on the peer.",
        ],
        (Phase::One, Pattern::ProposalMismatch) => &[
            "Compare the IKE Crypto profile (DH group, encryption, authentication, lifetime) with the peer's Phase 1 proposal.",
            "On the firewall: debug ike global on debug, reproduce, then less mp-log ikemgr.log and find 'Compared: DB:Peer': each line is parameter = firewall:peer, and 'rejected …' names the culprit. Afterwards: debug ike global on normal.",
        ],
        (_, Pattern::PskMismatch) => &[
            "Re-enter the pre-shared key on the firewall (Network > Network Profiles > IKE Gateways > the gateway > Pre-shared Key).",
            "Then re-enter the same key on the peer.",
        ],
        (_, Pattern::IdMismatch) => &[
            "Compare Local Identification and Peer Identification of the IKE gateway (type and value) with the peer's own and expected IDs.",
            "With a pre-shared key in IKEv1 main mode the peer ID must be an IP address.",
        ],
        (_, Pattern::Certificate) => &[
            "Check the local certificate and the certificate profile of the IKE gateway on the firewall.",
            "Check that the peer's certificate is valid, not expired, and issued by a CA the certificate profile trusts.",
        ],
        (_, Pattern::Authentication) => &[
            "Check that both sides use the same authentication method (pre-shared key or certificate) and the same key or trusted certificates.",
            "less mp-log ikemgr.log shows which side rejected the authentication.",
        ],
        (Phase::One, Pattern::Other) => &[
            "Read the event's description in Monitor > Logs > System with the filter (subtype eq vpn).",
            "show vpn ike-sa gateway <gateway>; less mp-log ikemgr.log for the detail.",
        ],
        (_, Pattern::ProxyIdMismatch) => &[
            "Compare Network > IPSec Tunnels > the tunnel > Proxy IDs (local, remote, protocol) with the peer's encryption domain: they must mirror each other exactly.",
            "A policy-based peer needs one proxy ID per local/remote subnet pair it proposes.",
        ],
        (Phase::Two, Pattern::ProposalMismatch) => &[
            "Compare the IPSec Crypto profile (ESP encryption, authentication, DH group, lifetime) with the peer's Phase 2 proposal.",
            "less mp-log ikemgr.log shows the parameter that was rejected.",
        ],
        (_, Pattern::PfsMismatch) => &[
            "Set the same PFS DH group on both sides: IPSec Crypto profile > DH Group on the firewall (no-pfs only when the peer has PFS off).",
        ],
        (Phase::Two, Pattern::Timeout) => &[
            "Check that Phase 1 is up: show vpn ike-sa gateway <gateway>.",
            "Check that ESP (IP protocol 50), or UDP 4500 with NAT traversal, passes between the peers, and the peer's Phase 2 settings.",
            "test vpn ipsec-sa tunnel <tunnel> starts a negotiation to watch.",
        ],
        (_, Pattern::NoPhase1Sa) => &[
            "Phase 1 is not up: fix it first (show vpn ike-sa, test vpn ike-sa gateway <gateway>).",
            "If the peer keeps a stale Phase 1 SA after a rekey or reboot, clear it on the peer.",
        ],
        (Phase::Two, Pattern::Other) => &[
            "Read the event's description in Monitor > Logs > System with the filter (subtype eq vpn).",
            "show vpn ipsec-sa tunnel <tunnel>; less mp-log ikemgr.log for the detail.",
        ],
    }
}

/// Summary for a Phase 1 SA that dead peer detection declared down.
pub const DPD_DOWN_SUMMARY: &str = "dead peer detection declared the peer unreachable";

/// Checks for a Phase 1 SA that dead peer detection declared down.
pub const DPD_DOWN_CHECKS: &[&str] = &[
    "Check that the peer is up and answers: from the firewall CLI, ping source <local IP> host <peer IP>.",
    "Check the path between the peers (ISP links, NAT devices and firewalls in between) for loss of UDP 500 and 4500.",
    "Compare the DPD interval and retries on both sides (IKE Gateways > the gateway > Advanced Options > Dead Peer Detection).",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_exists_for_every_pattern_of_each_phase() {
        for phase in [Phase::One, Phase::Two] {
            for pattern in Pattern::ALL.into_iter().filter(|p| p.belongs_to(phase)) {
                assert!(!checks(phase, pattern).is_empty(), "{phase:?} {pattern:?}");
                assert!(!summary(phase, pattern).is_empty());
            }
        }
    }
}
