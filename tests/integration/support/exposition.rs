//! A small parser for Prometheus exposition sample lines, enough to compare
//! series by name and label set (corpus/README.md: label order and number
//! formatting do not matter, and `label=""` is the same series as no label).

use std::collections::BTreeMap;

/// A series identity: metric name and its non-empty labels, sorted.
pub type Series = (String, BTreeMap<String, String>);

/// Parses `name{a="b",…} value` lines; comments and blank lines are skipped.
pub fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) =
            parse_line(line).unwrap_or_else(|| panic!("line {}: cannot parse {line:?}", n + 1));
        assert!(
            out.insert(series, value).is_none(),
            "line {}: duplicate series {line:?}",
            n + 1
        );
    }
    out
}

fn parse_line(line: &str) -> Option<(Series, f64)> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let end;
        loop {
            while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                chars.next();
            }
            let &(start, c) = chars.peek()?;
            if c == '}' {
                end = start + 1;
                break;
            }
            let eq = body[start..].find('=')? + start;
            let key = body[start..eq].trim().to_owned();
            while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                chars.next();
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                let (_, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    '"' => break,
                    other => value.push(other),
                }
            }
            if !value.is_empty() {
                labels.insert(key, value);
            }
        }
        rest = &body[end..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(((name, labels), value))
}

/// True for the domain metrics compared by the golden tests.
pub fn is_domain(series: &Series) -> bool {
    series.0.starts_with("ike_") && !series.0.starts_with("ike_exporter_")
}

#[test]
fn exposition_parses_escapes_and_drops_empty_labels() {
    let got = parse(r#"m{a="x\"y",b="",c="1\\2"} 3.5"#);
    let ((name, labels), value) = got.into_iter().next().unwrap();
    assert_eq!(name, "m");
    assert_eq!(labels.len(), 2);
    assert_eq!(labels["a"], "x\"y");
    assert_eq!(labels["c"], "1\\2");
    assert_eq!(value, 3.5);
}
