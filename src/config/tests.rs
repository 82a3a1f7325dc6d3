//! Configuration tests: the example file, defaults, and one test per
//! validation error, each checking that the message names the key path.
use super::*;

const EXAMPLE: &str = include_str!("../../deploy/config.example.yaml");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

/// The error message for `text`, which must be refused.
fn error_of(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("accepted {text:?} as {config:?}"),
        Err(error) => error.to_string(),
    }
}

fn assert_error_starts(text: &str, prefix: &str) {
    let message = error_of(text);
    assert!(
        message.starts_with(prefix),
        "{message:?} does not start with {prefix:?}"
    );
}

fn file_source(extra: &str) -> String {
    format!("sources:\n  - name: pa\n    type: file\n    paths: [/var/log/pa.log]\n{extra}")
}

#[test]
fn config_example_loads() {
    let config = parse(EXAMPLE).unwrap();
    assert_eq!(config.sources.len(), 4);
    assert!(matches!(&config.sources[3].kind, SourceKind::Syslog(s) if s.max_connections == 256));
    assert_eq!(config.sources[0].name, "paloalto");
    assert_eq!(
        config.sources[0].kind,
        SourceKind::File {
            paths: vec!["/var/log/paloalto/*.log".to_owned()],
            read_from: ReadFrom::End,
        }
    );
    assert_eq!(config.sources[1].device.as_deref(), Some("pa-dc-01"));
    assert_eq!(
        config.gateways["gw-partner-acme"],
        "203.0.113.5".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        config.state_dir,
        Some(PathBuf::from("/var/lib/ike_exporter"))
    );
    assert_eq!(config.web.listen_socket_addr(), "0.0.0.0:9765");
}

#[test]
fn config_example_uncommented_tls_source_loads() {
    let start = EXAMPLE.find("  # - name: pa-tls").unwrap();
    let end = start + EXAMPLE[start..].find("\n\n").unwrap();
    let block: String = EXAMPLE[start..end]
        .lines()
        .map(|l| l.replacen("# ", "", 1) + "\n")
        .collect();
    let text = format!("{}{block}{}", &EXAMPLE[..start], &EXAMPLE[end + 1..]);
    let config = parse(&text).unwrap();
    assert!(config.sources.iter().any(|s| s.name == "pa-tls"), "{text}");
}

#[test]
fn config_example_uncommented_stdin_source_loads() {
    let text = EXAMPLE.replace(
        "  # - name: journal\n  #   type: stdin",
        "  - name: journal\n    type: stdin",
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.sources[2].kind, SourceKind::Stdin);
}

#[test]
fn config_empty_document_gives_defaults() {
    for text in ["", "\n", "# only a comment\n", "---\n"] {
        assert_eq!(parse(text).unwrap(), Config::default(), "{text:?}");
    }
    let config = Config::default();
    assert_eq!(config.limits.max_line_bytes, 65536);
    assert_eq!(config.files.poll_interval, Duration::from_millis(1000));
    assert_eq!(config.web.listen_address, ":9765");
    assert_eq!(config.web.telemetry_path, "/metrics");
    assert_eq!(
        (config.log.level, config.log.format),
        (LogLevel::Info, LogFormat::Text)
    );
}

#[test]
fn config_empty_sections_give_defaults() {
    let text = "limits: {}\nfiles: {}\nweb: {}\nlog: {}\nsources: []\n";
    assert_eq!(parse(text).unwrap(), Config::default());
    // A key whose entries are all commented out is null.
    let text = "sources:\nlimits:\nstate_dir:\ngateways:\npeers:\nweb:\n";
    assert_eq!(parse(text).unwrap(), Config::default());
}

#[test]
fn config_file_source_read_from_defaults_to_end() {
    let config = parse(&file_source("")).unwrap();
    let SourceKind::File { read_from, .. } = &config.sources[0].kind else {
        panic!("not a file source: {config:?}");
    };
    assert_eq!(*read_from, ReadFrom::End);
}

#[test]
fn config_unknown_field_at_depth_names_path() {
    let text = "sources:\n  - name: pa\n    type: file\n    pathz: [/x]\n";
    assert_error_starts(text, "sources[0]: unknown field `pathz`, expected one of");
    let limits = "limits:\n  max_peer: 5\n";
    assert_error_starts(
        limits,
        "limits.max_peer: unknown field `max_peer`, expected one of",
    );
    assert_error_starts("log:\n  levle: x\n", "log.levle: unknown field `levle`");
    assert_error_starts("sourcez: []\n", "sourcez: unknown field `sourcez`");
}

#[test]
fn config_unknown_source_type_names_path() {
    let text = "sources:\n  - name: a\n    type: syslog_smtp\n";
    assert_error_starts(text, "sources[0].type: unknown variant `syslog_smtp`");
}

#[test]
fn config_missing_required_field_names_path() {
    let text = "sources:\n  - name: a\n    type: file\n";
    assert_error_starts(text, "sources[0]: missing field `paths`");
    assert_error_starts(
        "sources:\n  - type: stdin\n",
        "sources[0]: missing field `name`",
    );
}

#[test]
fn config_wrong_type_names_path() {
    assert_error_starts(
        "limits:\n  max_peers: many\n",
        "limits.max_peers: invalid type",
    );
    assert_error_starts(
        "files:\n  rotate_wait_secs: -1\n",
        "files.rotate_wait_secs:",
    );
    assert_error_starts("peers: 203.0.113.5\n", "peers: invalid type");
}

#[test]
fn config_empty_paths_names_path() {
    let text = "sources:\n  - name: pa\n    type: file\n    paths: []\n";
    let message = error_of(text);
    assert_eq!(
        message,
        "sources[0].paths: must list at least one path or glob"
    );
}

#[test]
fn config_bad_glob_names_path() {
    let text = "sources:\n  - {name: a, type: stdin}\n  - name: b\n    type: file\n    \
                paths: [/var/log/ok.log, \"/var/log/[abc.log\"]\n";
    assert_error_starts(
        text,
        "sources[1].paths[1]: \"/var/log/[abc.log\" is not a valid glob",
    );
    let empty = "sources:\n  - name: b\n    type: file\n    paths: [\"\"]\n";
    assert_error_starts(empty, "sources[0].paths[0]: must not be empty");
}

#[test]
fn config_duplicate_source_name_names_second() {
    let text = "sources:\n  - {name: pa, type: stdin}\n  - {name: x, type: file, paths: [/a]}\n  \
                - {name: pa, type: file, paths: [/b]}\n";
    let message = error_of(text);
    assert_eq!(
        message,
        "sources[2].name: \"pa\" is already the name of sources[0]"
    );
}

#[test]
fn config_two_stdin_sources_refused() {
    let text = "sources:\n  - {name: a, type: stdin}\n  - {name: b, type: stdin}\n";
    assert_error_starts(text, "sources[1].type: only one stdin source is allowed");
}

#[test]
fn config_bad_source_name_names_path() {
    assert_error_starts(
        "sources:\n  - {name: '', type: stdin}\n",
        "sources[0].name: must not",
    );
    let long = format!("sources:\n  - {{name: {}, type: stdin}}\n", "a".repeat(65));
    assert_error_starts(&long, "sources[0].name: must be at most 64 bytes");
    let control = "sources:\n  - {name: \"a\\tb\", type: stdin}\n";
    assert_error_starts(control, "sources[0].name: must not contain control");
    let device = "sources:\n  - {name: a, type: stdin, device: ''}\n";
    assert_error_starts(device, "sources[0].device: must not be empty");
}

#[test]
fn config_bad_ip_in_gateways_names_path() {
    let message = error_of("gateways:\n  gw-a: 300.1.1.1\n");
    assert_eq!(message, "gateways.gw-a: \"300.1.1.1\" is not an IP address");
}

#[test]
fn config_bad_ip_in_peers_names_path() {
    let message = error_of("peers: [203.0.113.5, fw.example.net]\n");
    assert_eq!(message, "peers[1]: \"fw.example.net\" is not an IP address");
}

#[test]
fn config_ipv6_peers_and_gateways_accepted() {
    let config = parse("peers: [\"2001:db8::1\"]\ngateways: {gw: \"::1\"}\n").unwrap();
    assert_eq!(config.peers, vec!["2001:db8::1".parse::<IpAddr>().unwrap()]);
    assert_eq!(config.gateways["gw"], IpAddr::from(Ipv6Addr::LOCALHOST));
}

#[test]
fn config_limits_out_of_range_names_path() {
    let message = error_of("limits:\n  max_peers: 0\n");
    assert_eq!(message, "limits.max_peers: must be at least 1 (got 0)");
    assert_error_starts(
        "limits: {max_objects: 0}",
        "limits.max_objects: must be at least 1",
    );
    assert_error_starts(
        "limits: {max_event_ids: 0}",
        "limits.max_event_ids: must be at",
    );
    let small = "limits: {max_line_bytes: 255}";
    assert_error_starts(
        small,
        "limits.max_line_bytes: must be between 256 and 16777216",
    );
    assert_error_starts(
        "limits: {max_line_bytes: 16777217}",
        "limits.max_line_bytes:",
    );
    assert_error_starts(
        "files: {rotate_wait_secs: 3601}",
        "files.rotate_wait_secs: must",
    );
    assert_error_starts(
        "files: {poll_interval_ms: 49}",
        "files.poll_interval_ms: must",
    );
    assert_error_starts(
        "files: {checkpoint_interval_secs: 0}",
        "files.checkpoint_interval_secs",
    );
}

#[test]
fn config_limits_at_bounds_accepted() {
    let text = "limits: {max_peers: 1, max_line_bytes: 16777216}\n\
                files: {rotate_wait_secs: 0, poll_interval_ms: 60000, checkpoint_interval_secs: 3600}\n";
    let config = parse(text).unwrap();
    assert_eq!(config.limits.max_line_bytes, 16 * 1024 * 1024);
    assert_eq!(config.files.rotate_wait, Duration::ZERO);
    assert_eq!(config.files.poll_interval, Duration::from_secs(60));
}

#[test]
fn config_bad_telemetry_path_names_path() {
    for path in [
        "metrics",
        "/",
        "/-/healthy",
        "/-/ready",
        "/met rics",
        "/m?x",
    ] {
        let text = format!("web:\n  telemetry_path: {path:?}\n");
        assert_error_starts(&text, "web.telemetry_path: ");
    }
}

#[test]
fn config_bad_listen_address_names_path() {
    let bad = [
        "9765",
        ":0",
        ":65536",
        ":http",
        "::1:9765",
        "[::1:9765",
        "[fw]:9765",
        "a b:1",
    ];
    for address in bad.into_iter().chain(["300.1.1.1:9765", "-fw:9765", ""]) {
        let text = format!("web:\n  listen_address: {address:?}\n");
        assert_error_starts(&text, "web.listen_address: ");
    }
}

#[test]
fn config_listen_socket_addr_fills_in_all_interfaces() {
    for (given, bound) in [
        (":9765", "0.0.0.0:9765"),
        ("127.0.0.1:9765", "127.0.0.1:9765"),
        ("[::1]:9765", "[::1]:9765"),
        ("[::]:9765", "[::]:9765"),
        ("localhost:9765", "localhost:9765"),
        ("exporter.example.net:1", "exporter.example.net:1"),
    ] {
        let config = parse(&format!("web: {{listen_address: {given:?}}}")).unwrap();
        assert_eq!(config.web.listen_socket_addr(), bound);
    }
}

#[test]
fn config_bad_log_level_names_path() {
    assert_error_starts(
        "log:\n  level: verbose\n",
        "log.level: unknown variant `verbose`",
    );
    assert_error_starts("log:\n  format: xml\n", "log.format: unknown variant `xml`");
}

#[test]
fn config_not_yaml_is_refused() {
    assert!(parse("sources: [\n").is_err());
    assert!(parse("just a string\n").is_err());
    assert!(parse("a: 1\n---\nb: 2\n").is_err());
}

#[test]
fn config_valid_full_fixture_loads() {
    let config = load(&fixture("valid_full.yaml")).unwrap();
    assert_eq!(config.sources.len(), 2);
    assert_eq!(config.sources[1].kind, SourceKind::Stdin);
    assert_eq!(config.limits.max_line_bytes, 1_048_576);
    assert_eq!(config.files.checkpoint_interval, Duration::from_secs(60));
    assert_eq!(config.peers.len(), 2);
    assert_eq!(config.web.listen_socket_addr(), "127.0.0.1:9999");
    assert_eq!(config.web.telemetry_path, "/ike/metrics");
    assert_eq!(
        (config.log.level, config.log.format),
        (LogLevel::Debug, LogFormat::Json)
    );
}

#[test]
fn config_invalid_unknown_key_fixture_refused() {
    let error = load(&fixture("invalid_unknown_key.yaml")).unwrap_err();
    assert_eq!(error.key(), Some("sources[0]"));
    assert!(
        error.to_string().contains("unknown field `pathz`"),
        "{error}"
    );
}

#[test]
fn config_invalid_duplicate_source_fixture_refused() {
    let error = load(&fixture("invalid_duplicate_source.yaml")).unwrap_err();
    assert_eq!(error.key(), Some("sources[1].name"));
}

#[test]
fn config_missing_file_error_names_file() {
    let error = load(&fixture("does_not_exist.yaml")).unwrap_err();
    assert!(matches!(error, Error::Read { .. }));
    assert!(error.to_string().contains("does_not_exist.yaml"), "{error}");
}
