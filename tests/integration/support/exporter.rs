//! A running `ike_exporter` process, started as a user starts it, and a
//! client that polls its `/metrics` until a value appears or a deadline
//! passes (no fixed sleeps as synchronisation).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::exposition;

/// How long a test waits for the exporter to reach a value.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The exporter binary Cargo built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_ike_exporter");

/// An exporter process; killed when dropped.
pub struct Exporter {
    pub child: Child,
    pub port: u16,
    pub stderr_path: PathBuf,
}

impl Exporter {
    /// Runs `command` (a program and its leading arguments, ending with the
    /// exporter binary) with `args` plus a listen address, so a test can wrap
    /// the binary, e.g. in `setpriv` to drop privileges.
    pub fn start_with(command: &[&str], args: &[&str], log_dir: &Path) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let stderr_path = log_dir.join(format!("exporter-{port}.log"));
        let stderr = std::fs::File::create(&stderr_path).expect("log file");
        let (program, leading) = command.split_first().expect("a program to run");
        let mut command = Command::new(program);
        command.args(leading);
        let child = command
            .args(args)
            .args(["--web.listen-address", &listen, "--log.level", "debug"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the exporter starts");
        let exporter = Self {
            child,
            port,
            stderr_path,
        };
        exporter.wait_until("the HTTP server answers", |e| e.get("/-/healthy").is_some());
        exporter
    }

    /// Starts the binary with `args`.
    pub fn start(args: &[&str], log_dir: &Path) -> Self {
        Self::start_with(&[BINARY], args, log_dir)
    }

    /// GET `path`: status code and body, or `None` when nothing answers.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split_whitespace().nth(1)?.parse().ok()?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Some((status, body))
    }

    /// The `/metrics` exposition text.
    pub fn metrics(&self) -> String {
        self.get("/metrics")
            .map(|(_, body)| body)
            .unwrap_or_default()
    }

    /// The sum of every sample of `name` whose labels contain all of `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        sum(&self.metrics(), name, labels)
    }

    /// Polls until `check` holds; panics with the exporter's log at the deadline.
    pub fn wait_until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "timed out waiting until {what}\n--- exporter log ---\n{}",
            self.log()
        );
    }

    /// Polls until the summed `name{labels}` equals `want`.
    pub fn wait_for(&self, name: &str, labels: &[(&str, &str)], want: f64) {
        let start = Instant::now();
        let mut got = f64::NAN;
        while start.elapsed() < DEADLINE {
            got = self.value(name, labels);
            if got == want {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "{name}{labels:?}: got {got}, want {want}\n--- exporter log ---\n{}",
            self.log()
        );
    }

    /// The exporter's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends a signal (`TERM`, `KILL`, `HUP`) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < DEADLINE {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the exporter did not exit\n{}", self.log());
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The sum of the samples of `name` in `text` whose labels include `labels`.
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition::parse(text)
        .into_iter()
        .filter(|((n, l), _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| v)
        .sum()
}
