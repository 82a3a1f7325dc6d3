//! LEEF 1.0 and 2.0 SYSTEM events in PAN-OS's documented template
//! (catalog.md §6.5).
//!
//! LEEF 2.0 declares its attribute delimiter in the sixth header field (a
//! character, or `xHH`/`0xHH`); LEEF 1.0 uses a tab. The event ID is the
//! header's EventID; `msg=`, `Filename=` and `DeviceName=` carry the
//! description, object and device.

use super::escape::{split_unescaped, unescape};
use super::{ParseError, SystemRecord, time};

const VENDOR: &str = "Palo Alto Networks";

/// Parses a `LEEF:` payload; `Ok(None)` when it is not a PAN-OS SYSTEM `vpn` event.
pub fn parse(payload: &str, host: Option<&str>) -> Result<Option<SystemRecord>, ParseError> {
    let body = payload.strip_prefix("LEEF:").ok_or(ParseError::Leef)?;
    let v2 = body.starts_with('2');
    let header_fields = if v2 { 6 } else { 5 };
    let header: Vec<&str> = split_unescaped(body, '|').take(header_fields).collect();
    if header.len() < header_fields || header[1].trim() != VENDOR {
        return Ok(None);
    }
    let attrs_start: usize = header.iter().map(|h| h.len() + 1).sum();
    let attrs = body.get(attrs_start..).unwrap_or("");
    // LEEF 1.0 specifies a tab, but PAN-OS and other senders also use `|`.
    let delimiter = match (v2, attrs.contains('\t')) {
        (true, _) => delimiter(header[5]).ok_or(ParseError::Leef)?,
        (false, true) => '\t',
        (false, false) => '|',
    };
    let pairs: Vec<(&str, &str)> = split_unescaped(attrs, delimiter)
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| unescape(v.trim()).into_owned())
    };
    if get("Subtype").as_deref() != Some("vpn") || get("cat").is_some_and(|c| c != "SYSTEM") {
        return Ok(None);
    }
    let event_id = unescape(header[4].trim()).into_owned();
    if event_id.is_empty() {
        return Err(ParseError::Leef);
    }
    let device = get("DeviceName")
        .filter(|v| !v.is_empty())
        .or_else(|| host.map(str::to_owned))
        .or_else(|| get("DeviceSN").filter(|v| !v.is_empty()));
    let time = get("devTime")
        .as_deref()
        .and_then(time::parse_cef)
        .or_else(|| get("TimeReceived").as_deref().and_then(time::parse_any));
    Ok(Some(SystemRecord {
        event_id,
        object: get("Filename").unwrap_or_default(),
        description: get("msg").unwrap_or_default(),
        device,
        time,
    }))
}

/// The LEEF 2.0 delimiter field: one character, or its hex code.
fn delimiter(spec: &str) -> Option<char> {
    let spec = spec.trim();
    let hex = spec.strip_prefix("0x").or_else(|| spec.strip_prefix('x'));
    match hex {
        Some(h) if !h.is_empty() => u32::from_str_radix(h, 16).ok().and_then(char::from_u32),
        _ => {
            let mut chars = spec.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                (None, _) => Some('\t'),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1_FAIL: &str = "LEEF:2.0|Palo Alto Networks|PAN-OS Syslog Integration|9.0.11|ike-nego-p1-fail|x7C|TimeReceived=2024/03/12 10:15:02|DeviceSN=013101009876|cat=SYSTEM|Subtype=vpn|devTime=Mar 12 2024 10:15:02 GMT|VirtualSystem=|Filename=gw-branch-a|Module=general|sev=4|Severity=high|msg=IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 192.0.2.10[500]-198.51.100.20[500] cookie:5e81c0a7d2b94f36:0000000000000000 due to timeout.|sequence=1804511|ActionFlags=0x0|DeviceGroupHierarchyL1=0|DeviceGroupHierarchyL2=0|DeviceGroupHierarchyL3=0|DeviceGroupHierarchyL4=0|vSrcName=|DeviceName=fw-hq";

    #[test]
    fn leef2_panos_system_template() {
        let rec = parse(P1_FAIL, None).unwrap().unwrap();
        assert_eq!(rec.event_id, "ike-nego-p1-fail");
        assert_eq!(rec.object, "gw-branch-a");
        assert_eq!(rec.device.as_deref(), Some("fw-hq"));
        assert!(rec.description.ends_with("due to timeout."));
        assert!(matches!(rec.time, Some(time::LogTime::Zoned(_))));
    }

    #[test]
    fn leef2_caret_delimiter_and_escapes() {
        let line = r"LEEF:2.0|Palo Alto Networks|PAN-OS|10.1|ike-nego-p2-fail|^|cat=SYSTEM^Subtype=vpn^Filename=tun\^a^msg=pfs group mismatched:my: 2peer: 0 a\=b^DeviceName=fw";
        let rec = parse(line, None).unwrap().unwrap();
        assert_eq!(rec.object, "tun^a");
        assert_eq!(rec.description, "pfs group mismatched:my: 2peer: 0 a=b");
    }

    #[test]
    fn leef1_tab_delimited() {
        let line = "LEEF:1.0|Palo Alto Networks|PAN-OS|8.1|ike-nego-p1-succ|cat=SYSTEM\tSubtype=vpn\tFilename=gw\tmsg=ok\tDeviceName=fw1";
        let rec = parse(line, None).unwrap().unwrap();
        assert_eq!(
            (rec.event_id.as_str(), rec.device.as_deref()),
            ("ike-nego-p1-succ", Some("fw1"))
        );
    }

    #[test]
    fn leef1_pipe_delimited() {
        let line = "LEEF:1.0|Palo Alto Networks|PAN-OS Syslog Integration|9.0.2|ike-nego-p1-fail|cat=SYSTEM|Subtype=vpn|Filename=gw-a|msg=x Due to timeout.|DeviceName=fw-l";
        let rec = parse(line, None).unwrap().unwrap();
        assert_eq!(
            (rec.object.as_str(), rec.device.as_deref()),
            ("gw-a", Some("fw-l"))
        );
    }

    #[test]
    fn leef_other_subtype_is_ignored() {
        let line = "LEEF:2.0|Palo Alto Networks|PAN-OS|10.1|general|x7C|cat=SYSTEM|Subtype=general";
        assert_eq!(parse(line, None), Ok(None));
    }
}
