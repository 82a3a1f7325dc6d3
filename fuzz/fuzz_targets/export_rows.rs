//! Fuzz target: see ike_exporter::fuzzing::export_rows.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ike_exporter::fuzzing::export_rows(data));
