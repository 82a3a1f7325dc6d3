//! `--web.config.file` as users write it for node_exporter: TLS and basic
//! auth on every path, checked with the real `promtool check web-config` and
//! a real client (curl); a changed file is picked up without a restart.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::exporter::free_port;
use crate::support::{self_signed, tool};

/// `curl`'s HTTP status for `url` (0 when no HTTP answer came).
fn status(port: u16, cert: &std::path::Path, user: Option<&str>, path: &str) -> u16 {
    let mut args = vec![
        "--cacert".to_string(),
        cert.display().to_string(),
        "--resolve".to_string(),
        format!("localhost:{port}:127.0.0.1"),
    ];
    if let Some(user) = user {
        args.extend(["-u".to_string(), user.to_string()]);
    }
    curl_status(&args, &format!("https://localhost:{port}{path}"))
}

/// The HTTP status curl got for `url`; 0 when nothing answered (or no curl).
fn curl_status(args: &[String], url: &str) -> u16 {
    let Some(curl) = tool("curl") else { return 0 };
    let out = Command::new(curl)
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn web_yml(cert: &std::path::Path, key: &std::path::Path, password: &str) -> String {
    let hash = bcrypt::hash(password, 4).unwrap();
    format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  min_version: TLS12\nbasic_auth_users:\n  prometheus: {hash}\n",
        cert.display(),
        key.display()
    )
}

fn wait(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn web_config_tls_and_basic_auth_on_every_path() {
    if tool("curl").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some((cert, key)) = self_signed(dir.path()) else {
        return;
    };
    let web = dir.path().join("web.yml");
    std::fs::write(&web, web_yml(&cert, &key, "first")).unwrap();
    if let Some(promtool) = tool("promtool") {
        let out = Command::new(promtool)
            .args(["check", "web-config"])
            .arg(&web)
            .output()
            .unwrap();
        crate::support::assert_success(&out);
    }
    let port = free_port();
    let log = dir.path().join("exporter.log");
    let mut child = Command::new(crate::support::exporter::BINARY)
        .arg("--web.config.file")
        .arg(&web)
        .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait("the HTTPS server", || {
        status(port, &cert, Some("prometheus:first"), "/-/healthy") == 200
    });
    for path in ["/", "/metrics", "/-/healthy", "/-/ready"] {
        assert_eq!(
            status(port, &cert, Some("prometheus:first"), path),
            200,
            "{path}"
        );
        assert_eq!(
            status(port, &cert, None, path),
            401,
            "{path} without credentials"
        );
        assert_eq!(
            status(port, &cert, Some("prometheus:wrong"), path),
            401,
            "{path} with a wrong password"
        );
        assert_eq!(
            status(port, &cert, Some("someone:first"), path),
            401,
            "{path} with an unknown user"
        );
    }
    // Plain HTTP gets no answer.
    let plain = curl_status(&[], &format!("http://127.0.0.1:{port}/metrics"));
    assert_ne!(plain, 200);

    // The file changes: the new password works without a restart, the old one no longer.
    std::fs::write(&web, web_yml(&cert, &key, "second")).unwrap();
    wait("the changed web config", || {
        status(port, &cert, Some("prometheus:second"), "/metrics") == 200
    });
    assert_eq!(
        status(port, &cert, Some("prometheus:first"), "/metrics"),
        401
    );
    // A broken file keeps the running settings.
    std::fs::write(&web, "basic_auth_users:\n  prometheus: not-a-hash\n").unwrap();
    let _ = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status();
    wait("the failed reload to be logged", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Web configuration reload failed"))
    });
    assert_eq!(
        status(port, &cert, Some("prometheus:second"), "/metrics"),
        200
    );
    let _ = child.kill();
    let _ = child.wait();
}
