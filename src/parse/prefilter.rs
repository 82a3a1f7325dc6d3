//! Byte-level prefilter: finds the few lines worth parsing.
//!
//! A firewall's syslog is mostly TRAFFIC and THREAT logs. Every PAN-OS SYSTEM
//! `vpn` record carries its type and subtype side by side: `,SYSTEM,vpn,` in
//! CSV, `|vpn|SYSTEM|` in CEF, `Subtype=vpn` in LEEF; ikemgr.log lines contain
//! `]: {`. The markers are that specific so that TRAFFIC lines through a zone
//! or rule named `vpn` are not parsed. (A GUI export's header is read as the
//! input's first line and its rows are parsed without the prefilter.) The
//! prefilter searches a whole block of lines for the markers at once (SIMD via
//! aho-corasick) and visits only the lines that contain one, the way ripgrep
//! searches, so a line without a marker costs one newline search.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// The markers; any line containing none of them cannot be a record we want.
const MARKERS: &[&str] = &[",SYSTEM,vpn,", "|vpn|SYSTEM|", "Subtype=vpn", "]: {"];

/// Compiled marker search.
#[derive(Debug, Clone)]
pub struct Prefilter {
    markers: AhoCorasick,
}

/// How the lines of a block were split by the prefilter.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BlockStats {
    /// Lines in the block.
    pub lines: u64,
    /// Lines without a marker (never parsed).
    pub skipped: u64,
}

impl Default for Prefilter {
    fn default() -> Self {
        Self::new()
    }
}

impl Prefilter {
    /// Builds the marker automaton.
    pub fn new() -> Self {
        let markers = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(MARKERS)
            .expect("static marker patterns compile");
        Self { markers }
    }

    /// True when `line` contains a marker.
    pub fn is_candidate(&self, line: &[u8]) -> bool {
        self.markers.is_match(line)
    }

    /// Calls `visit` for each line of `block` (LF-separated; a CR before the LF
    /// is removed) that contains a marker, and counts all lines.
    pub fn scan(&self, block: &[u8], mut visit: impl FnMut(&[u8])) -> BlockStats {
        if block.is_empty() {
            return BlockStats::default();
        }
        let body = block.strip_suffix(b"\n").unwrap_or(block);
        let mut visited = 0u64;
        let mut pos = 0;
        while pos <= body.len() {
            let Some(hit) = self.markers.find(&body[pos..]) else {
                break;
            };
            let hit_at = pos + hit.start();
            let start = memchr::memrchr(b'\n', &body[pos..hit_at]).map_or(pos, |i| pos + i + 1);
            let end = memchr::memchr(b'\n', &body[hit_at..]).map_or(body.len(), |i| hit_at + i);
            let line = &body[start..end];
            visited += 1;
            visit(line.strip_suffix(b"\r").unwrap_or(line));
            pos = end + 1;
        }
        let lines = memchr::memchr_iter(b'\n', body).count() as u64 + 1;
        BlockStats {
            lines,
            skipped: lines - visited,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefilter_visits_only_marked_lines() {
        let block =
            b"1,TRAFFIC,end,vpn,\r\n1,SYSTEM,vpn,x\r\nnoise\n2021-07-06 [DEBG]: { 9: }: x\n";
        let mut seen = Vec::new();
        let stats = Prefilter::new().scan(block, |l| seen.push(l.to_vec()));
        assert_eq!(
            stats,
            BlockStats {
                lines: 4,
                skipped: 2
            }
        );
        assert_eq!(
            seen,
            [
                b"1,SYSTEM,vpn,x".to_vec(),
                b"2021-07-06 [DEBG]: { 9: }: x".to_vec()
            ]
        );
    }

    #[test]
    fn prefilter_visits_a_line_with_two_markers_once() {
        let mut n = 0;
        let stats = Prefilter::new().scan(b"|vpn|SYSTEM| Subtype=vpn\nSubtype=vpn", |_| n += 1);
        assert_eq!((n, stats.lines, stats.skipped), (2, 2, 0));
    }

    #[test]
    fn prefilter_counts_last_line_without_newline() {
        let stats = Prefilter::new().scan(b"a\nb", |_| {});
        assert_eq!(
            stats,
            BlockStats {
                lines: 2,
                skipped: 2
            }
        );
    }
}
