//! Backslash escapes shared by CEF and LEEF (`\=`, `\|`, `\\`, `\n`, `\r`).

use std::borrow::Cow;

/// Removes the standard escapes; an unknown escape keeps its character, a
/// lone trailing backslash is kept.
pub fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Splits at every `sep` not preceded by an escaping backslash.
pub fn split_unescaped(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let s = rest?;
        let mut escaped = false;
        for (i, c) in s.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == sep {
                rest = Some(&s[i + c.len_utf8()..]);
                return Some(&s[..i]);
            }
        }
        rest = None;
        Some(s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_unescape_standard_sequences() {
        assert_eq!(unescape(r"a\=b\|c\\d\ne"), "a=b|c\\d\ne");
        assert_eq!(unescape(r"end\"), "end\\");
    }

    #[test]
    fn escape_split_skips_escaped_separator() {
        let parts: Vec<_> = split_unescaped(r"a|b\|c|d\\|e", '|').collect();
        assert_eq!(parts, ["a", r"b\|c", r"d\\", "e"]);
    }
}
