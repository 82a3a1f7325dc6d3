//! The Grafana dashboards (`dashboards/*.json`, written by
//! `tools/dashboards/generate.py`) and the alert rules
//! (`deploy/prometheus/alerts.yml`) against real tools. No Grafana server
//! can be installed here, so:
//! - `tools/dashboards/validate.sh` checks the dashboards against a JSON
//!   Schema generated from Grafana's own types (npm `@grafana/schema`);
//! - every PromQL expression of the dashboards (panel targets and query
//!   variables, Grafana's variables substituted) and of the alert rules runs
//!   on a real Prometheus that scraped the exporter fed with the bundled
//!   sample: no query fails, and the status, failures-by-pattern and
//!   mismatch panels return data;
//! - the conventions (fixed uid, variables, `$__rate_interval`, known
//!   metrics, the advice of `src/advice.rs`) are checked without any tool.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ike_exporter::advice::{checks, summary};
use ike_exporter::ike::{Pattern, Phase};
use ike_exporter::metrics::DEFINITIONS;
use regex::Regex;
use serde_json::Value;

use crate::support::exporter::Exporter;
use crate::support::exposition;
use crate::support::prometheus::Prometheus;
use crate::support::{root, tool, which};

const OVERVIEW: &str = "dashboards/ike-overview.json";
const EXPORTER: &str = "dashboards/ike-exporter.json";
const ALERTS: &str = "deploy/prometheus/alerts.yml";
const SAMPLE: &str = "examples/pan-os-syslog.log";

/// Overview panels whose every query must return data on the bundled sample.
const MUST_HAVE_DATA: [&str; 9] = [
    "Phase 1 status (IKE gateways)",
    "Phase 2 status (IPSec tunnels)",
    "Phase 1 status over time",
    "Phase 2 status over time",
    "Phase 1 failures by pattern",
    "Phase 2 failures by pattern",
    "Top failing peers",
    "Proposal mismatches",
    "Proxy-ID mismatches",
];

fn load(rel: &str) -> Value {
    let text = fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every panel, those inside row panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

fn panel<'a>(dashboard: &'a Value, title: &str) -> &'a Value {
    panels(dashboard)
        .into_iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("no panel titled {title:?}"))
}

/// One PromQL expression and where it comes from.
struct Expr {
    origin: String,
    /// The panel title, for panel targets.
    title: Option<String>,
    instant: bool,
    expr: String,
}

/// Panel targets and query variables (`label_values(SELECTOR, label)` is
/// `group by (label) (SELECTOR)`, `query_result(EXPR)` is EXPR), unsubstituted.
fn expressions(rel: &str) -> Vec<Expr> {
    let dashboard = load(rel);
    let mut out = Vec::new();
    for p in panels(&dashboard) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let Some(expr) = t["expr"].as_str() else {
                continue;
            };
            out.push(Expr {
                origin: format!(
                    "{rel} panel {:?} {:?}",
                    p["title"].as_str().unwrap_or(""),
                    t["refId"].as_str().unwrap_or("")
                ),
                title: p["title"].as_str().map(str::to_owned),
                instant: t["instant"] == true,
                expr: expr.to_owned(),
            });
        }
    }
    let label_values = Regex::new(r"(?s)^\s*label_values\((.*),\s*(\w+)\s*\)\s*$").unwrap();
    let query_result = Regex::new(r"(?s)^\s*query_result\((.*)\)\s*$").unwrap();
    for v in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        if v["type"] != "query" {
            continue;
        }
        let query = v["query"]
            .as_str()
            .or_else(|| v["query"]["query"].as_str())
            .expect("a query variable's query");
        let expr = if let Some(c) = label_values.captures(query) {
            format!("group by ({}) ({})", &c[2], &c[1])
        } else if let Some(c) = query_result.captures(query) {
            c[1].to_owned()
        } else {
            panic!("{rel}: variable {}: unknown query {query:?}", v["name"])
        };
        out.push(Expr {
            origin: format!("{rel} variable {}", v["name"].as_str().unwrap_or("")),
            title: None,
            instant: true,
            expr,
        });
    }
    out
}

/// Grafana's variables replaced by values Prometheus accepts (as
/// tools/dashboards/extract.py does).
fn substitute(expr: &str) -> String {
    let mut e = expr.to_owned();
    for (from, to) in [
        ("$__rate_interval", "1m"),
        ("$__interval", "15s"),
        ("$__range_s", "3600"),
        ("$__range_ms", "3600000"),
        ("$__range", "1h"),
    ] {
        e = e.replace(from, to);
    }
    for var in ["job", "instance", "device", "peer"] {
        e = e.replace(&format!("\"${var}\""), "\".*\"");
    }
    assert!(!e.contains('$'), "unsubstituted variable in {e}");
    e
}

/// The alert rules' expressions, if the rules file exists.
fn alert_expressions() -> Vec<Expr> {
    let path = root().join(ALERTS);
    let Ok(text) = fs::read_to_string(&path) else {
        eprintln!("{ALERTS} does not exist: no alert expressions to run");
        return Vec::new();
    };
    let rules: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{ALERTS}: {e}"));
    let mut out = Vec::new();
    for group in rules["groups"].as_array().expect("groups") {
        for (i, rule) in group["rules"].as_array().expect("rules").iter().enumerate() {
            let name = rule["alert"]
                .as_str()
                .or(rule["record"].as_str())
                .unwrap_or("?");
            out.push(Expr {
                origin: format!("{ALERTS} group {} rule {i} {name}", group["name"]),
                title: None,
                instant: true,
                expr: rule["expr"].as_str().expect("expr").to_owned(),
            });
        }
    }
    out
}

// ------------------------------------------------------------ conventions

#[test]
fn dashboards_have_fixed_uids_and_the_variables() {
    for (rel, uid, vars) in [
        (
            OVERVIEW,
            "ike-overview",
            &["datasource", "job", "instance", "device", "peer"][..],
        ),
        (
            EXPORTER,
            "ike-exporter",
            &["datasource", "job", "instance"][..],
        ),
    ] {
        let d = load(rel);
        assert_eq!(d["uid"], uid, "{rel}: uid");
        for legacy in ["rows", "style", "__inputs", "hideControls"] {
            assert!(d.get(legacy).is_none(), "{rel}: legacy key {legacy}");
        }
        let names: Vec<&str> = d["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vars, "{rel}: variables");
        assert_eq!(d["templating"]["list"][0]["type"], "datasource");
        assert_eq!(d["templating"]["list"][0]["query"], "prometheus");
        assert_eq!(
            d["templating"]["list"][1]["query"],
            "label_values(ike_exporter_build_info, job)"
        );
        let ds = serde_json::json!({"type": "prometheus", "uid": "${datasource}"});
        for p in panels(&d) {
            let kind = p["type"].as_str().unwrap();
            assert!(
                [
                    "row",
                    "text",
                    "stat",
                    "state-timeline",
                    "timeseries",
                    "table"
                ]
                .contains(&kind),
                "{rel}: panel type {kind}"
            );
            if kind == "row" || kind == "text" {
                continue;
            }
            assert_eq!(p["datasource"], ds, "{rel}: {}", p["title"]);
            for t in p["targets"].as_array().unwrap() {
                assert_eq!(t["datasource"], ds, "{rel}: {}", p["title"]);
            }
        }
    }
}

#[test]
fn every_rate_uses_rate_interval_and_every_selector_the_variables() {
    let range = Regex::new(r"\[([^\]]*)\]|offset\s+(\$?\w+)").unwrap();
    let selector = Regex::new(r"\b((?:ike|process)_[a-z0-9_]+|up)\{([^}]*)\}").unwrap();
    let known: BTreeSet<&str> = DEFINITIONS.iter().map(|d| d.name).collect();
    let metric = Regex::new(r"\bike_[a-z0-9_]+").unwrap();
    for rel in [OVERVIEW, EXPORTER] {
        for e in expressions(rel) {
            for c in range.captures_iter(&e.expr) {
                let window = c.get(1).or(c.get(2)).unwrap().as_str();
                // Graphs over time: $__rate_interval. Instant tables and stats
                // over the dashboard's range: $__range.
                let allowed: &[&str] = if e.instant {
                    &["$__rate_interval", "$__range"]
                } else {
                    &["$__rate_interval"]
                };
                assert!(
                    allowed.contains(&window),
                    "{}: window {window} in {}",
                    e.origin,
                    e.expr
                );
            }
            for name in metric.find_iter(&e.expr) {
                assert!(
                    known.contains(name.as_str()),
                    "{}: unknown metric {}",
                    e.origin,
                    name.as_str()
                );
            }
            for c in selector.captures_iter(&e.expr) {
                let (name, matchers) = (&c[1], &c[2]);
                let job = if e.origin.contains("variable job") {
                    ""
                } else {
                    "job=~\"$job\""
                };
                assert!(matchers.contains(job), "{}: {name} without $job", e.origin);
                if e.origin.contains("variable") {
                    continue;
                }
                assert!(
                    matchers.contains("instance=~\"$instance\""),
                    "{}: {name} without $instance",
                    e.origin
                );
                let def = DEFINITIONS.iter().find(|d| d.name == name);
                for label in ["device", "peer"] {
                    if def.is_some_and(|d| d.labels.contains(&label)) {
                        assert!(
                            matchers.contains(&format!("{label}=~\"${label}\"")),
                            "{}: {name} without ${label}",
                            e.origin
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn status_panels_are_coloured_like_the_firewall_gui() {
    let d = load(OVERVIEW);
    for title in &MUST_HAVE_DATA[..4] {
        let p = panel(&d, title);
        let map = &p["fieldConfig"]["defaults"]["mappings"][0];
        assert_eq!(map["type"], "value", "{title}");
        assert_eq!(map["options"]["1"]["text"], "up", "{title}");
        assert_eq!(map["options"]["1"]["color"], "green", "{title}");
        assert_eq!(map["options"]["0"]["text"], "down", "{title}");
        assert_eq!(map["options"]["0"]["color"], "red", "{title}");
    }
}

#[test]
fn what_to_check_panels_repeat_the_advice() {
    let d = load(OVERVIEW);
    for (phase, title) in [
        (Phase::One, "What to check: Phase 1 (IKE gateways)"),
        (Phase::Two, "What to check: Phase 2 (IPSec tunnels)"),
    ] {
        let content = panel(&d, title)["options"]["content"].as_str().unwrap();
        for pattern in Pattern::ALL.into_iter().filter(|p| p.belongs_to(phase)) {
            let head = format!("**`{}`**: {}", pattern.as_str(), summary(phase, pattern));
            let at = content
                .find(&head)
                .unwrap_or_else(|| panic!("{title}: lacks {head}"));
            let section = &content[at..];
            for (i, check) in checks(phase, pattern).iter().enumerate() {
                let line = format!("\n{}. {check}\n", i + 1);
                assert!(section.contains(&line), "{title}: {head} lacks {line}");
            }
        }
    }
}

#[test]
fn grafana_provisioning_loads_the_dashboards() {
    let read = |rel: &str| -> Value {
        let text = fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    let ds = read("deploy/grafana/provisioning/datasources/prometheus.yml");
    assert_eq!(ds["apiVersion"], 1);
    assert_eq!(ds["datasources"][0]["type"], "prometheus");
    let providers = read("deploy/grafana/provisioning/dashboards/ike.yml");
    assert_eq!(providers["apiVersion"], 1);
    let provider = &providers["providers"][0];
    assert_eq!(provider["type"], "file");
    let path = provider["options"]["path"].as_str().expect("options.path");
    // docker-compose mounts the repository's dashboards/ where the provider looks.
    let compose = root().join("deploy/docker-compose.yml");
    if compose.exists() {
        let compose = read("deploy/docker-compose.yml");
        let volumes = compose["services"]["grafana"]["volumes"]
            .as_array()
            .expect("grafana volumes");
        assert!(
            volumes.iter().any(|v| v
                .as_str()
                .is_some_and(|v| v.starts_with(&format!("../dashboards:{path}")))),
            "docker-compose.yml mounts no ../dashboards at {path}"
        );
    }
}

// ------------------------------------------------------------ schema

/// The schema tools (node, python3, the npm packages under
/// tools/dashboards/node_modules, check-jsonschema): false outside CI when
/// one is missing; in CI a missing tool fails the test.
fn schema_tools() -> bool {
    let root = root();
    let mut missing = Vec::new();
    for bin in ["node", "python3"] {
        if which(bin).is_none() {
            missing.push(bin.to_owned());
        }
    }
    if !root
        .join("tools/dashboards/node_modules/.bin/ts-json-schema-generator")
        .exists()
    {
        missing.push("npm ci --prefix tools/dashboards".to_owned());
    }
    if !root.join(".venv-tools/bin/check-jsonschema").exists()
        && which("check-jsonschema").is_none()
    {
        missing.push("check-jsonschema (.venv-tools)".to_owned());
    }
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "dashboard schema tools must be installed in CI (tools/install-test-deps.sh): {missing:?}"
    );
    eprintln!("skipped: {missing:?} not installed");
    false
}

fn validate(files: &[&Path]) -> (i32, String) {
    let out = Command::new("bash")
        .arg(root().join("tools/dashboards/validate.sh"))
        .args(files)
        .current_dir(root())
        .output()
        .expect("bash runs validate.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn dashboards_validate_against_grafana_schema() {
    if !schema_tools() {
        return;
    }
    let (code, output) = validate(&[]);
    assert_eq!(code, 0, "validate.sh:\n{output}");
    assert!(output.contains("dashboards valid"), "{output}");
}

#[test]
fn schema_validation_rejects_legacy_dashboards() {
    if !schema_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut legacy = load(EXPORTER);
    legacy["rows"] = serde_json::json!([]);
    legacy["style"] = serde_json::json!("dark");
    let legacy_path = dir.path().join("legacy.json");
    fs::write(&legacy_path, legacy.to_string()).unwrap();
    let (code, output) = validate(&[&legacy_path]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("'rows', 'style' were unexpected"),
        "{output}"
    );

    let mut graph = load(EXPORTER);
    graph["panels"][1]["type"] = serde_json::json!("graph");
    graph["panels"][2]["options"]["textMode"] = serde_json::json!("loud");
    let graph_path = dir.path().join("graph.json");
    fs::write(&graph_path, graph.to_string()).unwrap();
    let (code, output) = validate(&[&graph_path]);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("panel type graph"), "{output}");
    assert!(output.contains("'loud' is not one of"), "{output}");
}

// ------------------------------------------------------------ Prometheus

/// An instant query that must be answered.
fn query(prom: &Prometheus, expr: &str) -> Value {
    prom.query(expr)
        .unwrap_or_else(|| panic!("no answer from Prometheus for {expr}"))
}

/// The label sets and values of an instant-vector result.
type Samples = Vec<(BTreeMap<String, String>, f64)>;

fn samples(response: &Value) -> Samples {
    response["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let labels = r["metric"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            let value = r["value"][1].as_str().unwrap().parse().unwrap();
            (labels, value)
        })
        .collect()
}

/// The values of `label` over the exporter's series of `name`.
fn label_values(exposition: &str, name: &str, label: &str) -> BTreeSet<String> {
    exposition::parse(exposition)
        .into_keys()
        .filter(|(n, _)| n == name)
        .filter_map(|(_, l)| l.get(label).cloned())
        .collect()
}

fn total(exposition: &str, name: &str) -> f64 {
    crate::support::exporter::sum(exposition, name, &[])
}

#[test]
fn every_dashboard_and_alert_expression_runs_on_prometheus() {
    if tool("prometheus").is_none() {
        return;
    }
    let logs = tempfile::tempdir().unwrap();
    let sample: PathBuf = root().join(SAMPLE);
    let lines = fs::read(&sample)
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as f64;
    let e = Exporter::start(
        &[
            "--file",
            sample.to_str().unwrap(),
            "--read-from",
            "beginning",
        ],
        logs.path(),
    );
    e.wait_for("ike_exporter_lines_total", &[], lines);
    let metrics = e.metrics();
    let prom = Prometheus::start(&[e.port]).expect("prometheus is installed");
    prom.wait_targets_up(1);
    prom.wait("the whole sample in Prometheus", |p| {
        let r = samples(&query(p, "sum(ike_exporter_lines_total)"));
        (r.first()?.1 == lines).then_some(())
    });

    let mut all: Vec<Expr> = Vec::new();
    for rel in [OVERVIEW, EXPORTER] {
        all.extend(expressions(rel));
    }
    all.extend(alert_expressions());
    let mut failures = Vec::new();
    let mut results: BTreeMap<String, Samples> = BTreeMap::new();
    for x in &all {
        let expr = substitute(&x.expr);
        let response = query(&prom, &expr);
        if response["status"] != "success" {
            failures.push(format!(
                "{}: {} {}\n  {expr}",
                x.origin, response["errorType"], response["error"]
            ));
            continue;
        }
        let got = samples(&response);
        let must = x.origin.contains("variable")
            || x.title
                .as_deref()
                .is_some_and(|t| MUST_HAVE_DATA.contains(&t));
        if must && got.is_empty() {
            failures.push(format!("{}: no data\n  {expr}", x.origin));
        }
        results.insert(x.origin.clone(), got);
    }
    assert!(
        failures.is_empty(),
        "{} of {} expressions failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    eprintln!("{} expressions ran on Prometheus", all.len());

    // The panels show what the exporter counted (the first failure of each
    // series included).
    let result = |title: &str, refid: &str| -> &Samples {
        &results[&format!("{OVERVIEW} panel {title:?} {refid:?}")]
    };
    for (phase, title) in [
        (1, "Phase 1 failures by pattern"),
        (2, "Phase 2 failures by pattern"),
    ] {
        let name = format!("ike_phase{phase}_failures_total");
        let shown: BTreeSet<String> = result(title, "A")
            .iter()
            .map(|(l, _)| l["pattern"].clone())
            .collect();
        assert_eq!(shown, label_values(&metrics, &name, "pattern"), "{title}");
        let in_range = result(&format!("Phase {phase} failures in range"), "A");
        assert_eq!(
            in_range[0].1,
            total(&metrics, &name),
            "Phase {phase} failures in range"
        );
    }
    let down = |phase: u8| {
        exposition::parse(&metrics)
            .into_iter()
            .filter(|((n, _), v)| *n == format!("ike_phase{phase}_up") && *v == 0.0)
            .count() as f64
    };
    assert_eq!(result("IKE gateways down", "A")[0].1, down(1));
    assert_eq!(result("IPSec tunnels down", "A")[0].1, down(2));
    let proposals = result("Proposal mismatches", "A");
    assert_eq!(
        proposals.iter().map(|(_, v)| v).sum::<f64>(),
        total(&metrics, "ike_proposal_mismatches_total")
    );
    assert!(proposals.iter().all(|(l, _)| l.contains_key("parameter")));
    let proxies = result("Proxy-ID mismatches", "A");
    assert_eq!(
        proxies.iter().map(|(_, v)| v).sum::<f64>(),
        total(&metrics, "ike_proxy_id_mismatches_total")
    );
    let failing = result("Top failing peers", "A");
    assert_eq!(
        failing.iter().map(|(_, v)| v).sum::<f64>(),
        total(&metrics, "ike_phase1_failures_total") + total(&metrics, "ike_phase2_failures_total")
    );
    let latest = result("Top failing peers", "B");
    assert_eq!(
        latest.len(),
        failing.len(),
        "one latest failure per failing peer"
    );
    assert!(
        latest
            .iter()
            .all(|(l, _)| l.contains_key("pattern") && l.contains_key("phase"))
    );
    let peers: BTreeSet<String> = results[&format!("{OVERVIEW} variable peer")]
        .iter()
        .map(|(l, _)| l["peer"].clone())
        .collect();
    let mut want = label_values(&metrics, "ike_phase1_failures_total", "peer");
    want.extend(label_values(&metrics, "ike_phase2_failures_total", "peer"));
    want.extend(label_values(&metrics, "ike_phase1_up", "peer"));
    want.extend(label_values(&metrics, "ike_phase2_up", "peer"));
    assert_eq!(peers, want, "the peer variable lists every peer");
}
