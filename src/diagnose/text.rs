//! The `diagnose` report for a person: what is down now, then per device and
//! peer the state of each gateway and tunnel, the failures (marked resolved
//! when a later negotiation succeeded), the differences found, and once at
//! the end what to check for each reason seen.

use std::collections::BTreeSet;
use std::io::{self, Write};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::report::{Down, FailureKey, PeerReport, Report, Span};
use crate::advice::Lang;
use crate::ike::{Parameter, Phase, ProposalDiff};
use crate::record::peers::UNKNOWN;

/// Writes `report`, showing times in `tz` and advice in `lang`.
pub fn write(report: &Report, out: &mut dyn Write, tz: &TimeZone, lang: Lang) -> io::Result<()> {
    let when = |t: f64| format_time(t, tz);
    summary(report, out)?;
    let down = report.down_now();
    if down.is_empty() {
        writeln!(
            out,
            "\nDown now: none of the gateways and tunnels in these logs."
        )?;
    } else {
        writeln!(
            out,
            "\nDown now (latest negotiation outcome in these logs):"
        )?;
        for d in &down {
            writeln!(
                out,
                "  {} peer {}: Phase {} {} {}: {} at {}",
                d.device,
                d.peer,
                d.phase.as_str(),
                object_kind(d.phase),
                d.object,
                d.down.as_str(),
                when(d.time)
            )?;
        }
    }
    let mut reasons: BTreeSet<(Phase, DownKey)> = BTreeSet::new();
    for (name, device) in &report.devices {
        if name == UNKNOWN {
            writeln!(
                out,
                "\nDevice unknown (the logs name no device: pass --device NAME)"
            )?;
        } else {
            writeln!(out, "\nDevice {name}")?;
        }
        for (peer, p) in device.peers.iter() {
            if p.objects.is_empty()
                && p.failures.is_empty()
                && p.proposals.is_empty()
                && p.proxy_ids.is_empty()
            {
                continue;
            }
            peer_section(out, peer, p, &when, &mut reasons)?;
        }
        if !device.events.is_empty() {
            let events: Vec<String> = device
                .events
                .iter()
                .map(|(id, n)| format!("{id} x{n}"))
                .collect();
            writeln!(out, "  vpn events: {}", events.join(", "))?;
        }
    }
    if !reasons.is_empty() {
        writeln!(out, "\nWhat to check")?;
        for (phase, reason) in reasons {
            let down = reason.0;
            writeln!(
                out,
                "  Phase {} {}: {}",
                phase.as_str(),
                down.as_str(),
                down.summary(phase, lang)
            )?;
            for check in down.checks(phase, lang) {
                writeln!(out, "    - {check}")?;
            }
        }
    }
    Ok(())
}

/// `Down` ordered for the "What to check" list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DownKey(Down);

impl Ord for DownKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.as_str().cmp(other.0.as_str())
    }
}

impl PartialOrd for DownKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn summary(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let lines: u64 = report.inputs.iter().map(|i| i.totals.lines).sum();
    let ignored: u64 = report.inputs.iter().map(|i| i.totals.ignored).sum();
    writeln!(
        out,
        "ike_exporter diagnose: {} input(s), {lines} lines ({ignored} not IKE), {} vpn events; times without a zone read as {}.",
        report.inputs.len(),
        report.vpn_events,
        report.timezone
    )?;
    for input in &report.inputs {
        if input.totals.parse_errors.is_empty() {
            continue;
        }
        let reasons: Vec<String> = input
            .totals
            .parse_errors
            .iter()
            .map(|(r, n)| format!("{r} x{n}"))
            .collect();
        writeln!(
            out,
            "  {}: malformed lines skipped: {}",
            input.name,
            reasons.join(", ")
        )?;
    }
    Ok(())
}

fn peer_section(
    out: &mut dyn Write,
    peer: &str,
    p: &PeerReport,
    when: &impl Fn(f64) -> String,
    reasons: &mut BTreeSet<(Phase, DownKey)>,
) -> io::Result<()> {
    if peer == UNKNOWN {
        writeln!(
            out,
            "  Peer unknown (no address in these logs for the gateway or tunnel below)"
        )?;
    } else {
        writeln!(out, "  Peer {peer}")?;
    }
    for ((phase, object), state) in &p.objects {
        let Some(latest) = state.latest else { continue };
        let status = match latest.down {
            None => format!("last negotiation succeeded at {}", when(latest.time)),
            Some(down) => format!("DOWN, {} at {}", down.as_str(), when(latest.time)),
        };
        let mut extra = Vec::new();
        if let Some(s) = state.successes.filter(|_| latest.down.is_some()) {
            extra.push(format!("last success {}", when(s.last)));
        }
        if let Some((t, id)) = p.teardown_after(object, latest.time) {
            extra.push(format!("then {id} at {}", when(*t)));
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("; {}", extra.join("; "))
        };
        writeln!(
            out,
            "    Phase {} {} {object}: {status}{extra}",
            phase.as_str(),
            object_kind(*phase)
        )?;
        if let Some(down) = latest.down {
            reasons.insert((*phase, DownKey(down)));
        }
    }
    if !p.failures.is_empty() {
        writeln!(out, "    Failures:")?;
        for (key, span) in &p.failures {
            failure_line(out, key, span, p, when)?;
            reasons.insert((key.phase, DownKey(Down::Failure(key.pattern))));
        }
    }
    if !p.proposals.is_empty() {
        writeln!(out, "    Proposal differences (firewall vs peer):")?;
        for (diff, span) in &p.proposals {
            writeln!(
                out,
                "      Phase {} {}: {}{}",
                diff.phase.as_str(),
                diff.parameter.as_str(),
                values(diff),
                times(span, when)
            )?;
        }
    }
    if !p.proxy_ids.is_empty() {
        writeln!(out, "    Proxy-ID mismatches:")?;
        for ((tunnel, local, remote), span) in &p.proxy_ids {
            let ids = if local.is_empty() && remote.is_empty() {
                "the log names no selectors; compare the tunnel's Proxy IDs with the peer's"
                    .to_owned()
            } else {
                format!("peer proposed local id {local}, remote id {remote}")
            };
            writeln!(out, "      {tunnel}: {ids}{}", times(span, when))?;
        }
    }
    Ok(())
}

fn failure_line(
    out: &mut dyn Write,
    key: &FailureKey,
    span: &Span,
    p: &PeerReport,
    when: &impl Fn(f64) -> String,
) -> io::Result<()> {
    let object = if key.object.is_empty() {
        "no gateway matched".to_owned()
    } else {
        format!("{} {}", object_kind(key.phase), key.object)
    };
    let version = key
        .ike_version
        .map_or(String::new(), |v| format!(", IKEv{}", v.as_str()));
    let resolved = p.resolved_at(key, span).map_or(String::new(), |t| {
        format!(" (resolved: succeeded at {})", when(t))
    });
    writeln!(
        out,
        "      Phase {} {} ({object}{version}){}{resolved}",
        key.phase.as_str(),
        key.pattern.as_str(),
        times(span, when)
    )?;
    Ok(())
}

/// ` x3, first …, last …` or ` at …` for a single occurrence.
fn times(span: &Span, when: &impl Fn(f64) -> String) -> String {
    if span.count == 1 {
        format!(" at {}", when(span.last))
    } else {
        format!(
            " x{}, first {}, last {}",
            span.count,
            when(span.first),
            when(span.last)
        )
    }
}

/// The two values of a difference, in words where the log is terse.
fn values(diff: &ProposalDiff) -> String {
    let show = |v: &str| -> String {
        if v.is_empty() {
            "not offered".to_owned()
        } else if diff.parameter == Parameter::DhGroup && diff.phase == Phase::Two && v == "0" {
            "0 (no PFS)".to_owned()
        } else {
            v.to_owned()
        }
    };
    format!(
        "firewall {}, peer {}",
        show(&diff.local),
        show(&diff.remote)
    )
}

fn object_kind(phase: Phase) -> &'static str {
    match phase {
        Phase::One => "gateway",
        Phase::Two => "tunnel",
    }
}

fn format_time(t: f64, tz: &TimeZone) -> String {
    let Ok(ts) = Timestamp::from_millisecond((t * 1000.0).round() as i64) else {
        return t.to_string();
    };
    let format = if ts.subsec_millisecond() == 0 {
        "%Y-%m-%d %H:%M:%S %:z"
    } else {
        "%Y-%m-%d %H:%M:%S%.3f %:z"
    };
    ts.to_zoned(tz.clone()).strftime(format).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_time_omits_zero_fraction() {
        assert_eq!(
            format_time(1710238502.0, &TimeZone::UTC),
            "2024-03-12 10:15:02 +00:00"
        );
        assert_eq!(
            format_time(1710238502.218, &TimeZone::UTC),
            "2024-03-12 10:15:02.218 +00:00"
        );
        assert_eq!(
            format_time(1710238502.2, &TimeZone::UTC),
            "2024-03-12 10:15:02.200 +00:00"
        );
    }

    #[test]
    fn text_values_explain_empty_and_no_pfs() {
        let diff = |phase, parameter, local: &str, remote: &str| ProposalDiff {
            phase,
            parameter,
            local: local.into(),
            remote: remote.into(),
        };
        assert_eq!(
            values(&diff(Phase::Two, Parameter::DhGroup, "2", "0")),
            "firewall 2, peer 0 (no PFS)"
        );
        assert_eq!(
            values(&diff(Phase::One, Parameter::Enctype, "AES256-CBC", "")),
            "firewall AES256-CBC, peer not offered"
        );
    }
}
