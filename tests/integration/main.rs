//! Integration tests: the `ike_exporter` binary and library driven from outside.

mod support;

// Golden: every corpus and fixture log through `diagnose --format prometheus`.
mod golden;
// The diagnose command line: formats, exit codes, errors.
mod diagnose_cli;
// The exporter following real files (rotation, truncation, restarts, reloads).
mod serve_files;
// The exporter with real logrotate and a real Prometheus server.
mod real_tools;
// Syslog listeners with real senders and hostile clients.
mod syslog;
// Deploy files checked by their own tools.
mod deploy_files;
// The exporter, Prometheus with the alert rules, Alertmanager and a webhook.
mod full_stack;
// Properties: no input bytes make a parser panic; good lines survive bad ones.
mod properties;
// The README's metrics table matches the code.
mod readme;
// The deploy files (Prometheus rules and config, Alertmanager) pass promtool, amtool and yamllint.
mod deploy_rules;
// Dashboards: Grafana's schema, and every query against a real Prometheus.
mod dashboards;
// The runbooks (English, Japanese) carry the advice verbatim.
mod runbook;
// --web.config.file: TLS and basic auth, as for node_exporter.
mod web_config;
// Label floods over UDP: bounded values, exact totals, valid exposition.
mod label_flood;
// Fuzz findings and seeds replayed through the fuzz entry points.
mod fuzz_regressions;
// The soak test (bench/soak.sh --ci): mixed load, exact counts, flat memory and fds.
mod soak;
