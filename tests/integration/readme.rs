//! The README's metrics table is the code's: every metric of
//! `ike_exporter::metrics::DEFINITIONS` has a row with the same type and
//! labels, and the table lists no other metric.

use ike_exporter::metrics::DEFINITIONS;

use crate::support::root;

#[test]
fn readme_metrics_table_matches_the_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let rows: Vec<(String, String, Vec<String>)> = readme
        .lines()
        .filter(|l| l.starts_with("| `ike_"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let name = cells[0].trim_matches('`').to_owned();
            let labels = cells[2]
                .split(',')
                .map(|s| s.trim().trim_matches('`').to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            (name, cells[1].to_owned(), labels)
        })
        .collect();
    for def in DEFINITIONS {
        let row = rows
            .iter()
            .find(|r| r.0 == def.name)
            .unwrap_or_else(|| panic!("README lacks {}", def.name));
        assert_eq!(row.1, def.kind.as_str(), "type of {}", def.name);
        assert_eq!(row.2, def.labels, "labels of {}", def.name);
    }
    for row in &rows {
        assert!(
            DEFINITIONS.iter().any(|d| d.name == row.0),
            "README lists unknown metric {}",
            row.0
        );
    }
}

#[test]
fn readme_has_exactly_the_two_setup_commands() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    assert!(
        readme.contains("cargo run --release -- diagnose examples/"),
        "run command"
    );
    assert!(
        readme.contains(".ci/run") || readme.contains("cargo test"),
        "test command"
    );
}

#[test]
fn readme_patterns_table_matches_the_advice() {
    use ike_exporter::advice::summary;
    use ike_exporter::ike::{Pattern, Phase};
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for phase in [Phase::One, Phase::Two] {
        for pattern in Pattern::ALL.into_iter().filter(|p| p.belongs_to(phase)) {
            let row = format!(
                "| {} | `{}` | {} |",
                phase.as_str(),
                pattern.as_str(),
                summary(phase, pattern)
            );
            assert!(readme.contains(&row), "README lacks the row starting {row}");
        }
    }
}
