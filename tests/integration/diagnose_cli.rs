//! The `diagnose` command line as a user runs it: formats, standard input,
//! exit codes and error messages.

use crate::support::{fixture, run};

fn path(rel: &str) -> String {
    fixture(rel).to_str().expect("UTF-8 path").to_owned()
}

#[test]
fn diagnose_text_names_pattern_peer_and_checks() {
    let seed = path("corpus/seed-phase1-patterns.log");
    let out = run(&["diagnose", "--timezone", "Asia/Tokyo", &seed], None);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Device PA-VM"), "{text}");
    assert!(text.contains("Peer 200.100.1.254"), "{text}");
    assert!(
        text.contains(
            "Phase 1 psk_mismatch (gateway gw-to-vpn, IKEv1) at 2021-07-06 18:50:03 +09:00"
        ),
        "{text}"
    );
    assert!(
        text.contains("Peer Address"),
        "the peer_not_configured check is printed: {text}"
    );
    assert!(
        text.contains(
            "Phase 1 gateway gw-to-vpn: DOWN, psk_mismatch at 2021-07-06 18:50:03 +09:00"
        ),
        "{text}"
    );
    assert!(text.contains("Down now"), "{text}");
    assert!(
        text.contains("times without a zone read as Asia/Tokyo"),
        "{text}"
    );
}

#[test]
fn diagnose_json_is_machine_readable() {
    let mixed = path("corpus/mixed-traffic.log");
    let out = run(&["diagnose", "--format", "json", &mixed], None);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["vpn_events"], 27);
    assert_eq!(json["inputs"][0]["lines"], 194);
    assert_eq!(json["down_now"].as_array().unwrap().len(), 4);
    let devices = json["devices"].as_array().unwrap();
    let hq = devices
        .iter()
        .find(|d| d["device"] == "fw-hq")
        .expect("fw-hq");
    let peer = hq["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer"] == "198.51.100.20")
        .unwrap();
    let pfs = peer["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["pattern"] == "pfs_mismatch")
        .unwrap();
    assert_eq!(pfs["phase"], "2");
    assert_eq!(pfs["count"], 1);
    assert!(!pfs["checks"].as_array().unwrap().is_empty());
    let diff = &peer["proposal_mismatches"][0];
    assert_eq!(
        (
            diff["parameter"].as_str(),
            diff["local"].as_str(),
            diff["remote"].as_str()
        ),
        (Some("dh_group"), Some("2"), Some("0"))
    );
}

#[test]
fn diagnose_reads_standard_input() {
    let input = std::fs::read(fixture("corpus/formats.log")).unwrap();
    let out = run(&["diagnose", "--format", "prometheus", "-"], Some(&input));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(r#"ike_exporter_lines_total{source="stdin"} 24"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"ike_phase1_up{device="fw-hq",gateway="gw-branch-a",peer="198.51.100.20"} 1"#
        )
    );
}

#[test]
fn diagnose_unreadable_file_reports_the_rest_and_exits_1() {
    let seed = path("corpus/seed-phase1-patterns.log");
    let out = run(
        &[
            "diagnose",
            "--format",
            "prometheus",
            "/nonexistent/ike.log",
            &seed,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("/nonexistent/ike.log"), "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("ike_phase1_failures_total"),
        "the readable file is reported: {text}"
    );
}

#[test]
fn diagnose_usage_errors_exit_2() {
    assert_eq!(run(&["diagnose"], None).status.code(), Some(2));
    assert_eq!(
        run(&["diagnose", "--format", "xml", "x"], None)
            .status
            .code(),
        Some(2)
    );
    let bad_tz = run(&["diagnose", "--timezone", "Mars/Olympus", "x"], None);
    assert_eq!(bad_tz.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_tz.stderr).contains("Mars/Olympus"));
}

#[test]
fn diagnose_prometheus_output_passes_promtool() {
    let mixed = path("corpus/mixed-traffic.log");
    let out = run(&["diagnose", "--format", "prometheus", &mixed], None);
    crate::support::promtool_check_metrics(&String::from_utf8(out.stdout).unwrap());
}

#[test]
fn diagnose_text_marks_resolved_failures_and_lists_what_is_down() {
    let mixed = path("corpus/mixed-traffic.log");
    let out = run(&["diagnose", &mixed], None);
    let text = String::from_utf8(out.stdout).unwrap();
    let down = text.split("\nDevice ").next().unwrap();
    for line in [
        "fw-hq peer 198.51.100.20: Phase 1 gateway gw-branch-a: dpd_down",
        "fw-hq peer 198.51.100.20: Phase 2 tunnel tun-branch-a: pfs_mismatch",
        "fw-hq peer 203.0.113.5: Phase 2 tunnel tun-partner: proxy_id_mismatch",
        "fw-dc peer unknown: Phase 2 tunnel tun-legacy: no_phase1_sa",
    ] {
        assert!(down.contains(line), "down-now list lacks {line}: {down}");
    }
    assert!(
        !down.contains("gw-partner"),
        "gw-partner came up again: {down}"
    );
    assert!(text.contains("Phase 1 psk_mismatch (gateway gw-partner, IKEv1) at 2024-03-12 09:04:31 +00:00 (resolved: succeeded at 2024-03-12 09:09:03 +00:00)"), "{text}");
    assert!(text.contains("firewall 2, peer 0 (no PFS)"), "{text}");
    assert!(
        text.contains("Phase 1 dpd_down: dead peer detection"),
        "DPD advice: {text}"
    );
}

#[test]
fn diagnose_text_reports_malformed_lines() {
    let malformed = path("corpus/public-malformed.log");
    let out = run(&["diagnose", &malformed], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("malformed lines skipped: csv x1"), "{text}");
}

#[test]
fn diagnose_accepts_fixed_offsets_and_reads_a_file_once() {
    let seed = path("corpus/seed-phase1-patterns.log");
    let out = run(
        &[
            "diagnose",
            "--format",
            "prometheus",
            "--timezone",
            "+09:00",
            &seed,
            &seed,
        ],
        None,
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("given twice"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(r#"pattern="psk_mismatch",peer="200.100.1.254"} 1625565003"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ike_events_total{device="PA-VM",event_id="ike-nego-p1-fail-psk"} 1"#),
        "{text}"
    );
}

#[test]
fn diagnose_output_closed_early_is_not_an_error() {
    use std::process::{Command, Stdio};
    let mixed = path("corpus/mixed-traffic.log");
    let mut child = Command::new(crate::support::exporter::BINARY)
        .args(["diagnose", "--format", "json", &mixed])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    crate::support::assert_success(&out);
}

#[test]
fn diagnose_lang_ja_gives_the_advice_in_japanese() {
    let seed = path("corpus/seed-phase1-patterns.log");
    let out = run(
        &[
            "diagnose",
            "--lang",
            "ja",
            "--timezone",
            "Asia/Tokyo",
            &seed,
        ],
        None,
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let checks = ike_exporter::advice::checks_in(
        ike_exporter::advice::Lang::Ja,
        ike_exporter::ike::Phase::One,
        ike_exporter::ike::Pattern::PskMismatch,
    );
    assert!(checks.iter().all(|c| text.contains(c)), "{text}");
    let json = run(
        &["diagnose", "--lang", "ja", "--format", "json", &seed],
        None,
    );
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let failure = &json["devices"][0]["peers"][0]["failures"][0];
    assert!(
        failure["summary"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c > '\u{3000}'),
        "{failure}"
    );
}
