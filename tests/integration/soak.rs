//! The soak test of `bench/soak.sh`, shortened for CI (`--ci`: 40 s of mixed
//! load, a rotation every 8 s, a SIGHUP every 15 s): the binary Cargo built
//! for these tests under a file source, UDP, TCP and TLS syslog and hostile
//! clients at once, then exact counts per source, flat memory and fds, and a
//! clean exit. The full run is `bash bench/soak.sh` (10 minutes).

use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::process::Command;

use crate::support::exporter::BINARY;
use crate::support::{root, tool};

/// A base port P with P..P+4 free on 127.0.0.1 (TCP, and UDP for P+1), below
/// the ephemeral range that `free_port` and the clients draw from.
fn free_port_base() -> u16 {
    let seed = (std::process::id() % 1000) as u16;
    for i in 0..500u16 {
        let base = 20_000 + (seed.wrapping_add(i.wrapping_mul(7)) % 2_000) * 5;
        let tcp: Vec<_> = (0..5)
            .map(|k| TcpListener::bind(("127.0.0.1", base + k)))
            .collect();
        let udp = UdpSocket::bind(("127.0.0.1", base + 1));
        if tcp.iter().all(Result::is_ok) && udp.is_ok() {
            return base;
        }
    }
    panic!("no five free ports in 20000..30000");
}

#[test]
fn soak_short_mixed_load_counts_exactly_with_flat_memory_and_fds() {
    if ["openssl", "curl", "timeout"]
        .iter()
        .any(|t| tool(t).is_none())
    {
        return;
    }
    // The load generators, built in the same profile next to the binary
    // (`cargo test` builds them already; this keeps them current when only
    // this test target was built). The script finds them in its examples/.
    let binary = Path::new(BINARY);
    let mut build = Command::new(env!("CARGO"));
    build.current_dir(root()).args([
        "build",
        "--quiet",
        "--example",
        "workload",
        "--example",
        "syslog_load",
    ]);
    if binary.parent().and_then(Path::file_name) == Some("release".as_ref()) {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "cargo build of the examples failed");

    let base = free_port_base().to_string();
    let out = Command::new("timeout")
        .args(["-k", "10", "240", "bash"])
        .arg(root().join("bench/soak.sh"))
        .args(["--ci", "--binary", BINARY, "--port-base", &base])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("\nSOAK PASS: "),
        "bench/soak.sh --ci failed ({}):\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
}
