//! One test per pattern row of design.md §5, plus successes, DPD and the
//! rules where the logs leave room.

use super::*;
use crate::ike::Parameter;

fn event(id: &str, object: &str, description: &str) -> Event {
    classify(&SystemRecord {
        event_id: id.to_owned(),
        object: object.to_owned(),
        description: description.to_owned(),
        device: Some("fw".to_owned()),
        time: None,
    })
}

fn pattern(id: &str, description: &str) -> Outcome {
    event(id, "gw", description).outcome
}

use Outcome::Failure;

#[test]
fn phase1_peer_not_configured() {
    let e = event(
        "ike-nego-p1-fail-common",
        "",
        "IKE phase-1 negotiation is failed. Couldn't find configuration for IKE phase-1 request for peer IP 200.100.1.254[500].",
    );
    assert_eq!(e.outcome, Failure(Pattern::PeerNotConfigured));
    assert_eq!(e.peer.as_deref(), Some("200.100.1.254"));
    assert_eq!(
        (e.phase, e.ike_version),
        (Some(Phase::One), Some(IkeVersion::V1))
    );
}

#[test]
fn phase1_timeout() {
    let e = event(
        "ike-nego-p1-fail",
        "gw-to-vpn",
        "IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 200.100.5.1[500]-200.100.1.254[500] cookie:02f293d180b306a3:0000000000000000. Due to timeout.",
    );
    assert_eq!(e.outcome, Failure(Pattern::Timeout));
    assert_eq!(e.peer.as_deref(), Some("200.100.1.254"));
}

#[test]
fn phase1_proposal_mismatch() {
    let text =
        "IKE phase-1 negotiation is failed. no suitable proposal found in peer's SA payload.";
    assert_eq!(
        pattern("ike-nego-p1-fail-common", text),
        Failure(Pattern::ProposalMismatch)
    );
    assert_eq!(
        pattern(
            "ikev2-nego-ike-fail",
            "IKEv2 IKE SA negotiation is failed. no proposal chosen"
        ),
        Failure(Pattern::ProposalMismatch)
    );
    for id in [
        "ikev2-nego-enc-mismatch",
        "ikev2-nego-integ-mismatch",
        "ikev2-nego-dh-mismatch",
        "ikev2-nego-prf-mismatch",
    ] {
        assert_eq!(pattern(id, ""), Failure(Pattern::ProposalMismatch), "{id}");
    }
}

#[test]
fn phase1_proposal_mismatch_ikev2_detail_and_prefix_gateway() {
    let e = event(
        "ikev2-nego-enc-mismatch",
        "",
        "[IKE-GW-FGT]: Configured encryption algorithm 'AES256-CBC' was not presented in the IKE proposal. Please ensure that matching proposals are configured on both sides.",
    );
    assert_eq!(e.object, "IKE-GW-FGT");
    assert_eq!(e.ike_version, Some(IkeVersion::V2));
    assert_eq!(e.proposal.len(), 1);
    assert_eq!(
        (e.proposal[0].parameter, e.proposal[0].local.as_str()),
        (Parameter::Enctype, "AES256-CBC")
    );
}

#[test]
fn phase1_object_wins_over_prefix() {
    let e = event(
        "ikev2-nego-enc-mismatch",
        "gw-object",
        "[gw-prefix]: Configured encryption algorithm 'X' was not presented",
    );
    assert_eq!(e.object, "gw-object");
}

#[test]
fn phase1_psk_mismatch() {
    let text = "IKE phase-1 negotiation is failed likely due to pre-shared key mismatch.";
    assert_eq!(
        pattern("ike-nego-p1-fail-psk", text),
        Failure(Pattern::PskMismatch)
    );
    assert_eq!(
        pattern("ikev2-nego-fail-psk", ""),
        Failure(Pattern::PskMismatch)
    );
    assert_eq!(
        pattern(
            "ikev2-nego-ike-fail",
            "SA negotiation failed: pre-shared key mismatch"
        ),
        Failure(Pattern::PskMismatch)
    );
    assert_eq!(event("ike-nego-p1-fail-psk", "gw", text).peer, None);
}

#[test]
fn phase1_id_mismatch() {
    assert_eq!(
        pattern("ike-nego-p1-psk-idtype", ""),
        Failure(Pattern::IdMismatch)
    );
    assert_eq!(
        pattern("ikev2-nego-psk-idtype", ""),
        Failure(Pattern::IdMismatch)
    );
    assert_eq!(
        pattern("ike-nego-p1-cert-id-mismatch", ""),
        Failure(Pattern::IdMismatch)
    );
    assert_eq!(
        pattern("ikev2-nego-cert-id-mismatch", ""),
        Failure(Pattern::IdMismatch)
    );
}

#[test]
fn phase1_certificate() {
    assert_eq!(
        pattern(
            "ike-nego-p1-fail-cert",
            "IKE phase-1 negotiation is failed."
        ),
        Failure(Pattern::Certificate)
    );
    assert_eq!(
        pattern("ikev2-nego-fail-cert", ""),
        Failure(Pattern::Certificate)
    );
}

#[test]
fn phase1_authentication() {
    assert_eq!(
        pattern(
            "ikev2-nego-fail-common",
            "IKEv2 SA negotiation is failed. received AUTHENTICATION_FAILED notify"
        ),
        Failure(Pattern::Authentication)
    );
    assert_eq!(
        pattern("ike-nego-p1-fail", "authentication failure"),
        Failure(Pattern::Authentication)
    );
}

#[test]
fn phase1_other() {
    assert_eq!(
        pattern(
            "ike-nego-p1-fail-common",
            "IKE phase-1 negotiation is failed."
        ),
        Failure(Pattern::Other)
    );
    assert_eq!(
        pattern(
            "ikev2-nego-fail-fips",
            "IKEv2 FIPS Security strength check failed."
        ),
        Failure(Pattern::Other)
    );
    assert_eq!(
        pattern("ike-nego-p1-fail-newreason", "something new"),
        Failure(Pattern::Other)
    );
}

#[test]
fn phase2_proxy_id_mismatch() {
    let e = event(
        "ike-nego-p2-proxy-id-bad",
        "tun-partner",
        "IKE phase-2 negotiation failed when processing Proxy ID. Received local id 172.16.20.0/24 type IPv4 address protocol 0 port 0, received remote id 10.10.0.0/16 type IPv4 address protocol 0 port 0.",
    );
    assert_eq!(e.outcome, Failure(Pattern::ProxyIdMismatch));
    let ids = e.proxy_ids.unwrap();
    assert_eq!(
        (ids.local_id.as_str(), ids.remote_id.as_str()),
        ("172.16.20.0/24", "10.10.0.0/16")
    );
    let v2 = event(
        "ikev2-nego-child-ts-bad",
        "t",
        "IKEv2 child SA negotiation failed when processing traffic selector.",
    );
    assert_eq!(v2.outcome, Failure(Pattern::ProxyIdMismatch));
    assert_eq!(v2.proxy_ids, Some(ProxyIds::default()));
    assert_eq!(
        pattern("ike-nego-p2-fail", "failed when processing proxy ID"),
        Failure(Pattern::ProxyIdMismatch)
    );
}

#[test]
fn phase2_proposal_mismatch() {
    assert_eq!(
        pattern("ike-nego-p2-proposal-bad", ""),
        Failure(Pattern::ProposalMismatch)
    );
    assert_eq!(
        pattern("ikev2-nego-child-proposal-bad", ""),
        Failure(Pattern::ProposalMismatch)
    );
    assert_eq!(
        pattern("ike-nego-p2-fail", "no suitable proposal found"),
        Failure(Pattern::ProposalMismatch)
    );
}

#[test]
fn phase2_pfs_mismatch_and_pfs_text_under_proposal_bad() {
    let e = event(
        "ike-nego-p2-fail",
        "tun-branch-a",
        "pfs group mismatched:my: 2peer: 0",
    );
    assert_eq!(e.outcome, Failure(Pattern::PfsMismatch));
    assert_eq!(
        (e.proposal[0].local.as_str(), e.proposal[0].remote.as_str()),
        ("2", "0")
    );
    assert_eq!(e.proposal[0].phase, Phase::Two);
    assert_eq!(
        pattern(
            "ike-nego-p2-proposal-bad",
            "pfs group mismatched:my: 5peer: 14"
        ),
        Failure(Pattern::PfsMismatch)
    );
}

#[test]
fn phase2_timeout() {
    let text = "IKE phase-2 negotiation is failed as initiator, quick mode. Failed SA: 192.0.2.10[500]-198.51.100.20[500] message id:0x1. Due to negotiation timeout.";
    let e = event("ike-nego-p2-fail", "t", text);
    assert_eq!(e.outcome, Failure(Pattern::Timeout));
    assert_eq!(e.phase, Some(Phase::Two));
    assert_eq!(e.peer.as_deref(), Some("198.51.100.20"));
}

#[test]
fn phase2_no_phase1_sa() {
    for id in [
        "ike-nego-p2-no-p1",
        "ike-nego-p2-p1-not-ready",
        "ikev2-nego-child-no-p1",
        "ikev2-nego-child-p1-not-ready",
    ] {
        assert_eq!(pattern(id, ""), Failure(Pattern::NoPhase1Sa), "{id}");
    }
}

#[test]
fn phase2_other() {
    assert_eq!(
        pattern(
            "ikev2-nego-child-fail",
            "IKEv2 child SA negotiation is failed."
        ),
        Failure(Pattern::Other)
    );
}

#[test]
fn successes_and_dpd() {
    for (id, phase) in [
        ("ike-nego-p1-succ", Phase::One),
        ("ikev2-nego-ike-succ", Phase::One),
        ("ike-nego-p2-succ", Phase::Two),
        ("ikev2-nego-child-succ", Phase::Two),
    ] {
        let e = event(id, "x", "");
        assert_eq!(
            (e.outcome, e.phase),
            (Outcome::Success, Some(phase)),
            "{id}"
        );
    }
    assert_eq!(
        pattern(
            "ike-nego-p1-dpd-dn",
            "IKE phase-1 SA is down determined by DPD."
        ),
        Outcome::DpdDown
    );
    assert_eq!(pattern("ikev2-nego-ike-dpd-dn", ""), Outcome::DpdDown);
}

#[test]
fn failure_like_texts_under_info_ids_are_not_failures() {
    assert_eq!(
        pattern("ike-generic-event", "no proposal chosen."),
        Outcome::Info
    );
    assert_eq!(
        pattern(
            "ike-config-p1-failed",
            "IKE daemon configuration load phase-1 failed."
        ),
        Outcome::Info
    );
    assert_eq!(
        pattern("ike-nego-p2-simul-fail", "simultaneous phase-2 rekey"),
        Outcome::Info
    );
    assert_eq!(
        pattern("tunnel-status-down", "Tunnel status change to DOWN."),
        Outcome::Info
    );
}

#[test]
fn pattern_always_belongs_to_its_phase() {
    let texts = [
        "Couldn't find configuration for IKE phase-1 request",
        "pfs group mismatched:my: 2peer: 0",
        "no phase-1 SA",
        "",
    ];
    for id in [
        "ike-nego-p1-fail",
        "ike-nego-p2-fail",
        "ikev2-nego-ike-fail",
        "ikev2-nego-child-fail",
    ] {
        for text in texts {
            let e = event(id, "x", text);
            if let (Failure(p), Some(phase)) = (e.outcome, e.phase) {
                assert!(p.belongs_to(phase), "{id} {text} -> {p:?}");
            }
        }
    }
}

#[test]
fn description_refines_an_unspecific_mismatch_id() {
    assert_eq!(
        pattern(
            "ikev2-nego-auth-mismatch",
            "IKEv2 SA negotiation is failed likely due to pre-shared key mismatch."
        ),
        Failure(Pattern::PskMismatch)
    );
    assert_eq!(
        pattern("ikev2-nego-auth-mismatch", "something new"),
        Failure(Pattern::Other)
    );
}

#[test]
fn phaseless_ikev1_failure_takes_its_phase_from_the_text() {
    let p2 = event(
        "ike-nego-fail-new",
        "t",
        "IKE phase-2 negotiation is failed. Due to negotiation timeout.",
    );
    assert_eq!(
        (p2.phase, p2.outcome),
        (Some(Phase::Two), Failure(Pattern::Timeout))
    );
    let p1 = event("ike-nego-fail-new", "g", "something odd");
    assert_eq!(
        (p1.phase, p1.outcome),
        (Some(Phase::One), Failure(Pattern::Other))
    );
}

#[test]
fn peer_ip_is_matched_case_insensitively() {
    let e = event(
        "ike-nego-p1-fail-common",
        "",
        "Couldn't find configuration for IKE phase-1 request for peer ip 203.0.113.5[500].",
    );
    assert_eq!(e.peer.as_deref(), Some("203.0.113.5"));
    let no_port = event(
        "ike-nego-p1-fail-common",
        "",
        "... for peer IP 2001:db8::5.",
    );
    assert_eq!(no_port.peer.as_deref(), Some("2001:db8::5"));
}
