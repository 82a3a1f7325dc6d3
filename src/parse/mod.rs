//! Parsing: bytes of one line → a PAN-OS record, with no I/O, clock or metrics.
//!
//! The layers are separate (style.md rule 6): [`framing`] splits the stream
//! into lines, [`prefilter`] skips the lines that cannot matter, [`syslog`]
//! removes an envelope, and one payload parser per format ([`csv`], [`cef`],
//! [`leef`], [`export`], [`ikemgr`]) reads the record. The format is detected
//! per line. [`SourceParser`] holds the little state a source needs: the
//! column map of a GUI export and the ikemgr assembler.

pub mod cef;
pub mod csv;
pub mod escape;
pub mod export;
pub mod framing;
pub mod ikemgr;
pub mod leef;
pub mod prefilter;
pub mod stream;
pub mod syslog;
pub mod time;

use self::export::ExportColumns;
use self::ikemgr::{Assembler, ProposalRecord};
use self::time::LogTime;

/// A PAN-OS SYSTEM `vpn` event, whatever format it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemRecord {
    /// The event ID (`ike-nego-p1-fail`, …).
    pub event_id: String,
    /// The IKE gateway or IPsec tunnel name; empty when none.
    pub object: String,
    /// The description text.
    pub description: String,
    /// The device name from the record or its envelope, when it names one.
    pub device: Option<String>,
    /// The log's own time.
    pub time: Option<LogTime>,
}

/// What a line yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A SYSTEM `vpn` event.
    System(SystemRecord),
    /// A proposal difference assembled from ikemgr.log lines.
    Proposal(ProposalRecord),
}

/// Why a line was rejected. [`ParseError::code`] is the `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ParseError {
    /// Occurs when a CSV SYSTEM `vpn` record has too few fields or an unclosed quote.
    #[error("malformed PAN-OS CSV record")]
    Csv,
    /// Occurs when a line starts like a syslog header but the header is broken.
    #[error("malformed syslog header")]
    SyslogHeader,
    /// Occurs when a PAN-OS CEF `vpn` event lacks its event ID or header fields.
    #[error("malformed CEF record")]
    Cef,
    /// Occurs when a PAN-OS LEEF `vpn` event lacks its event ID or delimiter.
    #[error("malformed LEEF record")]
    Leef,
    /// Occurs when a GUI export row cannot be read with its header's columns.
    #[error("malformed GUI export row")]
    Export,
    /// Occurs when a line is longer than the maximum line length.
    #[error("line too long")]
    TooLong,
}

impl ParseError {
    /// Every reason, for documentation and tests.
    pub const ALL: [ParseError; 6] = [
        ParseError::Csv,
        ParseError::SyslogHeader,
        ParseError::Cef,
        ParseError::Leef,
        ParseError::Export,
        ParseError::TooLong,
    ];

    /// The `reason` label value (a closed set).
    pub fn code(self) -> &'static str {
        match self {
            ParseError::Csv => "csv",
            ParseError::SyslogHeader => "syslog_header",
            ParseError::Cef => "cef",
            ParseError::Leef => "leef",
            ParseError::Export => "export",
            ParseError::TooLong => "too_long",
        }
    }
}

/// Per-source parsing state.
#[derive(Debug, Default)]
pub struct SourceParser {
    export: Option<ExportColumns>,
    ikemgr: Assembler,
}

impl SourceParser {
    /// True once a GUI export header was read: every later line is a row, so
    /// the prefilter must not skip any.
    pub fn in_export_mode(&self) -> bool {
        self.export.is_some()
    }

    /// Reads the first line of an input: a GUI export header switches the
    /// source to export mode. Only the first line can, so that a later line
    /// that looks like a header (a spoofed syslog message, say) cannot.
    pub fn first_line(&mut self, line: &[u8]) -> bool {
        let text = String::from_utf8_lossy(line);
        if text.len() < 4096 && text.to_ascii_lowercase().contains("receive time") {
            self.export = export::parse_header(&text);
        }
        self.export.is_some()
    }

    /// Parses one line (without its newline). Records go to `out`; the result
    /// says whether the line was relevant (`false`: not an IKE line, ignored).
    pub fn parse_line(&mut self, line: &[u8], out: &mut Vec<Record>) -> Result<bool, ParseError> {
        // Valid UTF-8 (nearly every line) is checked by std's word-at-a-time
        // validator, several times faster than the lossy decoder's chunks.
        let text = match std::str::from_utf8(line) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(line),
        };
        let text = text.as_ref();
        if let Some(cols) = &self.export {
            return push(export::parse_row(cols, text)?, out);
        }
        // A relay's `YYYY-MM-DD HH:MM:SS.mmm host 1,…` starts like ikemgr too;
        // only a line that parses as ikemgr is one.
        let parts = if ikemgr::looks_like_ikemgr(text) {
            ikemgr::split_lines(text)
        } else {
            Vec::new()
        };
        if !parts.is_empty() {
            let mut proposals = Vec::new();
            for (time, context, body) in &parts {
                self.ikemgr.push(*time, *context, body, &mut proposals);
            }
            out.extend(proposals.into_iter().map(Record::Proposal));
            return Ok(true);
        }
        let envelope = match syslog::strip(text) {
            Ok(envelope) => envelope,
            Err(_) if looks_like_vpn_record(text) => return Err(ParseError::SyslogHeader),
            Err(_) => return Ok(false),
        };
        let payload = envelope.payload;
        let record = if payload.starts_with("CEF:") {
            cef::parse(payload, envelope.host)?
        } else if payload.starts_with("LEEF:") {
            leef::parse(payload, envelope.host)?
        } else {
            csv::parse_system(payload, envelope.host)?
        };
        push(record, out)
    }

    /// End of input: emits what the ikemgr assembler still holds.
    pub fn finish(&mut self, out: &mut Vec<Record>) {
        let mut proposals = Vec::new();
        self.ikemgr.finish(&mut proposals);
        out.extend(proposals.into_iter().map(Record::Proposal));
    }
}

fn push(record: Option<SystemRecord>, out: &mut Vec<Record>) -> Result<bool, ParseError> {
    Ok(record.map(|r| out.push(Record::System(r))).is_some())
}

/// A cheap test for "this was meant to be a PAN-OS vpn record", used to decide
/// whether a broken envelope is an error or just another program's line.
fn looks_like_vpn_record(text: &str) -> bool {
    text.contains(",SYSTEM,vpn,") || text.contains("|vpn|SYSTEM|") || text.contains("Subtype=vpn")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> (Result<bool, ParseError>, Vec<Record>) {
        let mut out = Vec::new();
        let result = SourceParser::default().parse_line(line.as_bytes(), &mut out);
        (result, out)
    }

    #[test]
    fn parse_broken_header_of_vpn_record_is_counted() {
        let (result, _) = parse("<1x>Mar 12 10:15:02 fw 1,2024/03/12 10:15:02,0131,SYSTEM,vpn,0");
        assert_eq!(result, Err(ParseError::SyslogHeader));
    }

    #[test]
    fn parse_broken_header_of_other_line_is_ignored() {
        assert_eq!(parse("<1x>something about a vpn").0, Ok(false));
    }

    #[test]
    fn parse_invalid_utf8_in_vpn_line_is_decoded_lossily() {
        let mut line = b"1,2024/03/12 10:15:02,0131,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail,gw-\xff,0,0,general,high,due to timeout.,1,0x0".to_vec();
        line.push(b'\0');
        let mut out = Vec::new();
        assert_eq!(
            SourceParser::default().parse_line(&line, &mut out),
            Ok(true)
        );
        let Record::System(rec) = &out[0] else {
            panic!("expected a system record")
        };
        assert_eq!(rec.object, "gw-\u{fffd}");
    }

    #[test]
    fn parse_export_header_then_rows() {
        let mut parser = SourceParser::default();
        let mut out = Vec::new();
        let header = "Receive Time,Type,Event ID,Object,Description,Device Name";
        assert!(parser.first_line(header.as_bytes()));
        assert!(parser.in_export_mode());
        let row = "2024/03/12 09:04:31,vpn,ike-nego-p1-fail-psk,gw-partner,psk,fw-hq";
        assert_eq!(parser.parse_line(row.as_bytes(), &mut out), Ok(true));
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn parse_export_header_only_counts_as_first_line() {
        let mut parser = SourceParser::default();
        let mut out = Vec::new();
        let csv = "1,2024/03/12 10:15:02,0131,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-succ,gw,0,0,general,informational,ok,1,0x0";
        assert!(!parser.first_line(csv.as_bytes()));
        assert_eq!(parser.parse_line(csv.as_bytes(), &mut out), Ok(true));
        assert_eq!(
            parser.parse_line(b"Receive Time,Event ID", &mut out),
            Ok(false)
        );
        assert!(!parser.in_export_mode());
        assert_eq!(parser.parse_line(csv.as_bytes(), &mut out), Ok(true));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn parse_error_codes_are_distinct() {
        let codes: std::collections::HashSet<_> =
            ParseError::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), ParseError::ALL.len());
    }
}
