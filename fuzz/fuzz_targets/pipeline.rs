//! Fuzz target: see ike_exporter::fuzzing::pipeline.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ike_exporter::fuzzing::pipeline(data));
