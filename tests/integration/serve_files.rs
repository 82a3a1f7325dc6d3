//! The exporter as users run it, following real files: rotation by rename
//! with late writes, copytruncate, truncation, delete and recreate, files
//! appearing in a glob, partial and over-long lines, an unreadable file,
//! restarts with checkpoints, SIGHUP reloads, stdin. Every scenario checks
//! exact counts read back from `/metrics`.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::support::exporter::{BINARY, Exporter, sum};

const FAILURES: &str = "ike_phase1_failures_total";
const SUCCESSES: &str = "ike_phase1_successes_total";

/// A Phase 1 timeout event (one `ike_phase1_failures_total` increment).
pub fn failure(seq: u32) -> String {
    format!(
        "<11>Mar 12 10:15:02 fw-t 1,2024/03/12 10:15:02,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:02,,ike-nego-p1-fail,gw-t,0,0,general,high,\"IKE phase-1 negotiation is failed as initiator, main mode. Failed SA: 192.0.2.10[500]-198.51.100.20[500] cookie:{seq:016x}:0000000000000000 due to timeout.\",{seq},0x0,0,0,0,0,,fw-t\n"
    )
}

/// A Phase 1 success event.
pub fn success(seq: u32) -> String {
    format!(
        "<14>Mar 12 10:15:40 fw-t 1,2024/03/12 10:15:40,013101009876,SYSTEM,vpn,0,2024/03/12 10:15:40,,ike-nego-p1-succ,gw-t,0,0,general,informational,\"IKE phase-1 negotiation is succeeded as initiator, main mode. Established SA: 192.0.2.10[500]-198.51.100.20[500] cookie:{seq:016x}:b82e6f10c3d7a945 lifetime 28800 Sec.\",{seq},0x0,0,0,0,0,,fw-t\n"
    )
}

/// A TRAFFIC line (ignored).
fn traffic() -> &'static str {
    "<14>Mar 12 10:15:03 fw-t 1,2024/03/12 10:15:03,013101009876,TRAFFIC,end,2304,2024/03/12 10:15:03,192.0.2.5,198.51.100.9,0.0.0.0,0.0.0.0,allow-web,,,ssl,vsys1,trust,untrust,ethernet1/1,ethernet1/2,fwd,2024/03/12 10:15:03,1,1,51000,443,0,0,0x400000,tcp,allow,5000,2000,3000,20,2024/03/12 10:15:00,2,any,0,1,0x0,US,US,0,10,10,tcp-fin\n"
}

pub fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("log file opens");
    f.write_all(text.as_bytes()).expect("log file is written");
}

fn failures(n: std::ops::Range<u32>) -> String {
    n.map(failure).collect()
}

/// A scratch directory with a config following `pattern` inside it.
pub struct Scenario {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Scenario {
    pub fn new(pattern: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("config.yaml");
        let text = format!(
            "sources:\n  - name: t\n    type: file\n    paths: [\"{}\"]\n    read_from: beginning\nfiles:\n  rotate_wait_secs: 1\n  poll_interval_ms: 100\n  checkpoint_interval_secs: 1\n{extra}",
            dir.path().join(pattern).display()
        );
        fs::write(&config, text).expect("config written");
        Self { dir, config }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn start(&self, extra_args: &[&str]) -> Exporter {
        let config = self.config.to_str().expect("UTF-8 path");
        let mut args = vec!["--config", config];
        args.extend_from_slice(extra_args);
        // Logs go beside, not inside, the followed directory.
        let logs = self.dir.path().join("logs");
        fs::create_dir_all(&logs).expect("log dir");
        Exporter::start(&args, &logs)
    }
}

#[test]
fn serve_rotation_by_rename_counts_late_writes_to_the_old_file() {
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), &failures(0..3));
    let e = s.start(&[]);
    e.wait_for(FAILURES, &[], 3.0);
    fs::rename(s.path("a.log"), s.path("a.log.1")).unwrap();
    append(&s.path("a.log"), &failures(3..5));
    append(&s.path("a.log.1"), &failures(5..6));
    e.wait_for(FAILURES, &[], 6.0);
    e.wait_for("ike_exporter_files_watched", &[], 1.0);
    append(&s.path("a.log"), &success(1));
    e.wait_for(SUCCESSES, &[], 1.0);
    assert_eq!(e.value(FAILURES, &[]), 6.0, "no line counted twice");
    assert_eq!(
        e.value("ike_exporter_file_rotations_total", &[("source", "t")]),
        1.0
    );
}

#[test]
fn serve_copytruncate_and_in_place_truncation() {
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), &failures(0..3));
    let e = s.start(&[]);
    e.wait_for(FAILURES, &[], 3.0);
    fs::copy(s.path("a.log"), s.path("a.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(s.path("a.log"))
        .unwrap();
    e.wait_for("ike_exporter_file_truncations_total", &[], 1.0);
    append(&s.path("a.log"), &failures(3..5));
    e.wait_for(FAILURES, &[], 5.0);
    // `> file` while the writer goes on, refilling past the old offset.
    fs::write(s.path("a.log"), failures(5..12)).unwrap();
    e.wait_for(FAILURES, &[], 12.0);
    append(&s.path("a.log"), &success(1));
    e.wait_for(SUCCESSES, &[], 1.0);
    assert_eq!(e.value(FAILURES, &[]), 12.0);
}

#[test]
fn serve_delete_and_recreate() {
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), &failures(0..2));
    let e = s.start(&[]);
    e.wait_for(FAILURES, &[], 2.0);
    fs::remove_file(s.path("a.log")).unwrap();
    e.wait_for("ike_exporter_files_watched", &[], 0.0);
    append(&s.path("a.log"), &failures(2..5));
    e.wait_for(FAILURES, &[], 5.0);
}

#[test]
fn serve_file_created_after_start_inside_a_glob() {
    let s = Scenario::new("*.log", "");
    append(&s.path("a.log"), &failures(0..1));
    let e = s.start(&[]);
    e.wait_for(FAILURES, &[], 1.0);
    append(&s.path("b.log"), &failures(1..3));
    e.wait_for(FAILURES, &[], 3.0);
    e.wait_for("ike_exporter_files_watched", &[], 2.0);
}

#[test]
fn serve_partial_line_completed_later() {
    let s = Scenario::new("a.log", "");
    let line = failure(1);
    let (head, tail) = line.split_at(100);
    append(&s.path("a.log"), head);
    let e = s.start(&[]);
    e.wait_for("ike_exporter_bytes_total", &[], head.len() as f64);
    assert_eq!(e.value(FAILURES, &[]), 0.0, "half a line is held");
    append(&s.path("a.log"), tail);
    e.wait_for(FAILURES, &[], 1.0);
}

#[test]
fn serve_one_mebibyte_line_between_two_good_ones() {
    let s = Scenario::new("a.log", "");
    let huge = format!(
        "1,2024/03/12 10:15:02,0131,SYSTEM,vpn,0,{}\n",
        "x".repeat(1 << 20)
    );
    append(&s.path("a.log"), &(failure(1) + &huge + &failure(2)));
    let e = s.start(&[]);
    e.wait_for(FAILURES, &[], 2.0);
    e.wait_for(
        "ike_exporter_parse_errors_total",
        &[("reason", "too_long")],
        1.0,
    );
    assert_eq!(e.value("ike_exporter_lines_total", &[]), 3.0);
}

#[test]
fn serve_unreadable_file_next_to_a_good_one() {
    let s = Scenario::new("*.log", "");
    append(&s.path("good.log"), &failures(0..2));
    append(&s.path("secret.log"), &failures(2..4));
    fs::set_permissions(
        s.path("secret.log"),
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .unwrap();
    fs::set_permissions(
        s.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // Root reads any file, so the exporter runs as nobody, as it would in production.
    // Nobody may not traverse the clone's target directory (a checkout under
    // /root), so it runs a copy of the binary from the world-readable scenario dir.
    let binary = s.path("ike_exporter");
    fs::copy(BINARY, &binary).unwrap();
    fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = s.config.to_str().unwrap();
    let command = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        binary.to_str().unwrap(),
    ];
    let log_dir = tempfile::tempdir().unwrap();
    let e = Exporter::start_with(&command, &["--config", config], log_dir.path());
    e.wait_for(FAILURES, &[], 2.0);
    e.wait_for(
        "ike_exporter_file_errors_total",
        &[("reason", "permission_denied")],
        1.0,
    );
    let (status, body) = e.get("/-/ready").unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("secret.log"), "{body}");
    assert!(e.log().contains("Cannot open log file"), "{}", e.log());
}

/// The offset saved for a file in the state directory.
fn saved_offset(state: &Path, file: &Path) -> Option<u64> {
    let text = fs::read_to_string(state.join("checkpoints.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let file = file.to_str()?;
    json["files"]
        .as_array()?
        .iter()
        .find(|f| f["path"] == file)?["offset"]
        .as_u64()
}

#[test]
fn serve_restart_resumes_after_sigterm_and_after_sigkill() {
    let s = Scenario::new("a.log", "");
    let state = s.path("state");
    let state_arg = state.to_str().unwrap().to_owned();
    append(&s.path("a.log"), &failures(0..3));
    let mut e = s.start(&["--state-dir", &state_arg]);
    e.wait_for(FAILURES, &[], 3.0);
    e.signal("TERM");
    assert_eq!(e.wait_exit(), Some(0), "{}", e.log());

    append(&s.path("a.log"), &failures(3..5));
    let mut e = s.start(&["--state-dir", &state_arg]);
    e.wait_for(FAILURES, &[], 2.0);
    let size = fs::metadata(s.path("a.log")).unwrap().len();
    e.wait_until("the checkpoint covers the file", |_| {
        saved_offset(&state, &s.path("a.log")) == Some(size)
    });
    e.signal("KILL");
    e.wait_exit();

    append(&s.path("a.log"), &failures(5..9));
    let e = s.start(&["--state-dir", &state_arg]);
    e.wait_for(FAILURES, &[], 4.0);
    append(&s.path("a.log"), &success(1));
    e.wait_for(SUCCESSES, &[], 1.0);
    assert_eq!(
        e.value(FAILURES, &[]),
        4.0,
        "nothing read twice after the restart"
    );
}

#[test]
fn serve_sighup_applies_a_valid_config_and_keeps_the_old_on_error() {
    let s = Scenario::new("a.log", "");
    append(&s.path("a.log"), &failures(0..1));
    let e = s.start(&[]);
    e.wait_for(FAILURES, &[], 1.0);
    let valid = fs::read_to_string(&s.config).unwrap().replace(
        "sources:\n",
        &format!("sources:\n  - name: second\n    type: file\n    paths: [\"{}\"]\n    read_from: beginning\n", s.path("b.log").display()),
    );
    fs::write(&s.config, valid + "gateways:\n  gw-t: 198.51.100.20\n").unwrap();
    append(&s.path("b.log"), &failures(1..3));
    e.signal("HUP");
    e.wait_for(FAILURES, &[], 3.0);
    e.wait_for("ike_exporter_config_last_reload_successful", &[], 1.0);
    append(&s.path("a.log"), &failures(3..4));
    e.wait_for(FAILURES, &[], 4.0);

    fs::write(&s.config, "sources: [ {name: broken\n").unwrap();
    e.signal("HUP");
    e.wait_for("ike_exporter_config_last_reload_successful", &[], 0.0);
    append(&s.path("a.log"), &failures(4..5));
    append(&s.path("b.log"), &failures(5..6));
    e.wait_for(FAILURES, &[], 6.0);
    assert!(
        e.log().contains("Configuration reload failed"),
        "{}",
        e.log()
    );
    assert_eq!(
        e.value("ike_exporter_lines_total", &[("source", "t")]),
        3.0,
        "counters were not reset"
    );
}

#[test]
fn serve_reads_standard_input() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::exporter::free_port();
    let mut child = Command::new(BINARY)
        .args([
            "--file",
            "-",
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all((failures(0..3) + traffic()).as_bytes())
        .unwrap();
    drop(stdin);
    let e = Exporter {
        child,
        port,
        stderr_path: dir.path().join("none"),
    };
    e.wait_for(FAILURES, &[], 3.0);
    e.wait_for("ike_exporter_lines_total", &[("source", "stdin")], 4.0);
    assert_eq!(e.value("ike_exporter_lines_ignored_total", &[]), 1.0);
}

#[test]
fn serve_check_config_names_the_offending_key() {
    let s = Scenario::new("a.log", "limits:\n  max_peers: 0\n");
    let out = crate::support::run(
        &["--config", s.config.to_str().unwrap(), "--check-config"],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("limits.max_peers"), "{err}");
    let good = Scenario::new("a.log", "");
    let out = crate::support::run(
        &["--config", good.config.to_str().unwrap(), "--check-config"],
        None,
    );
    crate::support::assert_success(&out);
}

#[test]
fn serve_metrics_pass_promtool_and_ready_reports_missing_paths() {
    let s = Scenario::new("missing-*.log", "");
    let e = s.start(&[]);
    let (status, body) = e.get("/-/ready").unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("missing-*.log"), "{body}");
    append(&s.path("missing-1.log"), &(failures(0..2) + traffic()));
    e.wait_for(FAILURES, &[], 2.0);
    assert_eq!(e.get("/-/ready").map(|(s, _)| s), Some(200));
    let text = e.metrics();
    assert!(
        sum(&text, "process_resident_memory_bytes", &[]) > 0.0,
        "process metrics are served"
    );
    crate::support::promtool_check_metrics(&text);
}

#[test]
fn serve_healthcheck_subcommand_for_container_images() {
    let s = Scenario::new("a.log", "");
    let e = s.start(&[]);
    let url = format!("http://127.0.0.1:{}/-/healthy", e.port);
    assert_eq!(
        crate::support::run(&["healthcheck", "--url", &url], None)
            .status
            .code(),
        Some(0)
    );
    let down = format!(
        "http://127.0.0.1:{}/-/healthy",
        crate::support::exporter::free_port()
    );
    assert_eq!(
        crate::support::run(&["healthcheck", "--url", &down], None)
            .status
            .code(),
        Some(1)
    );
}
