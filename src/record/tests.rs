//! The record stage: peer resolution, the cardinality guard and the `*_up`
//! rules of design.md §4 and §5, checked through the exposition.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::classify::classify;
use crate::parse::SystemRecord;

fn recorder(config: RecordConfig) -> (Recorder, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    (Recorder::new(Arc::clone(&metrics), config), metrics)
}

fn event(id: &str, object: &str, description: &str) -> Event {
    classify(&SystemRecord {
        event_id: id.to_owned(),
        object: object.to_owned(),
        description: description.to_owned(),
        device: None,
        time: None,
    })
}

fn timeout_from(peer: &str) -> Event {
    event(
        "ike-nego-p1-fail",
        "gw",
        &format!("Failed SA: 192.0.2.1[500]-{peer}[500] cookie:1:0. Due to timeout."),
    )
}

fn sample(metrics: &Metrics, prefix: &str) -> Vec<String> {
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[test]
fn record_peers_beyond_max_fold_into_other_and_count() {
    let config = RecordConfig {
        max_peers: 3,
        peers: vec!["10.0.0.99".into()],
        ..Default::default()
    };
    let (mut rec, metrics) = recorder(config);
    for i in 0..10 {
        rec.record_event(&timeout_from(&format!("10.0.0.{i}")), "fw", 1.0);
    }
    rec.record_event(&timeout_from("10.0.0.99"), "fw", 1.0);
    let failures = sample(&metrics, "ike_phase1_failures_total");
    let peers: Vec<&str> = failures
        .iter()
        .map(|l| {
            l.split("peer=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        peers.len(),
        5,
        "3 peers, the configured one, and other: {failures:?}"
    );
    assert!(
        failures
            .iter()
            .any(|l| l.contains("peer=\"other\"") && l.ends_with(" 7"))
    );
    assert!(failures.iter().any(|l| l.contains("peer=\"10.0.0.99\"")));
    assert_eq!(
        sample(&metrics, "ike_exporter_label_overflow_total"),
        [r#"ike_exporter_label_overflow_total{label="peer"} 7"#]
    );
}

#[test]
fn record_objects_beyond_max_fold_into_other() {
    let (mut rec, metrics) = recorder(RecordConfig {
        max_objects: 1,
        ..Default::default()
    });
    rec.record_event(&event("ike-nego-p2-succ", "tun-a", ""), "fw", 1.0);
    rec.record_event(&event("ike-nego-p2-succ", "tun-b", ""), "fw", 1.0);
    let ups = sample(&metrics, "ike_phase2_up");
    assert!(
        ups.iter().any(|l| l.contains("tunnel=\"other\"")),
        "{ups:?}"
    );
    assert_eq!(
        sample(&metrics, "ike_exporter_label_overflow_total"),
        [r#"ike_exporter_label_overflow_total{label="tunnel"} 1"#]
    );
}

#[test]
fn record_configured_gateway_map_wins_over_learned_peer() {
    let gateways = HashMap::from([("gw".to_owned(), "203.0.113.1".to_owned())]);
    let (mut rec, _) = recorder(RecordConfig {
        gateways,
        ..Default::default()
    });
    rec.record_event(&timeout_from("198.51.100.1"), "fw", 1.0);
    let psk = event(
        "ike-nego-p1-fail-psk",
        "gw",
        "likely due to pre-shared key mismatch.",
    );
    assert_eq!(rec.record_event(&psk, "fw", 2.0).peer, "203.0.113.1");
}

#[test]
fn record_learned_peer_is_per_device_and_object() {
    let (mut rec, _) = recorder(RecordConfig::default());
    rec.record_event(&timeout_from("198.51.100.1"), "fw1", 1.0);
    let psk = event(
        "ike-nego-p1-fail-psk",
        "gw",
        "likely due to pre-shared key mismatch.",
    );
    assert_eq!(rec.record_event(&psk, "fw1", 2.0).peer, "198.51.100.1");
    assert_eq!(rec.record_event(&psk, "fw2", 2.0).peer, "unknown");
}

#[test]
fn record_up_gauge_follows_the_newest_outcome_not_read_order() {
    let (mut rec, metrics) = recorder(RecordConfig::default());
    let success = event(
        "ike-nego-p1-succ",
        "gw",
        "Established SA: 192.0.2.1[500]-198.51.100.1[500] x",
    );
    rec.record_event(&success, "fw", 20.0);
    rec.record_event(&timeout_from("198.51.100.1"), "fw", 10.0);
    assert_eq!(
        sample(&metrics, "ike_phase1_up"),
        [r#"ike_phase1_up{device="fw",gateway="gw",peer="198.51.100.1"} 1"#]
    );
    let last = sample(&metrics, "ike_phase1_last_failure_timestamp_seconds");
    assert!(last[0].ends_with(" 10"), "{last:?}");
}

#[test]
fn record_last_failure_timestamp_keeps_the_maximum() {
    let (mut rec, metrics) = recorder(RecordConfig::default());
    rec.record_event(&timeout_from("198.51.100.1"), "fw", 30.5);
    rec.record_event(&timeout_from("198.51.100.1"), "fw", 20.0);
    let last = sample(&metrics, "ike_phase1_last_failure_timestamp_seconds");
    assert!(last[0].ends_with(" 30.5"), "{last:?}");
}

#[test]
fn record_peer_not_configured_creates_no_up_series() {
    let (mut rec, metrics) = recorder(RecordConfig::default());
    let scan = event(
        "ike-nego-p1-fail-common",
        "",
        "Couldn't find configuration for IKE phase-1 request for peer IP 198.51.100.250[500].",
    );
    let obs = rec.record_event(&scan, "fw", 1.0);
    assert_eq!(
        (obs.object.as_str(), obs.peer.as_str()),
        ("", "198.51.100.250")
    );
    assert!(sample(&metrics, "ike_phase1_up").is_empty());
    assert_eq!(sample(&metrics, "ike_phase1_failures_total").len(), 1);
}

#[test]
fn record_dpd_down_sets_up_to_zero_without_a_failure() {
    let (mut rec, metrics) = recorder(RecordConfig::default());
    let success = event(
        "ike-nego-p1-succ",
        "gw",
        "Established SA: 192.0.2.1[500]-198.51.100.1[500] x",
    );
    rec.record_event(&success, "fw", 1.0);
    rec.record_event(
        &event(
            "ike-nego-p1-dpd-dn",
            "gw",
            "IKE phase-1 SA is down determined by DPD.",
        ),
        "fw",
        2.0,
    );
    assert_eq!(
        sample(&metrics, "ike_phase1_up"),
        [r#"ike_phase1_up{device="fw",gateway="gw",peer="198.51.100.1"} 0"#]
    );
    assert!(sample(&metrics, "ike_phase1_failures_total").is_empty());
}

#[test]
fn record_label_values_are_sanitised() {
    let (mut rec, metrics) = recorder(RecordConfig::default());
    let long = "x".repeat(100);
    let obs = rec.record_event(
        &event("ike-nego-p2-succ", &format!("tun\n\"{long}"), ""),
        "fw\u{7}",
        1.0,
    );
    assert_eq!(obs.device, "fw_");
    assert!(obs.object.starts_with("tun_\"x") && obs.object.len() == 64);
    assert!(metrics.encode().contains(r#"tunnel="tun_\"xxx"#));
}

#[test]
fn record_event_ids_are_capped() {
    let (mut rec, metrics) = recorder(RecordConfig {
        max_event_ids: 2,
        ..Default::default()
    });
    for id in ["a", "b", "c", "d"] {
        rec.record_event(&event(id, "", ""), "fw", 1.0);
    }
    let events = sample(&metrics, "ike_events_total");
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events
            .iter()
            .any(|l| l.contains(r#"event_id="other""#) && l.ends_with(" 2"))
    );
}

#[test]
fn record_reconfigure_keeps_series_and_applies_the_new_map() {
    let (mut rec, metrics) = recorder(RecordConfig {
        max_peers: 1,
        ..Default::default()
    });
    rec.record_event(&timeout_from("198.51.100.1"), "fw", 1.0);
    let gateways = HashMap::from([("gw".to_owned(), "203.0.113.7".to_owned())]);
    rec.reconfigure(RecordConfig {
        max_peers: 1,
        gateways,
        ..Default::default()
    });
    let psk = event(
        "ike-nego-p1-fail-psk",
        "gw",
        "likely due to pre-shared key mismatch.",
    );
    assert_eq!(
        rec.record_event(&psk, "fw", 2.0).peer,
        "203.0.113.7",
        "configured peers are always tracked"
    );
    assert_eq!(
        rec.record_event(&timeout_from("198.51.100.1"), "fw", 3.0)
            .peer,
        "198.51.100.1"
    );
    assert!(
        sample(&metrics, "ike_phase1_failures_total")
            .iter()
            .any(|l| l.contains("198.51.100.1") && l.ends_with(" 2"))
    );
}

#[test]
fn record_gateway_peer_pairs_are_bounded_not_just_each_label() {
    let (mut rec, metrics) = recorder(RecordConfig {
        max_peers: 10,
        max_objects: 10,
        ..Default::default()
    });
    for g in 0..10 {
        for p in 0..10 {
            let e = event(
                "ike-nego-p1-fail",
                &format!("gw{g}"),
                &format!("Failed SA: 192.0.2.1[500]-10.0.0.{p}[500] x. Due to timeout."),
            );
            rec.record_event(&e, "fw", 1.0);
        }
    }
    let series = sample(&metrics, "ike_phase1_failures_total");
    assert!(series.len() <= 21, "{} series", series.len());
    assert!(
        series
            .iter()
            .any(|l| l.contains(r#"gateway="other""#) && l.contains(r#"peer="other""#))
    );
    let total: f64 = series
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 100.0, "every event still counted");
    assert!(
        sample(&metrics, "ike_exporter_label_overflow_total")
            .iter()
            .any(|l| l.contains(r#"label="series""#))
    );
}

#[test]
fn record_proposal_values_from_the_peer_are_capped() {
    let (mut rec, metrics) = recorder(RecordConfig {
        max_objects: 5,
        ..Default::default()
    });
    for i in 0..50 {
        let e = event(
            "ike-nego-p2-fail",
            "tun",
            &format!("pfs group mismatched: my:{i} peer:{}", i + 1),
        );
        rec.record_event(&e, "fw", 1.0);
    }
    let series = sample(&metrics, "ike_proposal_mismatches_total");
    assert!(series.len() <= 10, "{series:?}");
    assert!(series.iter().any(|l| l.contains(r#"local="other""#)));
}

#[test]
fn record_devices_are_capped() {
    let (mut rec, metrics) = recorder(RecordConfig {
        max_devices: 2,
        ..Default::default()
    });
    for d in ["fw1", "fw2", "forged-1", "forged-2"] {
        rec.record_event(&event("ike-nego-p1-start", "gw", ""), d, 1.0);
    }
    let events = sample(&metrics, "ike_events_total");
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events
            .iter()
            .any(|l| l.contains(r#"device="other""#) && l.ends_with(" 2"))
    );
    assert!(
        sample(&metrics, "ike_exporter_label_overflow_total")
            .iter()
            .any(|l| l.contains(r#"label="device""#))
    );
}
