//! The deploy files, checked by the tools that consume them: systemd's own
//! verifier, hadolint, kubernetes-validate, shellcheck, and the rule that the
//! Kubernetes PrometheusRule is generated from alerts.yml.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{root, tool};

/// Runs a tool in the repository root; panics with its output on failure.
fn check(program: &Path, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .expect("the tool runs");
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tool installed by tools/install-test-deps.sh into .venv-tools.
fn venv_tool(name: &str) -> Option<PathBuf> {
    let path = root().join(".venv-tools/bin").join(name);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{name} must be installed in CI (tools/install-test-deps.sh)"
    );
    None
}

#[test]
fn deploy_systemd_unit_verifies() {
    let Some(analyze) = tool("systemd-analyze") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // verify insists that ExecStart exists: point it at the binary just built.
    let unit = std::fs::read_to_string(root().join("deploy/systemd/ike_exporter.service"))
        .unwrap()
        .replace(
            "/usr/local/bin/ike_exporter",
            crate::support::exporter::BINARY,
        );
    let path = dir.path().join("ike_exporter.service");
    std::fs::write(&path, unit).unwrap();
    check(&analyze, &["verify", path.to_str().unwrap()]);
}

#[test]
fn deploy_dockerfile_passes_hadolint() {
    let Some(hadolint) = venv_tool("hadolint") else {
        return;
    };
    check(&hadolint, &["Dockerfile"]);
}

#[test]
fn deploy_kubernetes_manifests_validate() {
    let Some(validate) = venv_tool("kubernetes-validate") else {
        return;
    };
    let mut files: Vec<String> = std::fs::read_dir(root().join("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "yaml") && !p.ends_with("kustomization.yaml")
        })
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut args = vec!["--strict"];
    args.extend(files.iter().map(String::as_str));
    check(&validate, &args);
}

#[test]
fn deploy_prometheusrule_is_generated_from_alerts_yml() {
    let out = Command::new("bash")
        .arg(root().join("tools/gen-prometheusrule.sh"))
        .arg("--stdout")
        .output()
        .unwrap();
    crate::support::assert_success(&out);
    let committed =
        std::fs::read_to_string(root().join("deploy/kubernetes/prometheusrule.yaml")).unwrap();
    assert!(
        committed == String::from_utf8_lossy(&out.stdout),
        "deploy/kubernetes/prometheusrule.yaml is stale: run tools/gen-prometheusrule.sh"
    );
}

#[test]
fn deploy_shell_scripts_pass_shellcheck() {
    let Some(shellcheck) = tool("shellcheck") else {
        return;
    };
    let mut scripts = vec![".ci/run".to_owned()];
    for dir in ["tools", "tools/dashboards", "bench"] {
        if let Ok(entries) = std::fs::read_dir(root().join(dir)) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|x| x == "sh") {
                    scripts.push(
                        path.strip_prefix(root())
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
    }
    let args: Vec<&str> = scripts.iter().map(String::as_str).collect();
    check(&shellcheck, &args);
}
