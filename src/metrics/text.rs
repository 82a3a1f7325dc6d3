//! The Prometheus text exposition format (0.0.4), piece by piece: escaping,
//! the `# HELP`/`# TYPE` header, a label set and a sample value. The series
//! store renders each label set once, when the series is created, so that a
//! scrape only copies bytes.

use std::fmt::Write;

use super::Kind;

/// Appends `value` with `\`, newline and (in label values) `"` escaped.
fn push_escaped(out: &mut String, value: &str, quote: bool) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// `# HELP` and `# TYPE` lines of one family.
pub(super) fn header(name: &str, help: &str, kind: Kind) -> String {
    let mut out = format!("# HELP {name} ");
    push_escaped(&mut out, help, false);
    let _ = write!(out, "\n# TYPE {name} {}\n", kind.as_str());
    out
}

/// `name{a="x",b="y"} ` (or `name ` without labels): everything of a sample
/// line before its value.
pub(super) fn sample_head<'a>(
    name: &str,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut out = String::from(name);
    let mut separator = '{';
    for (label, value) in labels {
        out.push(separator);
        out.push_str(label);
        out.push_str("=\"");
        push_escaped(&mut out, value, true);
        out.push('"');
        separator = ',';
    }
    if separator == ',' {
        out.push('}');
    }
    out.push(' ');
    out
}

/// A float as the format spells it: `NaN`, `+Inf`, `-Inf`, else the
/// shortest decimal that reads back as the same number.
pub(super) fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
    }
}

/// An integer sample value.
pub(super) fn push_int(out: &mut String, value: impl std::fmt::Display) {
    let _ = write!(out, "{value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        let head = sample_head("m", [("a", "x\\\"y\nz"), ("b", "")].into_iter());
        assert_eq!(head, "m{a=\"x\\\\\\\"y\\nz\",b=\"\"} ");
    }

    #[test]
    fn no_labels_means_no_braces() {
        assert_eq!(sample_head("m", std::iter::empty()), "m ");
    }

    #[test]
    fn help_escapes_newline_and_backslash_but_not_quotes() {
        assert_eq!(
            header("m", "a \"b\" \\ c\nd", Kind::Gauge),
            "# HELP m a \"b\" \\\\ c\\nd\n# TYPE m gauge\n"
        );
    }

    #[test]
    fn floats_use_the_formats_special_values() {
        let mut out = String::new();
        for v in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1710238502.218,
            1.0,
        ] {
            push_float(&mut out, v);
            out.push(' ');
        }
        assert_eq!(out, "NaN +Inf -Inf 1710238502.218 1 ");
    }
}
