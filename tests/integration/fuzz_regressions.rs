//! Inputs the fuzzers found (and seeds worth keeping), replayed by the normal
//! test suite: `tests/fixtures/fuzz/<target>/<file>` goes through the same
//! entry point as `fuzz/fuzz_targets/<target>.rs`.

use ike_exporter::fuzzing::TARGETS;

use crate::support::fixture;

#[test]
fn fuzz_regressions_replay_without_panic() {
    let mut replayed = 0;
    for (name, target) in TARGETS {
        let dir = fixture("fuzz").join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            target(&std::fs::read(entry.path()).unwrap());
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no fuzz fixtures found under tests/fixtures/fuzz"
    );
}

#[test]
fn fuzz_entry_points_take_the_corpus() {
    for entry in std::fs::read_dir(fixture("corpus")).unwrap().flatten() {
        let data = std::fs::read(entry.path()).unwrap();
        for (_, target) in TARGETS {
            target(&data);
        }
    }
}
