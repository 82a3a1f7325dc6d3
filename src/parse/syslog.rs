//! Syslog envelopes around a PAN-OS payload: RFC 3164 (BSD), RFC 5424 (IETF),
//! or none.
//!
//! PAN-OS sends BSD syslog with no TAG, and with "Send Hostname in Syslog" set
//! to none the timestamp is followed directly by the payload
//! (`Mar 25 23:59:02 1,2013/03/25 …`), which a naive parser takes for a
//! hostname. So the host is taken only when the token after it starts a
//! payload. Relays that write files often drop the PRI.

/// A message with its envelope removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The syslog HOSTNAME, when the header has one.
    pub host: Option<&'a str>,
    /// The payload (the PAN-OS record).
    pub payload: &'a str,
}

/// Occurs when a line starts like a syslog header but breaks off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed syslog header")]
pub struct HeaderError;

/// Strips a syslog envelope, if there is one.
pub fn strip(line: &str) -> Result<Envelope<'_>, HeaderError> {
    let rest = strip_pri(line)?;
    if let Some(env) = rest.strip_prefix("1 ").and_then(rfc5424) {
        return Ok(env);
    }
    if let Some(after_time) = bsd_timestamp(rest).or_else(|| rfc3339_timestamp(rest)) {
        return Ok(host_and_payload(after_time));
    }
    if rest.len() != line.len() {
        // A PRI followed by neither header: keep the payload if it is one.
        return if looks_like_payload(rest) {
            Ok(plain(rest))
        } else {
            Err(HeaderError)
        };
    }
    Ok(plain(line))
}

fn plain(payload: &str) -> Envelope<'_> {
    Envelope {
        host: None,
        payload,
    }
}

/// Removes `<PRI>`; a `<` that does not open a valid PRI is an error.
fn strip_pri(line: &str) -> Result<&str, HeaderError> {
    let Some(rest) = line.strip_prefix('<') else {
        return Ok(line);
    };
    let end = rest.find('>').ok_or(HeaderError)?;
    let digits = &rest[..end];
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeaderError);
    }
    Ok(&rest[end + 1..])
}

/// `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG`.
fn rfc5424(rest: &str) -> Option<Envelope<'_>> {
    let mut parts = rest.splitn(6, ' ');
    let _timestamp = parts.next()?;
    let host = parts.next()?;
    let (_app, _procid, _msgid) = (parts.next()?, parts.next()?, parts.next()?);
    let tail = parts.next().unwrap_or("");
    let msg = skip_structured_data(tail)?;
    let host = (host != "-").then_some(host);
    Some(Envelope {
        host,
        payload: msg.strip_prefix('\u{feff}').unwrap_or(msg),
    })
}

/// Skips `-` or one or more `[id k="v" …]` elements (with `\]` escapes) and the
/// space after them.
fn skip_structured_data(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('-') {
        return Some(rest.strip_prefix(' ').unwrap_or(rest));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    while bytes.get(i) == Some(&b'[') {
        let mut escaped = false;
        i += 1;
        loop {
            match bytes.get(i)? {
                b'\\' if !escaped => escaped = true,
                b']' if !escaped => break,
                _ => escaped = false,
            }
            i += 1;
        }
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let rest = &s[i..];
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// `Mmm dd hh:mm:ss ` with the day space- or zero-padded.
fn bsd_timestamp(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() < 16 || b[3] != b' ' || b[15] != b' ' {
        return None;
    }
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let day_ok = (b[4] == b' ' || b[4].is_ascii_digit()) && b[5].is_ascii_digit();
    let clock = &b[7..15];
    let clock_ok = clock.iter().enumerate().all(|(i, c)| {
        if i == 2 || i == 5 {
            *c == b':'
        } else {
            c.is_ascii_digit()
        }
    });
    (MONTHS.contains(&&b[..3]) && b[6] == b' ' && day_ok && clock_ok).then(|| &s[16..])
}

/// An RFC 3339 timestamp and a space, as rsyslog's high-precision file
/// format writes it in place of the BSD time, or the same with a space for
/// the `T` and an optional fraction and offset (`2024-03-12 10:15:02.123 `),
/// as other relays' file templates do.
fn rfc3339_timestamp(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    // Every byte of `YYYY-MM-DD?HH:MM:SS` is ASCII, so index 19 is a char boundary.
    let dated = b.len() > 20
        && b[..19].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T' || *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if !dated {
        return None;
    }
    // The time runs to the first space after the clock.
    let end = s[19..].find(' ').map(|i| 19 + i)?;
    let tail = &s[19..end];
    let tail_ok = tail
        .bytes()
        .all(|c| c.is_ascii_digit() || b".:+-Z".contains(&c));
    tail_ok.then(|| &s[end + 1..])
}

/// After the BSD time: an optional hostname, an optional `tag:`, the payload.
fn host_and_payload(s: &str) -> Envelope<'_> {
    if looks_like_payload(s) {
        return plain(s);
    }
    let Some((host, rest)) = s.split_once(' ') else {
        return plain(s);
    };
    if looks_like_payload(rest) {
        return Envelope {
            host: Some(host),
            payload: rest,
        };
    }
    // Some relays insert a TAG (`host tag: payload` or `host tag[pid]: payload`).
    if let Some((tag, payload)) = rest.split_once(' ')
        && tag.ends_with(':')
        && looks_like_payload(payload)
    {
        return Envelope {
            host: Some(host),
            payload,
        };
    }
    Envelope {
        host: Some(host),
        payload: rest,
    }
}

/// True when `s` starts a PAN-OS CSV, CEF or LEEF record.
pub fn looks_like_payload(s: &str) -> bool {
    let b = s.as_bytes();
    if s.starts_with("CEF:") || s.starts_with("LEEF:") {
        return true;
    }
    // CSV: FUTURE_USE (digits), a comma, then a YYYY/ date or an empty field.
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    digits > 0
        && b.get(digits) == Some(&b',')
        && b.get(digits + 1..digits + 6)
            .is_some_and(|d| d[..4].iter().all(u8::is_ascii_digit) && d[4] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0";

    #[test]
    fn syslog_bsd_with_pri_and_host() {
        let line = format!("<11>Mar 12 10:15:02 fw-hq {CSV}");
        assert_eq!(
            strip(&line),
            Ok(Envelope {
                host: Some("fw-hq"),
                payload: CSV
            })
        );
    }

    #[test]
    fn syslog_bsd_without_hostname_is_not_mistaken_for_host() {
        let line = format!("<11>Mar 12 10:15:02 {CSV}");
        assert_eq!(
            strip(&line),
            Ok(Envelope {
                host: None,
                payload: CSV
            })
        );
    }

    #[test]
    fn syslog_bsd_space_padded_day_without_pri() {
        let line = format!("Jul  6 18:05:12 PA-VM {CSV}");
        assert_eq!(strip(&line).unwrap().host, Some("PA-VM"));
    }

    #[test]
    fn syslog_rfc5424_with_nil_structured_data() {
        let line = format!("<14>1 2024-03-12T10:15:40+00:00 fw-hq - - - - {CSV}");
        assert_eq!(
            strip(&line),
            Ok(Envelope {
                host: Some("fw-hq"),
                payload: CSV
            })
        );
    }

    #[test]
    fn syslog_rfc5424_with_structured_data() {
        let line = format!(r#"<13>1 2026-11-26T19:41:59Z vm app - - [a k="v\]"][b x="1"] {CSV}"#);
        assert_eq!(strip(&line).unwrap().payload, CSV);
    }

    #[test]
    fn syslog_rfc3164_with_tag_from_a_relay() {
        let line = format!("Mar 12 10:15:02 relay1 panos[123]: {CSV}");
        assert_eq!(
            strip(&line),
            Ok(Envelope {
                host: Some("relay1"),
                payload: CSV
            })
        );
    }

    #[test]
    fn syslog_iso_timestamps_from_relays() {
        for header in [
            "2024-03-12T10:15:02.123+00:00 fw-a ",
            "2024-03-12 10:15:02.123 fw-a ",
            "2024-03-12 10:15:02 fw-a ",
        ] {
            let line = format!("{header}{CSV}");
            assert_eq!(
                strip(&line),
                Ok(Envelope {
                    host: Some("fw-a"),
                    payload: CSV
                }),
                "{header}"
            );
        }
        assert_eq!(strip("2024-03-12 10:15:0€ x").unwrap().host, None);
    }

    #[test]
    fn syslog_bare_payload() {
        assert_eq!(
            strip(CSV),
            Ok(Envelope {
                host: None,
                payload: CSV
            })
        );
    }

    #[test]
    fn syslog_broken_pri_is_an_error() {
        assert_eq!(strip("<1x>Mar 12 10:15:02 fw 1,2024/"), Err(HeaderError));
        assert_eq!(strip("<14"), Err(HeaderError));
    }

    #[test]
    fn syslog_cef_payload_after_host() {
        let env = strip("<11>Mar 12 10:15:02 fw-hq CEF:0|Palo Alto Networks|PAN-OS|x").unwrap();
        assert_eq!(env.host, Some("fw-hq"));
        assert!(env.payload.starts_with("CEF:0|"));
    }
}
