//! The cardinality guard and label sanitising (design.md §4).
//!
//! Label values from log text are made printable and cut to 64 bytes; each
//! free-form label admits at most `max` distinct values, folding the rest into
//! `other`. Configured values are always admitted, and `""`, `unknown` and
//! `other` are extra values beyond the limit.

use std::borrow::Cow;
use std::collections::HashSet;

/// The longest label value kept, in bytes.
pub const MAX_LABEL_BYTES: usize = 64;

/// The value that folded label values become.
pub const OTHER: &str = "other";

/// Control characters become `_`; the value is cut at 64 bytes on a
/// character boundary.
pub fn sanitise(value: &str) -> Cow<'_, str> {
    let clean = value.len() <= MAX_LABEL_BYTES && !value.chars().any(char::is_control);
    if clean {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len().min(MAX_LABEL_BYTES));
    for c in value.chars() {
        let c = if c.is_control() { '_' } else { c };
        if out.len() + c.len_utf8() > MAX_LABEL_BYTES {
            break;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Admits at most `max` distinct values of one label.
#[derive(Debug)]
pub struct LabelGuard {
    max: usize,
    seen: HashSet<String>,
    always: HashSet<String>,
}

impl LabelGuard {
    /// A guard for `max` values plus the `always` ones.
    pub fn new(max: usize, always: impl IntoIterator<Item = String>) -> Self {
        let always = always
            .into_iter()
            .map(|v| sanitise(&v).into_owned())
            .collect();
        Self {
            max,
            seen: HashSet::new(),
            always,
        }
    }

    /// Applies a reloaded limit and configured values; values already
    /// admitted stay (their series exist), new ones count against `max`.
    pub fn reconfigure(&mut self, max: usize, always: impl IntoIterator<Item = String>) {
        self.max = max;
        self.always = always
            .into_iter()
            .map(|v| sanitise(&v).into_owned())
            .collect();
    }

    /// The label value to use for `value` (already sanitised), and whether it
    /// was folded into `other`.
    pub fn admit<'a>(&mut self, value: &'a str) -> (&'a str, bool) {
        if matches!(value, "" | "unknown" | OTHER)
            || self.always.contains(value)
            || self.seen.contains(value)
        {
            return (value, false);
        }
        if self.seen.len() < self.max {
            self.seen.insert(value.to_owned());
            return (value, false);
        }
        (OTHER, true)
    }
}

/// Admits at most `max` distinct combinations of label values (kept as
/// 64-bit hashes): per-label caps alone still allow their product, e.g. a
/// million gateway × peer pairs from 1,000 of each.
#[derive(Debug)]
pub struct ComboGuard {
    max: usize,
    seen: HashSet<u64>,
    hasher: std::collections::hash_map::RandomState,
}

impl ComboGuard {
    /// A guard for `max` combinations.
    pub fn new(max: usize) -> Self {
        Self {
            max,
            seen: HashSet::new(),
            hasher: Default::default(),
        }
    }

    /// Applies a reloaded limit; known combinations stay.
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// True when the combination is known or there is room for it.
    pub fn admit(&mut self, parts: &[&str]) -> bool {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(parts);
        if self.seen.contains(&hash) {
            return true;
        }
        if self.seen.len() < self.max {
            self.seen.insert(hash);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_folds_beyond_max_but_keeps_configured_and_special() {
        let mut guard = LabelGuard::new(2, ["10.9.9.9".to_owned()]);
        assert_eq!(guard.admit("a"), ("a", false));
        assert_eq!(guard.admit("b"), ("b", false));
        assert_eq!(guard.admit("c"), (OTHER, true));
        assert_eq!(guard.admit("a"), ("a", false));
        assert_eq!(guard.admit("10.9.9.9"), ("10.9.9.9", false));
        assert_eq!(guard.admit("unknown"), ("unknown", false));
        assert_eq!(guard.admit(""), ("", false));
    }

    #[test]
    fn combo_guard_bounds_the_product() {
        let mut guard = ComboGuard::new(3);
        assert!(guard.admit(&["fw", "gw1", "p1"]));
        assert!(guard.admit(&["fw", "gw1", "p2"]));
        assert!(guard.admit(&["fw", "gw2", "p1"]));
        assert!(!guard.admit(&["fw", "gw2", "p2"]));
        assert!(guard.admit(&["fw", "gw1", "p2"]), "known combinations stay");
    }

    #[test]
    fn sanitise_replaces_controls_and_cuts_on_char_boundary() {
        assert_eq!(sanitise("a\nb\0c"), "a_b_c");
        let long = "é".repeat(40);
        let cut = sanitise(&long);
        assert!(cut.len() <= MAX_LABEL_BYTES);
        assert_eq!(cut.len(), 64);
        assert_eq!(sanitise("plain"), Cow::Borrowed("plain"));
    }
}
