//! Properties over arbitrary input: no bytes make a parser panic, framing does
//! not depend on how reads are cut, and bad lines never lose good ones.

use std::sync::Arc;

use ike_exporter::metrics::Metrics;
use ike_exporter::parse::framing::{self, Frame, LineFramer};
use ike_exporter::parse::{SourceParser, cef, csv, export, ikemgr, leef, syslog};
use ike_exporter::pipeline::{Clock, Pipeline, PipelineConfig};
use ike_exporter::record::RecordConfig;
use proptest::prelude::*;

const GOOD: &str = r#"<11>Mar 12 10:15:02 fw-hq 1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail,gw-branch-a,0,0,general,high,"IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 192.0.2.10[500]-198.51.100.20[500] cookie:5e81c0a7d2b94f36:0000000000000000 due to timeout.",1804511,0x0,0,0,0,0,,fw-hq"#;

/// Bytes biased towards the shapes the parsers look for.
fn hostile_line() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "vpn",
        ",SYSTEM,vpn,",
        "\"",
        "\"\"",
        ",",
        "<14>",
        "<",
        ">",
        "1 ",
        "Mar 12 10:15:02 ",
        "CEF:0|",
        "LEEF:2.0|",
        "Palo Alto Networks|",
        "|vpn|SYSTEM|",
        "x7C|",
        "Subtype=vpn|",
        "cat=",
        "msg=",
        "\\",
        "=",
        "|",
        "]: {",
        "2021-07-06 18:35:17.869 +0900  [DEBG]: { 9: }: ",
        "rejected hashtype: = a:b",
        "[500]-",
        "peer IP ",
        "Receive Time,Event ID",
        "\u{a0}",
        "\u{feff}",
        "1,2024/03/12 ",
        "2024-03-12 10:15:0",
        "€",
        "é",
    ]);
    prop::collection::vec(
        prop_oneof![
            pieces.prop_map(|s| s.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..8)
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat().into_iter().filter(|b| *b != b'\n').collect())
}

fn pipeline() -> Pipeline {
    let config = PipelineConfig {
        clock: Clock::ReadTime,
        timezone: jiff::tz::TimeZone::UTC,
        record: RecordConfig::default(),
    };
    Pipeline::new(Arc::new(Metrics::new()), config)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(line in hostile_line()) {
        let text = String::from_utf8_lossy(&line);
        let _ = syslog::strip(&text);
        let _ = csv::parse_system(&text, None);
        let _ = cef::parse(&text, Some("h"));
        let _ = leef::parse(&text, None);
        let _ = ikemgr::split_lines(&text);
        if let Some(cols) = export::parse_header(&text) {
            let _ = export::parse_row(&cols, &text);
        }
        let mut parser = SourceParser::default();
        let mut out = Vec::new();
        let _ = parser.parse_line(&line, &mut out);
        let _ = parser.parse_line(&line, &mut out);
        parser.finish(&mut out);
    }

    #[test]
    fn any_bytes_through_the_pipeline_never_panic(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut p = pipeline();
        let mut src = p.source("prop", None);
        p.block(&mut src, &data, 0.0, &mut |_| {});
        p.finish(&mut src, 0.0, &mut |_| {});
    }

    #[test]
    fn framing_is_independent_of_read_boundaries(
        lines in prop::collection::vec(prop::collection::vec(any::<u8>().prop_filter("no LF", |b| *b != b'\n'), 0..40), 0..20),
        cut in 1usize..50,
    ) {
        let input: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect();
        let collect = |chunk: usize| {
            let mut framer = LineFramer::new(32);
            let mut out: Vec<Vec<u8>> = Vec::new();
            let mut push = |frame: Frame<'_>| match frame {
                Frame::Lines(block) => out.extend(framing::lines(block).map(<[u8]>::to_vec)),
                Frame::TooLong => out.push(b"<too long>".to_vec()),
            };
            for piece in input.chunks(chunk) {
                framer.spare_mut()[..piece.len()].copy_from_slice(piece);
                framer.commit(piece.len(), &mut push);
            }
            framer.flush(&mut push);
            out
        };
        prop_assert_eq!(collect(cut), collect(input.len().max(1)));
    }

    #[test]
    fn bad_lines_never_lose_good_ones(bad in prop::collection::vec(hostile_line(), 1..20)) {
        let mut input = Vec::new();
        for line in &bad {
            input.extend_from_slice(GOOD.as_bytes());
            input.push(b'\n');
            input.extend_from_slice(line);
            input.push(b'\n');
        }
        let mut p = pipeline();
        let mut src = p.source("prop", None);
        let mut good = 0;
        p.block(&mut src, &input, 0.0, &mut |obs| {
            if obs.peer == "198.51.100.20" && obs.object == "gw-branch-a" {
                good += 1;
            }
        });
        prop_assert!(good >= bad.len(), "{} good lines, {} recorded", bad.len(), good);
    }
}
