//! The runbooks (`docs/runbook.md`, `docs/runbook.ja.md`) and the code's
//! advice are one text: every check `diagnose` prints for a pattern appears
//! verbatim, in each language, in the section of the alert for that pattern;
//! both files have one `## <AlertName>` section per alert, the same ones; and
//! the alert rules' `runbook_url` anchors land on them.

use std::collections::{BTreeMap, BTreeSet};

use ike_exporter::advice::{
    DPD_DOWN_RUNBOOK_SECTION, Lang, checks_in, dpd_down_checks_in, runbook_section,
};
use ike_exporter::ike::{Pattern, Phase};

use crate::support::root;

/// Every alert of `deploy/prometheus/alerts.yml`, and the patterns whose
/// checks its section carries.
const ALERTS: &[(&str, &[(Phase, Pattern)])] = &[
    (
        "IkePhase1PeerNotConfigured",
        &[(Phase::One, Pattern::PeerNotConfigured)],
    ),
    ("IkePhase1Timeout", &[(Phase::One, Pattern::Timeout)]),
    (
        "IkePhase1ProposalMismatch",
        &[(Phase::One, Pattern::ProposalMismatch)],
    ),
    (
        "IkePhase1PskMismatch",
        &[(Phase::One, Pattern::PskMismatch)],
    ),
    (
        "IkePhase1AuthenticationFailure",
        &[
            (Phase::One, Pattern::IdMismatch),
            (Phase::One, Pattern::Certificate),
            (Phase::One, Pattern::Authentication),
        ],
    ),
    (
        "IkePhase2ProxyIdMismatch",
        &[(Phase::Two, Pattern::ProxyIdMismatch)],
    ),
    (
        "IkePhase2ProposalMismatch",
        &[(Phase::Two, Pattern::ProposalMismatch)],
    ),
    (
        "IkePhase2PfsMismatch",
        &[(Phase::Two, Pattern::PfsMismatch)],
    ),
    ("IkePhase2Timeout", &[(Phase::Two, Pattern::Timeout)]),
    ("IkePhase2NoPhase1Sa", &[(Phase::Two, Pattern::NoPhase1Sa)]),
    ("IkeProposalParameterMismatch", &[]),
    (
        "IkeTunnelDown",
        &[(Phase::One, Pattern::Other), (Phase::Two, Pattern::Other)],
    ),
    ("IkeExporterDown", &[]),
    ("IkeExporterNoLogs", &[]),
    ("IkeExporterParseErrors", &[]),
    ("IkeExporterSyslogDrops", &[]),
    ("IkeExporterLabelOverflow", &[]),
    ("IkeExporterConfigReloadFailed", &[]),
];

fn runbook(lang: Lang) -> (&'static str, String) {
    let name = match lang {
        Lang::En => "docs/runbook.md",
        Lang::Ja => "docs/runbook.ja.md",
    };
    let text = std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    (name, text)
}

/// `## ` heading → the text up to the next `## ` heading.
fn sections(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            if let Some((t, body)) = current.take() {
                assert!(out.insert(t.clone(), body).is_none(), "two sections {t}");
            }
            current = Some((title.trim().to_owned(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((t, body)) = current {
        assert!(out.insert(t.clone(), body).is_none(), "two sections {t}");
    }
    out
}

fn every_case() -> Vec<(Phase, Pattern)> {
    [Phase::One, Phase::Two]
        .into_iter()
        .flat_map(|phase| {
            Pattern::ALL
                .into_iter()
                .filter(move |p| p.belongs_to(phase))
                .map(move |p| (phase, p))
        })
        .collect()
}

#[test]
fn runbook_has_one_section_per_alert_in_both_languages() {
    let alerts: BTreeSet<String> = ALERTS.iter().map(|(a, _)| (*a).to_owned()).collect();
    for lang in Lang::ALL {
        let (name, text) = runbook(lang);
        let titles: BTreeSet<String> = sections(&text).into_keys().collect();
        assert_eq!(titles, alerts, "{name}: the `## ` sections are the alerts");
    }
}

#[test]
fn runbook_alert_map_is_the_advice_map() {
    let mut mapped = BTreeSet::new();
    for (alert, cases) in ALERTS {
        for &(phase, pattern) in *cases {
            assert_eq!(
                runbook_section(phase, pattern),
                *alert,
                "{phase:?} {pattern:?}"
            );
            assert!(
                mapped.insert((phase, pattern)),
                "{phase:?} {pattern:?} twice"
            );
        }
    }
    assert_eq!(
        mapped,
        every_case().into_iter().collect(),
        "every pattern of each phase has its checks in one alert's section"
    );
    assert!(ALERTS.iter().any(|(a, _)| *a == DPD_DOWN_RUNBOOK_SECTION));
}

#[test]
fn runbook_checks_are_the_advice_verbatim() {
    for lang in Lang::ALL {
        let (name, text) = runbook(lang);
        let sections = sections(&text);
        let section = |alert: &str| {
            sections
                .get(alert)
                .unwrap_or_else(|| panic!("{name} lacks ## {alert}"))
        };
        for (alert, cases) in ALERTS {
            for &(phase, pattern) in *cases {
                for check in checks_in(lang, phase, pattern) {
                    assert!(
                        section(alert).contains(check),
                        "{name} ## {alert} lacks the Phase {} {} check:\n{check}",
                        phase.as_str(),
                        pattern.as_str()
                    );
                }
            }
        }
        for check in dpd_down_checks_in(lang) {
            assert!(
                section(DPD_DOWN_RUNBOOK_SECTION).contains(check),
                "{name} ## {DPD_DOWN_RUNBOOK_SECTION} lacks the DPD check:\n{check}"
            );
        }
    }
}

/// GitHub's anchor of a heading made of ASCII letters and digits.
fn anchor(title: &str) -> String {
    title.to_lowercase()
}

#[test]
fn runbook_links_land_on_sections() {
    for lang in Lang::ALL {
        let (name, text) = runbook(lang);
        let anchors: BTreeSet<String> = sections(&text).keys().map(|t| anchor(t)).collect();
        let mut links = 0;
        for part in text.split("](#").skip(1) {
            let target = part.split(')').next().expect("a link target");
            assert!(anchors.contains(target), "{name}: link to #{target}");
            links += 1;
        }
        assert!(
            links >= ALERTS.len(),
            "{name}: an index links every section"
        );
    }
    assert!(runbook(Lang::En).1.contains("](runbook.ja.md)"));
    assert!(runbook(Lang::Ja).1.contains("](runbook.md)"));
}

#[test]
fn runbook_has_a_section_for_every_alert_rule_and_its_url() {
    let rules = std::fs::read_to_string(root().join("deploy/prometheus/alerts.yml"))
        .expect("deploy/prometheus/alerts.yml");
    let sections = sections(&runbook(Lang::En).1);
    let mut names = BTreeSet::new();
    for line in rules.lines().map(str::trim) {
        if let Some(alert) = line.strip_prefix("- alert:") {
            let alert = alert.trim();
            assert!(sections.contains_key(alert), "runbook.md lacks ## {alert}");
            names.insert(alert.to_owned());
        } else if let Some(url) = line.strip_prefix("runbook_url:") {
            let (_, target) = url
                .trim()
                .split_once("#")
                .expect("runbook_url has an anchor");
            assert!(url.contains("docs/runbook.md#"), "{url}");
            assert!(
                sections.keys().any(|t| anchor(t) == target),
                "runbook_url {url} lands on no section"
            );
        }
    }
    let listed: BTreeSet<String> = ALERTS.iter().map(|(a, _)| (*a).to_owned()).collect();
    assert_eq!(
        names, listed,
        "the alert rules are the alerts this test knows"
    );
}
