//! CEF SYSTEM events in PAN-OS's documented template (catalog.md §6.4).
//!
//! The Device Event Class slot holds the subtype (`vpn`), the Name slot the
//! type (`SYSTEM`); the event ID is `cat=`, the description `msg=`, the object
//! `fname=`, the device `dvchost=`. PAN-OS escapes only what the syslog
//! profile says, so a bare `=` inside `msg=` is tolerated: a ` word=` only
//! starts a new key when the word is a key PAN-OS or CEF uses.

use super::escape::{split_unescaped, unescape};
use super::{ParseError, SystemRecord, time};

const VENDOR: &str = "Palo Alto Networks";

/// Parses a `CEF:` payload; `Ok(None)` when it is not a PAN-OS SYSTEM `vpn` event.
pub fn parse(payload: &str, host: Option<&str>) -> Result<Option<SystemRecord>, ParseError> {
    let body = payload.strip_prefix("CEF:").ok_or(ParseError::Cef)?;
    let header: Vec<&str> = split_unescaped(body, '|').take(8).collect();
    if header.len() < 8 {
        return if header.get(1).is_some_and(|v| v.trim() == VENDOR) && body.contains("|vpn|") {
            Err(ParseError::Cef)
        } else {
            Ok(None)
        };
    }
    if header[1].trim() != VENDOR || header[4].trim() != "vpn" || header[5].trim() != "SYSTEM" {
        return Ok(None);
    }
    // The extension is everything after the seventh unescaped pipe.
    let ext_start: usize = header[..7].iter().map(|h| h.len() + 1).sum();
    let ext = body.get(ext_start..).unwrap_or("");
    let pairs = extension(ext);
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| unescape(v.trim()).into_owned())
    };
    let event_id = get("cat")
        .filter(|v| !v.is_empty())
        .ok_or(ParseError::Cef)?;
    let device = get("dvchost")
        .filter(|v| !v.is_empty())
        .or_else(|| host.map(str::to_owned))
        .or_else(|| get("deviceExternalId").filter(|v| !v.is_empty()));
    Ok(Some(SystemRecord {
        event_id,
        object: get("fname").unwrap_or_default(),
        description: get("msg").unwrap_or_default(),
        device,
        time: get("rt").as_deref().and_then(time::parse_cef),
    }))
}

/// Splits a CEF extension into `(key, raw value)` pairs.
fn extension(ext: &str) -> Vec<(&str, &str)> {
    let starts = key_starts(ext);
    let mut pairs = Vec::with_capacity(starts.len());
    for (n, &(key_start, eq)) in starts.iter().enumerate() {
        let value_end = starts
            .get(n + 1)
            .map_or(ext.len(), |&(next, _)| next.saturating_sub(1));
        let value_start = (eq + 1).min(value_end);
        pairs.push((&ext[key_start..eq], &ext[value_start..value_end]));
    }
    pairs
}

/// Positions `(key start, '=' index)` of each key that starts a pair.
fn key_starts(ext: &str) -> Vec<(usize, usize)> {
    let bytes = ext.as_bytes();
    let mut out = Vec::new();
    for eq in memchr::memchr_iter(b'=', bytes) {
        if eq > 0 && bytes[eq - 1] == b'\\' {
            continue;
        }
        let key_start = bytes[..eq]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .map_or(0, |i| i + 1);
        let preceded_ok = key_start == 0 || bytes[key_start - 1] == b' ';
        let key = &ext[key_start..eq];
        if preceded_ok && !key.is_empty() && (out.is_empty() || is_known_key(key)) {
            out.push((key_start, eq));
        }
    }
    out
}

/// Keys of PAN-OS's CEF templates and the CEF dictionary keys they use.
fn is_known_key(key: &str) -> bool {
    const KEYS: &[&str] = &[
        "rt",
        "deviceExternalId",
        "fname",
        "msg",
        "externalId",
        "cat",
        "dvchost",
        "dvc",
        "src",
        "dst",
        "spt",
        "dpt",
        "shost",
        "dhost",
        "suser",
        "duser",
        "start",
        "end",
        "act",
        "proto",
        "app",
        "cnt",
        "request",
        "reason",
        "outcome",
        "deviceProcessName",
        "sourceTranslatedAddress",
    ];
    const PREFIXES: &[&str] = &[
        "PanOS",
        "cs",
        "cn",
        "cfp",
        "flexString",
        "flexNumber",
        "deviceCustom",
    ];
    KEYS.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1_FAIL: &str = "CEF:0|Palo Alto Networks|PAN-OS|9.0.11|vpn|SYSTEM|4|rt=Mar 12 2024 10:15:02 GMT deviceExternalId=013101009876 cs3Label=Virtual System cs3= fname=gw-branch-a flexString2Label=Module flexString2=general msg=IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 192.0.2.10[500]-198.51.100.20[500] cookie:5e81c0a7d2b94f36:0000000000000000 due to timeout. externalId=1804511 cat=ike-nego-p1-fail PanOSDGl1=0 PanOSDGl2=0 PanOSDGl3=0 PanOSDGl4=0 PanOSVsysName= dvchost=fw-hq PanOSActionFlags=0x0";

    #[test]
    fn cef_panos_system_template() {
        let rec = parse(P1_FAIL, Some("relay")).unwrap().unwrap();
        assert_eq!(rec.event_id, "ike-nego-p1-fail");
        assert_eq!(rec.object, "gw-branch-a");
        assert_eq!(rec.device.as_deref(), Some("fw-hq"));
        assert!(
            rec.description
                .starts_with("IKE phase-1 negotiation is failed as initiator")
        );
        assert!(rec.description.ends_with("due to timeout."));
        assert!(matches!(rec.time, Some(time::LogTime::Zoned(_))));
    }

    #[test]
    fn cef_bare_and_escaped_equals_in_msg() {
        let line = r"CEF:0|Palo Alto Networks|PAN-OS|10.1|vpn|SYSTEM|4|fname=gw\=1 msg=lifetime=28800 a\=b c\\d cat=ike-nego-p1-fail dvchost=fw";
        let rec = parse(line, None).unwrap().unwrap();
        assert_eq!(rec.object, "gw=1");
        assert_eq!(rec.description, r"lifetime=28800 a=b c\d");
    }

    #[test]
    fn cef_escaped_pipe_in_header() {
        let line = r"CEF:0|Palo Alto Networks|PAN\|OS|10.1|vpn|SYSTEM|4|cat=ike-nego-p2-succ fname=t msg=ok";
        assert_eq!(
            parse(line, None).unwrap().unwrap().event_id,
            "ike-nego-p2-succ"
        );
    }

    #[test]
    fn cef_other_subtype_is_ignored() {
        let line = "CEF:0|Palo Alto Networks|PAN-OS|10.1|general|SYSTEM|1|cat=general msg=vpn";
        assert_eq!(parse(line, None), Ok(None));
    }

    #[test]
    fn cef_vpn_without_event_id_is_malformed() {
        let line = "CEF:0|Palo Alto Networks|PAN-OS|10.1|vpn|SYSTEM|1|msg=x";
        assert_eq!(parse(line, None), Err(ParseError::Cef));
    }
}
