//! ikemgr.log debug lines (`debug ike global on debug`, `less mp-log ikemgr.log`)
//! and the assembler that turns a proposal comparison into mismatches.
//!
//! IKEv1 proposal detail is spread over several lines of one negotiation
//! context (`{ 9: }`): a `Compared: DB:Peer` block (`name = firewall:peer`),
//! `rejected hashtype: … = SHA256:SHA512`, then `no suitable proposal found.`
//! and `local[500] - peer[500]:(nil) failed to get valid proposal.`, which is
//! the first line to name the peer. The assembler keeps the differences per
//! context and emits them once the negotiation has failed and the peer is
//! known. Contexts are bounded in number and expire, so a log that never
//! finishes a negotiation cannot grow memory.

use std::collections::HashMap;
use std::sync::LazyLock;

use jiff::Timestamp;
use regex::Regex;

use super::time::LogTime;
use crate::ike::{self, Parameter, Phase, ProposalDiff};

/// One ikemgr debug line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkemgrLine<'a> {
    pub time: Option<Timestamp>,
    pub context: u64,
    pub text: &'a str,
}

/// A proposal mismatch assembled from ikemgr lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRecord {
    /// The peer, when the negotiation named it before it ended.
    pub peer: Option<String>,
    pub diff: ProposalDiff,
    pub time: Option<LogTime>,
}

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ([+-]\d{4}) +\[[A-Za-z]+\]: *\{ *(\d+): *\d* *\}: ?(.*)$",
    )
    .expect("static regex compiles")
});
/// Where a line that ran into the previous one starts.
static EMBEDDED_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4} +\[")
        .expect("static regex compiles")
});
static COMPARED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\(?([a-z_]+) = ([^:()]*):([^()]*?)\)?\s*$").expect("static regex compiles")
});
static REJECTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^rejected ([a-z_]+):.*= *([^:\s]*):(\S*)\s*$").expect("static regex compiles")
});
static MISMATCHED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([a-z_]+(?: [a-z]+)?) mismatched: *my: *(\S+?) *peer: *(\S+?)\.?\s*$")
        .expect("static regex compiles")
});

/// True when `line` starts like an ikemgr line (`YYYY-MM-DD HH:MM:SS.mmm`).
pub fn looks_like_ikemgr(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 24 && b[4] == b'-' && b[7] == b'-' && b[10] == b' ' && b[19] == b'.'
}

/// Splits a line into ikemgr lines (some copies glue two together) and parses
/// each. Web copies use U+00A0 for blanks; they are read as spaces.
pub fn split_lines(line: &str) -> Vec<(Option<Timestamp>, u64, String)> {
    let line = line.replace('\u{a0}', " ");
    let mut starts: Vec<usize> = EMBEDDED_START.find_iter(&line).map(|m| m.start()).collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let mut out = Vec::with_capacity(starts.len());
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(line.len());
        if let Some(caps) = LINE.captures(&line[start..end]) {
            let time = parse_time(&caps[1], &caps[2]);
            let Ok(context) = caps[3].parse::<u64>() else {
                continue;
            };
            out.push((time, context, caps[4].trim_end().to_owned()));
        }
    }
    out
}

fn parse_time(clock: &str, offset: &str) -> Option<Timestamp> {
    let text = format!("{clock} {offset}");
    jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S%.f %z", &text)
        .ok()?
        .to_timestamp()
        .ok()
}

/// Limits of the assembler.
const MAX_CONTEXTS: usize = 1024;
const MAX_DIFFS_PER_CONTEXT: usize = 32;
const CONTEXT_TTL_SECS: i64 = 300;

#[derive(Debug, Default)]
struct Context {
    last_seen: u64,
    last_time: Option<Timestamp>,
    peer: Option<String>,
    diffs: Vec<ProposalDiff>,
    failed: bool,
}

/// Groups ikemgr lines by negotiation context (one per source).
#[derive(Debug, Default)]
pub struct Assembler {
    contexts: HashMap<u64, Context>,
    seq: u64,
}

impl Assembler {
    /// Feeds one ikemgr line; finished mismatches are pushed to `out`.
    pub fn push(
        &mut self,
        time: Option<Timestamp>,
        context: u64,
        text: &str,
        out: &mut Vec<ProposalRecord>,
    ) {
        self.seq += 1;
        if self.seq.is_multiple_of(256) {
            self.expire(time, out);
        }
        if !self.contexts.contains_key(&context) && self.contexts.len() >= MAX_CONTEXTS {
            self.evict_oldest(out);
        }
        let ctx = self.contexts.entry(context).or_default();
        ctx.last_seen = self.seq;
        ctx.last_time = time.or(ctx.last_time);
        if let Some(ends) = ike::endpoints(text) {
            ctx.peer = Some(ends.peer);
        }
        // A negotiation compares a handful of parameters; a context that
        // claims more is noise and must not grow (or slow) without bound.
        if let Some(diff) = diff_of(text)
            && ctx.diffs.len() < MAX_DIFFS_PER_CONTEXT
            && !ctx.diffs.contains(&diff)
        {
            ctx.diffs.push(diff);
        }
        if is_failure(text) {
            ctx.failed = true;
        } else if text.to_ascii_lowercase().contains("established") {
            // A negotiation that succeeded: its comparisons were of transforms
            // not chosen, not mismatches.
            reset(ctx);
        }
        if ctx.failed && ctx.peer.is_some() {
            emit(ctx, out);
        }
    }

    /// Emits what failed negotiations still hold (end of input).
    pub fn finish(&mut self, out: &mut Vec<ProposalRecord>) {
        let mut keys: Vec<u64> = self.contexts.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            if let Some(mut ctx) = self.contexts.remove(&key) {
                emit(&mut ctx, out);
            }
        }
    }

    fn expire(&mut self, now: Option<Timestamp>, out: &mut Vec<ProposalRecord>) {
        let Some(now) = now else { return };
        let stale: Vec<u64> = self
            .contexts
            .iter()
            .filter(|(_, c)| {
                c.last_time
                    .is_some_and(|t| now.as_second() - t.as_second() > CONTEXT_TTL_SECS)
            })
            .map(|(k, _)| *k)
            .collect();
        for key in stale {
            if let Some(mut ctx) = self.contexts.remove(&key) {
                emit(&mut ctx, out);
            }
        }
    }

    fn evict_oldest(&mut self, out: &mut Vec<ProposalRecord>) {
        let oldest = self
            .contexts
            .iter()
            .min_by_key(|(_, c)| c.last_seen)
            .map(|(k, _)| *k);
        if let Some(mut ctx) = oldest.and_then(|k| self.contexts.remove(&k)) {
            emit(&mut ctx, out);
        }
    }
}

/// Emits a failed context's differences and starts it afresh.
fn emit(ctx: &mut Context, out: &mut Vec<ProposalRecord>) {
    if ctx.failed {
        let time = ctx.last_time.map(LogTime::Zoned);
        out.extend(ctx.diffs.drain(..).map(|diff| ProposalRecord {
            peer: ctx.peer.clone(),
            diff,
            time,
        }));
    }
    reset(ctx);
}

/// Forgets a finished negotiation: a context number is reused for the next
/// one, possibly with another peer.
fn reset(ctx: &mut Context) {
    ctx.diffs.clear();
    ctx.failed = false;
    ctx.peer = None;
}

fn is_failure(text: &str) -> bool {
    const MARKERS: [&str; 4] = [
        "failed to get valid proposal",
        "no suitable proposal found",
        "failed to get proposal for responder",
        "no proposal chosen",
    ];
    MARKERS.iter().any(|m| text.contains(m))
}

/// A parameter difference stated by one line, if any.
fn diff_of(text: &str) -> Option<ProposalDiff> {
    if let Some(c) = REJECTED.captures(text) {
        return make(Phase::One, &c[1], &c[2], &c[3]);
    }
    if let Some(c) = MISMATCHED.captures(text) {
        return make(Phase::Two, &c[1], &c[2], &c[3]);
    }
    let c = COMPARED.captures(text)?;
    let parameter = Parameter::from_log_name(&c[1])?;
    // Phase 1 lifetimes are informational: racoon does not reject on them.
    if matches!(parameter, Parameter::Lifetime | Parameter::Lifebyte) {
        return None;
    }
    let (local, remote) = (c[2].trim(), c[3].trim());
    (local != remote).then(|| ProposalDiff {
        phase: Phase::One,
        parameter,
        local: local.to_owned(),
        remote: remote.to_owned(),
    })
}

fn make(phase: Phase, name: &str, local: &str, remote: &str) -> Option<ProposalDiff> {
    Some(ProposalDiff {
        phase,
        parameter: Parameter::from_log_name(name)?,
        local: local.to_owned(),
        remote: remote.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<ProposalRecord> {
        let mut asm = Assembler::default();
        let mut out = Vec::new();
        for line in lines {
            for (time, ctx, text) in split_lines(line) {
                asm.push(time, ctx, &text, &mut out);
            }
        }
        asm.finish(&mut out);
        out
    }

    #[test]
    fn ikemgr_glued_line_splits_into_two() {
        let glued = "2021-07-06 18:35:17.869 +0900\u{a0} [DEBG]: {\u{a0}9: }: enctype = AES:AES2021-07-06 18:35:17.870 +0900  [DEBG]: {    9:     }: (encklen = 256:256)";
        let parts = split_lines(glued);
        let texts: Vec<&str> = parts.iter().map(|p| p.2.as_str()).collect();
        assert_eq!(texts, ["enctype = AES:AES", "(encklen = 256:256)"]);
        assert!(parts.iter().all(|p| p.1 == 9 && p.0.is_some()));
    }

    #[test]
    fn ikemgr_compared_and_rejected_count_once_with_peer() {
        let out = run(&[
            "2021-07-06 18:35:17.869 +0900  [DEBG]: { 9: }: Compared: DB:Peer",
            "2021-07-06 18:35:17.870 +0900  [DEBG]: { 9: }: hashtype = SHA256:SHA512",
            "2021-07-06 18:35:17.870 +0900  [PERR]: { 9: }: rejected hashtype: DB(prop#1:trns#1):Peer(prop#1:trns#1) = SHA256:SHA512",
            "2021-07-06 18:35:17.870 +0900  [PERR]: { 9: }: no suitable proposal found.",
            "2021-07-06 18:35:17.870 +0900  [PERR]: { 9: }: 200.100.5.1[500] - 200.100.1.254[500]:(nil) failed to get valid proposal.",
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].peer.as_deref(), Some("200.100.1.254"));
        assert_eq!(out[0].diff.parameter, Parameter::Hashtype);
        assert_eq!(
            (out[0].diff.local.as_str(), out[0].diff.remote.as_str()),
            ("SHA256", "SHA512")
        );
    }

    #[test]
    fn ikemgr_reused_context_credits_the_new_peer() {
        let out = run(&[
            "2024-01-01 10:00:00.000 +0000  [PERR]: { 9: }: rejected hashtype: DB(prop#1:trns#1):Peer(prop#1:trns#1) = SHA256:SHA1",
            "2024-01-01 10:00:00.000 +0000  [PERR]: { 9: }: no suitable proposal found.",
            "2024-01-01 10:00:00.000 +0000  [PERR]: { 9: }: 10.0.0.1[500] - 10.0.0.2[500]:(nil) failed to get valid proposal.",
            "2024-01-01 10:01:00.000 +0000  [PERR]: { 9: }: rejected enctype: DB(prop#1:trns#1):Peer(prop#1:trns#1) = AES:3DES",
            "2024-01-01 10:01:00.000 +0000  [PERR]: { 9: }: no suitable proposal found.",
            "2024-01-01 10:01:00.000 +0000  [PERR]: { 9: }: 10.0.0.1[500] - 10.0.0.99[500]:(nil) failed to get valid proposal.",
        ]);
        let got: Vec<_> = out
            .iter()
            .map(|r| (r.diff.parameter, r.peer.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Parameter::Hashtype, Some("10.0.0.2")),
                (Parameter::Enctype, Some("10.0.0.99"))
            ]
        );
    }

    #[test]
    fn ikemgr_comparisons_before_a_success_are_forgotten() {
        let out = run(&[
            "2024-01-01 10:00:00.000 +0000  [DEBG]: { 9: }: hashtype = SHA256:SHA1",
            "2024-01-01 10:00:00.000 +0000  [DEBG]: { 9: }: hashtype = SHA256:SHA256",
            "2024-01-01 10:00:00.001 +0000  [INFO]: { 9: }: ISAKMP-SA established 10.0.0.1[500]-10.0.0.2[500] spi:1",
            "2024-01-01 10:02:00.000 +0000  [PERR]: { 9: }: pfs group mismatched: my:14 peer:2",
            "2024-01-01 10:02:00.000 +0000  [PERR]: { 9: }: failed to get proposal for responder.",
        ]);
        let got: Vec<_> = out
            .iter()
            .map(|r| (r.diff.phase, r.diff.parameter))
            .collect();
        assert_eq!(got, [(Phase::Two, Parameter::DhGroup)]);
    }

    #[test]
    fn ikemgr_no_failure_no_mismatch() {
        let out = run(&[
            "2021-07-06 18:35:17.870 +0900  [DEBG]: { 3: }: hashtype = SHA256:SHA512",
            "2021-07-06 18:35:17.870 +0900  [DEBG]: { 3: }: 10.0.0.1[500] - 10.0.0.2[500]:0x1 established",
        ]);
        assert!(out.is_empty());
    }

    #[test]
    fn ikemgr_phase2_pfs_mismatch_pending_until_end() {
        let out = run(&[
            "2024-01-01 10:00:00.000 +0000  [PERR]: { 4: 12}: pfs group mismatched: my:14 peer:2",
            "2024-01-01 10:00:00.001 +0000  [PERR]: { 4: 12}: failed to get proposal for responder.",
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].peer, None);
        assert_eq!(out[0].diff.phase, Phase::Two);
        assert_eq!(out[0].diff.parameter, Parameter::DhGroup);
        assert_eq!(
            (out[0].diff.local.as_str(), out[0].diff.remote.as_str()),
            ("14", "2")
        );
    }

    #[test]
    fn ikemgr_differences_per_context_are_bounded() {
        let mut asm = Assembler::default();
        let mut out = Vec::new();
        for i in 0..10_000 {
            asm.push(None, 1, &format!("enctype = A{i}:B"), &mut out);
        }
        asm.push(None, 1, "no suitable proposal found.", &mut out);
        asm.finish(&mut out);
        assert_eq!(out.len(), MAX_DIFFS_PER_CONTEXT);
    }

    #[test]
    fn ikemgr_contexts_are_bounded() {
        let mut asm = Assembler::default();
        let mut out = Vec::new();
        for ctx in 0..(MAX_CONTEXTS as u64 * 3) {
            asm.push(None, ctx, "hashtype = A:B", &mut out);
        }
        assert!(asm.contexts.len() <= MAX_CONTEXTS);
        assert!(out.is_empty(), "unfailed comparisons are never emitted");
    }

    #[test]
    fn ikemgr_non_ikemgr_text_yields_nothing() {
        assert!(split_lines("(省略)").is_empty());
        assert!(!looks_like_ikemgr("(省略)"));
    }
}
