//! PAN-OS CSV SYSTEM records (17-, 23- and 26-field layouts).
//!
//! Fields follow RFC 4180: any field may be quoted, `""` inside quotes is one
//! quote, and descriptions may or may not be quoted. Type and subtype are
//! checked before the rest of the line is split, so a TRAFFIC line that merely
//! mentions `vpn` costs five fields.

use std::borrow::Cow;

use super::{ParseError, SystemRecord, time};

/// Field indexes of the SYSTEM layout (catalog.md §6.1).
mod field {
    pub const TYPE: usize = 3;
    pub const SUBTYPE: usize = 4;
    pub const SERIAL: usize = 2;
    pub const TIME_GENERATED: usize = 6;
    pub const EVENT_ID: usize = 8;
    pub const OBJECT: usize = 9;
    pub const DESCRIPTION: usize = 14;
    pub const DEVICE_NAME: usize = 22;
    pub const HIGH_RES_TIMESTAMP: usize = 25;
}

/// Fewer fields than this is a malformed record (the ≤ 7.x layout).
pub const MIN_FIELDS: usize = 17;
/// Fields after this are ignored.
const MAX_FIELDS: usize = 26;

/// Occurs when a quoted field is never closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnbalancedQuote;

/// RFC 4180 field iterator over one line.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: Option<&'a str>,
}

/// Splits `line` into fields.
pub fn fields(line: &str) -> Fields<'_> {
    Fields { rest: Some(line) }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Cow<'a, str>, UnbalancedQuote>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest?;
        if let Some(quoted) = s.strip_prefix('"') {
            return Some(self.quoted(quoted));
        }
        match memchr::memchr(b',', s.as_bytes()) {
            Some(i) => {
                self.rest = Some(&s[i + 1..]);
                Some(Ok(Cow::Borrowed(&s[..i])))
            }
            None => {
                self.rest = None;
                Some(Ok(Cow::Borrowed(s)))
            }
        }
    }
}

impl<'a> Fields<'a> {
    fn quoted(&mut self, s: &'a str) -> Result<Cow<'a, str>, UnbalancedQuote> {
        let bytes = s.as_bytes();
        let mut owned: Option<String> = None;
        let mut start = 0;
        let mut i = 0;
        loop {
            let Some(q) = memchr::memchr(b'"', &bytes[i..]) else {
                self.rest = None;
                return Err(UnbalancedQuote);
            };
            let q = i + q;
            if bytes.get(q + 1) == Some(&b'"') {
                owned
                    .get_or_insert_with(String::new)
                    .push_str(&s[start..=q]);
                start = q + 2;
                i = q + 2;
                continue;
            }
            let value = match owned {
                Some(mut o) => {
                    o.push_str(&s[start..q]);
                    Cow::Owned(o)
                }
                None => Cow::Borrowed(&s[..q]),
            };
            // Text after the closing quote up to the comma is kept, leniently.
            let after = &s[q + 1..];
            return Ok(match memchr::memchr(b',', after.as_bytes()) {
                Some(0) => {
                    self.rest = Some(&after[1..]);
                    value
                }
                Some(c) => {
                    self.rest = Some(&after[c + 1..]);
                    Cow::Owned(format!("{value}{}", &after[..c]))
                }
                None => {
                    self.rest = None;
                    if after.is_empty() {
                        value
                    } else {
                        Cow::Owned(format!("{value}{after}"))
                    }
                }
            });
        }
    }
}

/// Parses a CSV payload. `Ok(None)` when it is not a SYSTEM `vpn` record.
pub fn parse_system(payload: &str, host: Option<&str>) -> Result<Option<SystemRecord>, ParseError> {
    let mut iter = fields(payload);
    let mut head: Vec<Cow<'_, str>> = Vec::with_capacity(MAX_FIELDS);
    for _ in 0..=field::SUBTYPE {
        match iter.next() {
            Some(Ok(f)) => head.push(f),
            Some(Err(UnbalancedQuote)) | None => return Ok(None),
        }
    }
    if head[field::TYPE] != "SYSTEM" || head[field::SUBTYPE] != "vpn" {
        return Ok(None);
    }
    for f in iter.by_ref().take(MAX_FIELDS - head.len()) {
        head.push(f.map_err(|UnbalancedQuote| ParseError::Csv)?);
    }
    if head.len() < MIN_FIELDS {
        return Err(ParseError::Csv);
    }
    let get = |i: usize| head.get(i).map(|f| f.trim()).filter(|f| !f.is_empty());
    let device = get(field::DEVICE_NAME)
        .or(host)
        .or_else(|| get(field::SERIAL))
        .map(str::to_owned);
    let time = get(field::HIGH_RES_TIMESTAMP)
        .and_then(time::parse_rfc3339)
        .or_else(|| get(field::TIME_GENERATED).and_then(time::parse_panos));
    Ok(Some(SystemRecord {
        event_id: head[field::EVENT_ID].trim().to_owned(),
        object: head[field::OBJECT].trim().to_owned(),
        description: head[field::DESCRIPTION].trim().to_owned(),
        device,
        time,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<String> {
        fields(line).map(|f| f.unwrap().into_owned()).collect()
    }

    #[test]
    fn csv_fields_quoted_with_commas_and_doubled_quotes() {
        assert_eq!(
            split(r#"a,"b, c","say ""hi""",,d"#),
            ["a", "b, c", r#"say "hi""#, "", "d"]
        );
    }

    #[test]
    fn csv_fields_trailing_empty_field() {
        assert_eq!(split("a,"), ["a", ""]);
    }

    #[test]
    fn csv_fields_unbalanced_quote() {
        let got: Vec<_> = fields(r#"a,"open"#).collect();
        assert_eq!(got.last(), Some(&Err(UnbalancedQuote)));
    }

    const P1_FAIL_23: &str = r#"1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail,gw-branch-a,0,0,general,high,"IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 192.0.2.10[500]-198.51.100.20[500] cookie:5e81c0a7d2b94f36:0000000000000000 due to timeout.",1804511,0x0,0,0,0,0,,fw-hq"#;

    #[test]
    fn csv_system_23_fields_panos_9() {
        let rec = parse_system(P1_FAIL_23, None).unwrap().unwrap();
        assert_eq!(rec.event_id, "ike-nego-p1-fail");
        assert_eq!(rec.object, "gw-branch-a");
        assert!(rec.description.ends_with("due to timeout."));
        assert_eq!(rec.device.as_deref(), Some("fw-hq"));
        assert!(matches!(rec.time, Some(time::LogTime::Civil(_))));
    }

    #[test]
    fn csv_system_17_fields_falls_back_to_host_then_serial() {
        let line = "1,2013/03/25 23:59:02,1606001116,SYSTEM,vpn,0,2012/02/25 00:53:56,,ike-config-p1-success,,0,0,general,informational,IKE daemon configuration load phase-1 succeeded.,0,0x0";
        assert_eq!(
            parse_system(line, None).unwrap().unwrap().device.as_deref(),
            Some("1606001116")
        );
        let with_host = parse_system(line, Some("relay")).unwrap().unwrap();
        assert_eq!(with_host.device.as_deref(), Some("relay"));
    }

    #[test]
    fn csv_system_26_fields_uses_high_res_timestamp() {
        let line = format!("{P1_FAIL_23},0,0,2024-03-12T10:15:02.218+00:00,extra,fields");
        let rec = parse_system(&line, None).unwrap().unwrap();
        assert!(matches!(rec.time, Some(time::LogTime::Zoned(_))));
    }

    #[test]
    fn csv_system_too_few_fields_is_malformed() {
        let line = "1,2021/07/20 23:59:02,1234567890,SYSTEM,vpn,0,2021/07/20 23:59:02,ike-config-p1-success,,0,0,general,informational,IKE daemon configuration load phase-1 succeeded.,0,0x0";
        assert_eq!(parse_system(line, None), Err(ParseError::Csv));
    }

    #[test]
    fn csv_not_system_vpn_is_ignored() {
        let traffic = "1,2024/03/12 09:00:01,0131,TRAFFIC,end,2304,x,vpn-rule";
        assert_eq!(parse_system(traffic, None), Ok(None));
    }

    #[test]
    fn csv_unbalanced_quote_in_vpn_record_is_malformed() {
        let line = r#"1,2024/03/12 10:15:02,0131,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail,gw,0,0,general,high,"IKE phase-1 negotiation is failed"#;
        assert_eq!(parse_system(line, None), Err(ParseError::Csv));
    }
}
