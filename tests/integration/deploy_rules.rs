//! The deploy files pass the real tools that read them: `promtool` (rules,
//! rule unit tests, Prometheus configuration), `amtool` (Alertmanager
//! configuration and routing) and `yamllint`; and `alerts.yml` has every alert
//! the issue asks for, each with its annotations and unit tests, over metrics
//! the exporter really has.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use ike_exporter::metrics::DEFINITIONS;
use serde_norway::Value;

use crate::support::{root, tool};

const ALERTS: &str = "deploy/prometheus/alerts.yml";
const ALERTS_TEST: &str = "deploy/prometheus/alerts_test.yml";
const PROMETHEUS: &str = "deploy/prometheus/prometheus.yml";
const ALERTMANAGER: &str = "deploy/alertmanager/alertmanager.yml";

/// The alerts the issue requires.
const REQUIRED: &[&str] = &[
    "IkePhase1PeerNotConfigured",
    "IkePhase1Timeout",
    "IkePhase1ProposalMismatch",
    "IkePhase1PskMismatch",
    "IkePhase1AuthenticationFailure",
    "IkePhase2ProxyIdMismatch",
    "IkePhase2ProposalMismatch",
    "IkePhase2PfsMismatch",
    "IkePhase2Timeout",
    "IkePhase2NoPhase1Sa",
    "IkeProposalParameterMismatch",
    "IkeTunnelDown",
    "IkeExporterDown",
    "IkeExporterNoLogs",
    "IkeExporterParseErrors",
    "IkeExporterSyslogDrops",
    "IkeExporterLabelOverflow",
    "IkeExporterConfigReloadFailed",
];

const RUNBOOK: &str = "https://github.com/ike-exporter/ike_exporter/blob/main/docs/runbook.md#";

/// Runs `program args…` in the repository root and asserts success, showing
/// the tool's output otherwise.
fn run_ok(program: &Path, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("{} starts: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} {} failed ({}):\n{}{}",
        program.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn yaml(rel: &str) -> Value {
    let text = std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Every alerting rule of alerts.yml (an alert may have several rules).
fn alert_rules() -> Vec<Value> {
    let doc = yaml(ALERTS);
    let groups = doc["groups"].as_sequence().expect("groups");
    groups
        .iter()
        .flat_map(|g| g["rules"].as_sequence().expect("rules").iter().cloned())
        .filter(|r| r.get("alert").is_some())
        .collect()
}

#[test]
fn promtool_checks_the_alert_rules() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let out = run_ok(&promtool, &["check", "rules", ALERTS]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));
}

#[test]
fn promtool_unit_tests_of_the_alert_rules_pass() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let out = run_ok(&promtool, &["test", "rules", ALERTS_TEST]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));
}

#[test]
fn promtool_checks_the_prometheus_config_and_its_rule_files() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let out = run_ok(&promtool, &["check", "config", PROMETHEUS]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("1 rule files found") && stdout.contains("alerts.yml"),
        "prometheus.yml loads alerts.yml:\n{stdout}"
    );
}

#[test]
fn prometheus_config_scrapes_the_exporter_and_sends_to_alertmanager() {
    let doc = yaml(PROMETHEUS);
    let jobs = doc["scrape_configs"].as_sequence().expect("scrape_configs");
    let ike = jobs
        .iter()
        .find(|j| str_of(j, "job_name") == Some("ike"))
        .expect("a scrape job named ike (IkeExporterDown matches up{job=\"ike\"})");
    assert_eq!(
        ike["static_configs"][0]["targets"][0].as_str(),
        Some("ike_exporter:9765")
    );
    assert_eq!(
        doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0].as_str(),
        Some("alertmanager:9093")
    );
}

#[test]
fn amtool_checks_the_alertmanager_config() {
    let Some(amtool) = tool("amtool") else {
        return;
    };
    let out = run_ok(&amtool, &["check-config", ALERTMANAGER]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));
}

#[test]
fn alertmanager_routes_alerts_by_severity() {
    let Some(amtool) = tool("amtool") else {
        return;
    };
    let config = format!("--config.file={ALERTMANAGER}");
    for (receiver, labels) in [
        (
            "pager",
            ["alertname=IkeTunnelDown", "severity=critical", "phase=1"],
        ),
        (
            "team",
            [
                "alertname=IkePhase1PskMismatch",
                "severity=warning",
                "pattern=psk_mismatch",
            ],
        ),
        (
            "info",
            [
                "alertname=IkePhase1PeerNotConfigured",
                "severity=info",
                "job=ike",
            ],
        ),
    ] {
        let verify = format!("--verify.receivers={receiver}");
        let mut args = vec!["config", "routes", "test", config.as_str(), verify.as_str()];
        args.extend(labels);
        args.extend(["device=pa-edge-01", "peer=203.0.113.5"]);
        run_ok(&amtool, &args);
    }
}

#[test]
fn yamllint_passes_every_deploy_file() {
    let Some(yamllint) = tool("yamllint") else {
        return;
    };
    run_ok(
        &yamllint,
        &[
            "-c",
            "deploy/.yamllint",
            "--strict",
            "--format",
            "parsable",
            "deploy/",
        ],
    );
}

#[test]
fn every_required_alert_exists_with_severity_and_annotations() {
    let rules = alert_rules();
    let names: BTreeSet<&str> = rules.iter().filter_map(|r| str_of(r, "alert")).collect();
    for required in REQUIRED {
        assert!(names.contains(required), "{ALERTS} lacks {required}");
    }
    for rule in &rules {
        let name = str_of(rule, "alert").expect("alert name");
        let severity = rule["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("critical" | "warning" | "info")),
            "{name}: severity {severity:?}"
        );
        assert!(rule.get("for").is_some(), "{name}: no `for:`");
        let annotations = &rule["annotations"];
        for key in ["summary", "description", "runbook_url"] {
            let text = str_of(annotations, key).unwrap_or("");
            assert!(!text.trim().is_empty(), "{name}: no {key}");
        }
        assert_eq!(
            str_of(annotations, "runbook_url"),
            Some(format!("{RUNBOOK}{}", name.to_lowercase()).as_str()),
            "{name}: runbook_url"
        );
        let description = str_of(annotations, "description").unwrap();
        assert!(description.contains("Check"), "{name}: no checks");
        if !name.starts_with("IkeExporter") {
            // IPsec alerts name the firewall, the peer and the gateway or tunnel.
            for needle in ["$labels.device", "$labels.peer"] {
                assert!(description.contains(needle), "{name}: {needle}");
            }
            assert!(
                description.contains("gateway") || description.contains("tunnel"),
                "{name}: names no gateway or tunnel"
            );
            assert!(
                str_of(annotations, "summary")
                    .unwrap()
                    .contains("$labels.peer"),
                "{name}: the summary names no peer"
            );
        }
    }
}

#[test]
fn alerts_use_only_metrics_the_exporter_has() {
    let known: BTreeSet<&str> = DEFINITIONS.iter().map(|d| d.name).collect();
    let text = std::fs::read_to_string(root().join(ALERTS)).expect("alerts.yml");
    // Metric names in expressions, query templates and descriptions.
    let metric = regex::Regex::new(r"\bike_[a-z0-9_]+_(?:total|seconds|up|successful)\b").unwrap();
    let used: BTreeSet<&str> = metric.find_iter(&text).map(|m| m.as_str()).collect();
    assert!(used.len() >= 10, "found metrics: {used:?}");
    for name in used {
        assert!(known.contains(name), "{ALERTS} uses unknown metric {name}");
    }
}

#[test]
fn every_alert_has_unit_tests_where_it_fires_and_where_it_does_not() {
    let doc = yaml(ALERTS_TEST);
    assert_eq!(doc["rule_files"][0].as_str(), Some("alerts.yml"));
    // alert name -> (cases where it must not fire, cases where it must)
    let mut cases: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for test in doc["tests"].as_sequence().expect("tests") {
        let name = str_of(test, "name").expect("every test group has a name");
        for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
            let alert = str_of(case, "alertname").expect("alertname").to_owned();
            let expected = case["exp_alerts"]
                .as_sequence()
                .cloned()
                .unwrap_or_default();
            let entry = cases.entry(alert.clone()).or_default();
            if expected.is_empty() {
                entry.0 += 1;
                continue;
            }
            entry.1 += 1;
            for exp in &expected {
                assert!(
                    exp["exp_labels"]["severity"].as_str().is_some(),
                    "{name}: {alert} checks no severity"
                );
                for key in ["summary", "description", "runbook_url"] {
                    assert!(
                        str_of(&exp["exp_annotations"], key).is_some(),
                        "{name}: {alert} checks no {key}"
                    );
                }
            }
        }
    }
    let alerts: BTreeSet<String> = alert_rules()
        .iter()
        .filter_map(|r| str_of(r, "alert").map(str::to_owned))
        .collect();
    for alert in &alerts {
        let (quiet, firing) = cases.get(alert).copied().unwrap_or_default();
        assert!(
            quiet > 0,
            "{ALERTS_TEST}: no case where {alert} must not fire"
        );
        assert!(firing > 0, "{ALERTS_TEST}: no case where {alert} must fire");
    }
    for alert in cases.keys() {
        assert!(
            alerts.contains(alert),
            "{ALERTS_TEST} tests unknown alert {alert}"
        );
    }
}
