//! The GUI's "Export to CSV" file (Monitor > Logs > System).
//!
//! No public System export header is known (catalog.md §6.6), so columns are
//! mapped by name, case-insensitively, from the header row, never by position.
//! A header row starts export mode for its source; each later row is read with
//! that mapping.

use std::borrow::Cow;

use super::csv::{UnbalancedQuote, fields};
use super::{ParseError, SystemRecord, time};

/// Column positions taken from an export's header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportColumns {
    event_id: usize,
    object: Option<usize>,
    description: Option<usize>,
    device: Option<usize>,
    subtype: Option<usize>,
    kind: Option<usize>,
    /// Time columns, most precise first.
    times: Vec<usize>,
}

fn normalise(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .trim()
        .to_ascii_lowercase()
}

/// Reads a header row; `None` unless it names both `Receive Time` and `Event ID`.
pub fn parse_header(line: &str) -> Option<ExportColumns> {
    let names: Vec<String> = fields(line)
        .map(|f| f.map(|f| normalise(&f)))
        .collect::<Result<_, UnbalancedQuote>>()
        .ok()?;
    let find = |options: &[&str]| names.iter().position(|n| options.contains(&n.as_str()));
    find(&["receive time", "receive_time"])?;
    let event_id = find(&["event id", "eventid", "event_id"])?;
    let times = [
        find(&["high resolution timestamp", "high_res_timestamp"]),
        find(&["generate time", "time generated", "time_generated"]),
        find(&["receive time", "receive_time"]),
    ];
    Some(ExportColumns {
        event_id,
        object: find(&["object"]),
        description: find(&["description", "opaque"]),
        device: find(&["device name", "device_name"]),
        subtype: find(&["threat/content type", "subtype", "sub type", "content type"]),
        kind: find(&["type"]),
        times: times.into_iter().flatten().collect(),
    })
}

/// Reads one row; `Ok(None)` for rows that are not `vpn` events.
pub fn parse_row(cols: &ExportColumns, line: &str) -> Result<Option<SystemRecord>, ParseError> {
    let row: Vec<Cow<'_, str>> = match fields(line).collect() {
        Ok(row) => row,
        Err(UnbalancedQuote) if line.contains("vpn") => return Err(ParseError::Export),
        Err(UnbalancedQuote) => return Ok(None),
    };
    if row.iter().all(|f| f.trim().is_empty()) {
        return Ok(None);
    }
    let get = |i: Option<usize>| {
        i.and_then(|i| row.get(i))
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
    };
    let event_id = get(Some(cols.event_id));
    let is_vpn = match (get(cols.subtype), get(cols.kind)) {
        (Some(subtype), _) => subtype == "vpn",
        (None, Some("vpn")) => true,
        _ => event_id.is_some_and(looks_like_vpn_event_id),
    };
    if !is_vpn {
        return Ok(None);
    }
    let event_id = event_id.ok_or(ParseError::Export)?;
    Ok(Some(SystemRecord {
        event_id: event_id.to_owned(),
        object: get(cols.object).unwrap_or_default().to_owned(),
        description: get(cols.description).unwrap_or_default().to_owned(),
        // design.md §5: Device Name, else the source's device, else unknown.
        device: get(cols.device).map(str::to_owned),
        time: cols
            .times
            .iter()
            .find_map(|&i| get(Some(i)).and_then(time::parse_any)),
    }))
}

/// The `vpn` event ID families of catalog.md §2.
fn looks_like_vpn_event_id(id: &str) -> bool {
    [
        "ike-",
        "ikev2-",
        "ipsec-",
        "tunnel-status-",
        "keymgr-",
        "sdwan-tunnel-",
        "vpnctl-",
    ]
    .iter()
    .any(|p| id.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "\u{feff}Domain,Receive Time,Serial #,Type,Threat/Content Type,Config Version,Generate Time,Virtual System,Event ID,Object,fmt,id,Module,Severity,Description,Sequence Number,Action Flags,Device Name";

    #[test]
    fn export_header_maps_columns_by_name() {
        let cols = parse_header(HEADER).unwrap();
        assert_eq!(cols.event_id, 8);
        assert_eq!(cols.device, Some(17));
        assert_eq!(cols.times, [6, 1]);
    }

    #[test]
    fn export_row_in_any_column_order() {
        let cols = parse_header("Description,Event ID,Receive Time,Object,Type").unwrap();
        let row = r#""IKE phase-1 negotiation is failed likely due to pre-shared key mismatch.",ike-nego-p1-fail-psk,2024/03/12 09:04:31,gw-partner,vpn"#;
        let rec = parse_row(&cols, row).unwrap().unwrap();
        assert_eq!(rec.event_id, "ike-nego-p1-fail-psk");
        assert_eq!(rec.object, "gw-partner");
        assert_eq!(rec.device, None);
        assert!(rec.time.is_some());
    }

    #[test]
    fn export_non_vpn_rows_are_ignored() {
        let cols = parse_header(HEADER).unwrap();
        let row = "1,2024/03/12 09:04:31,0131,SYSTEM,general,0,2024/03/12 09:04:31,,general,,0,0,general,informational,x,1,0x0,fw";
        assert_eq!(parse_row(&cols, row), Ok(None));
    }

    #[test]
    fn export_needs_receive_time_and_event_id() {
        assert_eq!(parse_header("Domain,Receive Time,Serial #"), None);
        assert_eq!(parse_header("1,2024/03/12 09:04:31,0131,SYSTEM,vpn"), None);
    }
}
