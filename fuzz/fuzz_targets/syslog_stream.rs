//! Fuzz target: see ike_exporter::fuzzing::syslog_stream.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ike_exporter::fuzzing::syslog_stream(data));
