//! The live exporter: configuration, sources, the pipeline, the HTTP server,
//! signals. Sources and the pipeline run on threads of their own (blocking
//! file I/O and CPU-bound parsing); the HTTP server, the checkpoint saver and
//! signal handling run on a small tokio runtime.
//!
//! Shutdown (SIGTERM, SIGINT): sources stop reading, every line already read
//! is processed (a barrier through the channel), checkpoints are saved, HTTP
//! connections are drained, exit 0. SIGHUP reloads the configuration: it is
//! validated first; on error the old one stays and
//! `ike_exporter_config_last_reload_successful` is 0. Counters are never reset.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::cli::ServeArgs;
use crate::config::{self, Config, SourceConfig, SourceKind};
use crate::http::{self, HttpState};
use crate::metrics::Metrics;
use crate::pipeline::{Clock, Pipeline, PipelineConfig, SourceState};
use crate::readiness::Readiness;
use crate::record::RecordConfig;
use crate::source::checkpoint::{Checkpoints, FileKey};
use crate::source::file::{FileSourceConfig, Tailer};
use crate::source::{self, Message, StreamId};

/// Messages in flight between sources and the pipeline (each up to a read
/// buffer of lines): the bound that turns a slow pipeline into backpressure.
const CHANNEL_CAPACITY: usize = 64;

/// Runs the exporter until a termination signal.
pub fn main(args: &ServeArgs) -> ExitCode {
    let config = match load(args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("ike_exporter: {error:#}");
            return ExitCode::from(1);
        }
    };
    if args.check_config {
        println!(
            "ike_exporter: configuration OK ({} source(s))",
            config.sources.len()
        );
        return ExitCode::SUCCESS;
    }
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ike_exporter: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(config, args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "Exporter failed.");
            eprintln!("ike_exporter: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// The configuration file (if any) with the command-line flags applied.
pub fn load(args: &ServeArgs) -> Result<Config> {
    let Some(path) = &args.config else {
        let mut raw = config::RawConfig::default();
        args.apply(&mut raw);
        return Ok(raw.validate()?);
    };
    let mut raw = config::load_raw(path)?;
    args.apply(&mut raw);
    raw.validate()
        .with_context(|| format!("{}", path.display()))
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::new(config.log.level.as_str());
    // Colours only on a terminal: log files and journald get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = match config.log.format {
        config::LogFormat::Json => builder.json().try_init(),
        config::LogFormat::Text => builder.try_init(),
    };
    if let Err(error) = result {
        eprintln!("ike_exporter: logging not set up: {error}");
    }
}

/// A running file source.
struct RunningTailer {
    config: SourceConfig,
    stop: Arc<AtomicBool>,
    wake: std::sync::mpsc::Sender<()>,
    thread: JoinHandle<Vec<FileKey>>,
}

/// Everything the exporter runs.
struct Exporter {
    config: Config,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    checkpoints: Arc<Checkpoints>,
    tx: mpsc::Sender<Message>,
    tailers: Vec<RunningTailer>,
    /// Syslog listener tasks (aborted at shutdown).
    listeners: Vec<(SourceConfig, tokio::task::JoinHandle<()>)>,
    stdin_started: bool,
}

async fn serve(config: Config, args: &ServeArgs) -> Result<()> {
    let metrics = Arc::new(Metrics::new());
    if let Err(error) = metrics.register_process_collector() {
        tracing::warn!(%error, "No process metrics.");
    }
    let readiness = Arc::new(Readiness::default());
    let checkpoints = Arc::new(
        Checkpoints::open(config.state_dir.as_deref())
            .context("cannot open the state directory")?,
    );
    let web = match &args.web_config_file {
        Some(path) => crate::web_config::WebConfig::load(path)?,
        None => crate::web_config::WebConfig::default(),
    };
    let listener = http::bind(&config.web.listen_address).await?;
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let pipeline_config = PipelineConfig {
        clock: Clock::ReadTime,
        timezone: jiff::tz::TimeZone::UTC,
        record: record_config(&config),
    };
    let pipeline = {
        let (metrics, checkpoints) = (Arc::clone(&metrics), Arc::clone(&checkpoints));
        std::thread::Builder::new()
            .name("pipeline".into())
            .spawn(move || run_pipeline(rx, Pipeline::new(metrics, pipeline_config), &checkpoints))
            .context("cannot start the pipeline thread")?
    };
    let mut exporter = Exporter {
        config,
        metrics: Arc::clone(&metrics),
        readiness: Arc::clone(&readiness),
        checkpoints: Arc::clone(&checkpoints),
        tx,
        tailers: Vec::new(),
        listeners: Vec::new(),
        stdin_started: false,
    };
    let fresh = !checkpoints.has_history();
    for source in exporter.config.sources.clone() {
        exporter.start_source(source, fresh).await?;
    }
    save_checkpoints(&checkpoints).await;
    let (http_stop_tx, http_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let state = Arc::new(HttpState {
        metrics: Arc::clone(&metrics),
        readiness,
        telemetry_path: exporter.config.web.telemetry_path.clone(),
        web: http::WebSettings::new(web),
    });
    let server = tokio::spawn(http::serve(listener, Arc::clone(&state), async {
        let _ = http_stop_rx.await;
    }));
    tracing::info!(address = %exporter.config.web.listen_address, sources = exporter.config.sources.len(), "Exporter started.");
    exporter.wait_for_signals(args, &state).await?;

    tracing::info!("Shutting down: finishing lines in flight.");
    for (_, task) in exporter.listeners.drain(..) {
        task.abort();
    }
    exporter.stop_tailers(|_| true).await;
    save_checkpoints(&checkpoints).await;
    let _ = http_stop_tx.send(());
    let _ = server.await;
    drop(exporter);
    // The pipeline thread ends when the last sender is gone; a stdin reader
    // blocked on input may still hold one, so it is not joined.
    let _ = pipeline;
    tracing::info!("Stopped.");
    Ok(())
}

impl Exporter {
    /// Handles signals until SIGTERM or SIGINT; saves checkpoints meanwhile.
    async fn wait_for_signals(&mut self, args: &ServeArgs, http: &HttpState) -> Result<()> {
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
        let mut save = tokio::time::interval(self.config.files.checkpoint_interval);
        let mut web_check = tokio::time::interval(WEB_CONFIG_CHECK);
        let mut web_stamp = args.web_config_file.as_deref().and_then(modified);
        loop {
            tokio::select! {
                _ = term.recv() => return Ok(()),
                _ = int.recv() => return Ok(()),
                _ = hup.recv() => {
                    self.reload(args).await;
                    reload_web(args, http);
                    web_stamp = args.web_config_file.as_deref().and_then(modified);
                }
                _ = save.tick() => save_checkpoints(&self.checkpoints).await,
                _ = web_check.tick() => {
                    let stamp = args.web_config_file.as_deref().and_then(modified);
                    if stamp != web_stamp {
                        web_stamp = stamp;
                        reload_web(args, http);
                    }
                }
            }
        }
    }

    /// SIGHUP: validate the new configuration, then apply it.
    async fn reload(&mut self, args: &ServeArgs) {
        let new = match load(args) {
            Ok(config) => config,
            Err(error) => {
                self.metrics.config_reload_successful.set(0);
                tracing::error!(error = %format!("{error:#}"), "Configuration reload failed; keeping the running configuration.");
                return;
            }
        };
        if new.web != self.config.web
            || new.log != self.config.log
            || new.state_dir != self.config.state_dir
        {
            tracing::warn!("Changes to web, log or state_dir take effect after a restart.");
        }
        let _ = self
            .tx
            .send(Message::Reconfigure(record_config(&new)))
            .await;
        let changed = |s: &SourceConfig| !new.sources.contains(s);
        self.stop_tailers(changed).await;
        let running: Vec<String> = self.tailers.iter().map(|t| t.config.name.clone()).collect();
        let old = std::mem::replace(&mut self.config, new);
        let listening: Vec<String> = self.listeners.iter().map(|(s, _)| s.name.clone()).collect();
        for source in self.config.sources.clone() {
            let restartable = matches!(source.kind, SourceKind::File { .. });
            if running.contains(&source.name) || !restartable && old.sources.contains(&source) {
                continue;
            }
            let known = old.sources.iter().any(|s| s.name == source.name);
            if !restartable && (known || listening.contains(&source.name)) {
                tracing::warn!(source = %source.name, "Changes to a stdin or syslog source take effect after a restart.");
                continue;
            }
            // A new source starts at `read_from`; a changed one resumes its
            // files and reads files it did not know from their beginning.
            let fresh = !known;
            if let Err(error) = self.start_source(source, fresh).await {
                tracing::error!(error = %format!("{error:#}"), "Cannot start a source.");
            }
        }
        self.metrics.config_reload_successful.set(1);
        tracing::info!(
            sources = self.config.sources.len(),
            "Configuration reloaded."
        );
    }

    async fn start_source(&mut self, source: SourceConfig, fresh: bool) -> Result<()> {
        let name: Arc<str> = Arc::from(source.name.as_str());
        let device: Option<Arc<str>> = source.device.as_deref().map(Arc::from);
        let max_line_bytes = self.config.limits.max_line_bytes;
        match &source.kind {
            SourceKind::File { paths, read_from } => {
                let cfg = FileSourceConfig {
                    name,
                    patterns: paths.clone(),
                    device,
                    read_from: *read_from,
                    rotate_wait: self.config.files.rotate_wait,
                    poll_interval: self.config.files.poll_interval,
                    max_line_bytes,
                };
                // Checkpoints are not saved until this tailer's first scan is recorded.
                self.checkpoints.expect_first_scan();
                let tailer = Tailer::new(
                    fresh,
                    cfg,
                    self.tx.clone(),
                    Arc::clone(&self.checkpoints),
                    Arc::clone(&self.readiness),
                    Arc::clone(&self.metrics),
                );
                let stop = Arc::new(AtomicBool::new(false));
                let (wake_tx, wake_rx) = std::sync::mpsc::channel();
                let thread = {
                    let (stop, wake_tx) = (Arc::clone(&stop), wake_tx.clone());
                    std::thread::Builder::new()
                        .name(format!("file:{}", source.name))
                        .spawn(move || tailer.run(wake_rx, wake_tx, stop))
                        .context("cannot start a file source thread")?
                };
                self.tailers.push(RunningTailer {
                    config: source,
                    stop,
                    wake: wake_tx,
                    thread,
                });
            }
            SourceKind::Stdin => {
                // Standard input can be read by one thread, once.
                if std::mem::replace(&mut self.stdin_started, true) {
                    tracing::warn!(source = %source.name, "Standard input is already read; ignoring this source.");
                    return Ok(());
                }
                let tx = self.tx.clone();
                std::thread::Builder::new()
                    .name("stdin".into())
                    .spawn(move || {
                        if let Err(error) = source::stdin::run(
                            name,
                            device,
                            std::io::stdin().lock(),
                            max_line_bytes,
                            &tx,
                        ) {
                            tracing::warn!(%error, "Standard input ended with an error.");
                        }
                    })
                    .context("cannot start the stdin thread")?;
            }
            SourceKind::Syslog(syslog) => {
                let task = start_listener(&source, syslog, &self.metrics, &self.tx).await?;
                self.listeners.push((source, task));
            }
        }
        Ok(())
    }

    /// Stops the tailers `which` selects, waits until the pipeline processed
    /// all they sent, and hands their files back to the checkpoints.
    async fn stop_tailers(&mut self, which: impl Fn(&SourceConfig) -> bool) {
        let (stopping, keep): (Vec<_>, Vec<_>) =
            self.tailers.drain(..).partition(|t| which(&t.config));
        self.tailers = keep;
        for t in &stopping {
            t.stop.store(true, Ordering::SeqCst);
            let _ = t.wake.send(());
        }
        let mut released = Vec::new();
        for t in stopping {
            let keys = tokio::task::spawn_blocking(move || t.thread.join().unwrap_or_default())
                .await
                .unwrap_or_default();
            released.extend(keys);
        }
        self.barrier().await;
        self.checkpoints.release(&released);
    }

    /// Waits until the pipeline has processed every message sent so far.
    async fn barrier(&self) {
        let (ack_tx, ack_rx) = std::sync::mpsc::channel();
        if self.tx.send(Message::Barrier(ack_tx)).await.is_ok() {
            let _ =
                tokio::task::spawn_blocking(move || ack_rx.recv_timeout(Duration::from_secs(30)))
                    .await;
        }
    }
}

/// Binds a syslog listener (a port in use is an error here, at start-up) and
/// spawns its task.
async fn start_listener(
    source: &SourceConfig,
    syslog: &config::SyslogConfig,
    metrics: &Arc<Metrics>,
    tx: &mpsc::Sender<Message>,
) -> Result<tokio::task::JoinHandle<()>> {
    use crate::source::syslog::{Listener, stream, udp};
    let listener = Listener::new(
        &source.name,
        source.device.as_deref(),
        &syslog.allowed_senders,
        Arc::clone(metrics),
    );
    let tx = tx.clone();
    let address = &syslog.listen_address;
    let task = match &syslog.transport {
        config::Transport::Udp {
            receive_buffer_bytes,
        } => {
            let socket = udp::bind(address, *receive_buffer_bytes)?;
            tokio::spawn(udp::run(socket, listener, syslog.max_message_bytes, tx))
        }
        transport => {
            let tls = match transport {
                config::Transport::Tls(files) => Some(
                    stream::tls_acceptor(files)
                        .with_context(|| format!("source {}", source.name))?,
                ),
                _ => None,
            };
            let socket = stream::bind(address).await?;
            let settings = stream::StreamSettings {
                max_message_bytes: syslog.max_message_bytes,
                max_connections: syslog.max_connections,
                max_connections_per_sender: syslog.max_connections_per_sender,
                idle_timeout: syslog.idle_timeout,
                tls,
            };
            tokio::spawn(stream::run(socket, listener, settings, tx))
        }
    };
    tracing::info!(source = %source.name, address = %address, "Syslog listener bound.");
    Ok(task)
}

/// How often the web configuration file is checked for changes.
const WEB_CONFIG_CHECK: Duration = Duration::from_secs(5);

fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Re-reads `--web.config.file`; a file that does not validate leaves the
/// running TLS and users in place.
fn reload_web(args: &ServeArgs, http: &HttpState) {
    let Some(path) = &args.web_config_file else {
        return;
    };
    match crate::web_config::WebConfig::load(path) {
        Ok(config) => {
            http.web.replace(config);
            tracing::info!(path = %path.display(), "Web configuration reloaded.");
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "Web configuration reload failed; keeping the running one.");
        }
    }
}

fn record_config(config: &Config) -> RecordConfig {
    RecordConfig {
        max_peers: config.limits.max_peers,
        max_objects: config.limits.max_objects,
        max_event_ids: config.limits.max_event_ids,
        max_devices: config.limits.max_devices,
        gateways: config
            .gateways
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        peers: config.peers.iter().map(ToString::to_string).collect(),
    }
}

async fn save_checkpoints(checkpoints: &Arc<Checkpoints>) {
    let checkpoints = Arc::clone(checkpoints);
    match tokio::task::spawn_blocking(move || checkpoints.save()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "Cannot save checkpoints."),
        Err(error) => tracing::warn!(%error, "Checkpoint saver failed."),
    }
}

/// The pipeline thread: processes messages in order until every sender is gone.
fn run_pipeline(
    mut rx: mpsc::Receiver<Message>,
    mut pipeline: Pipeline,
    checkpoints: &Checkpoints,
) {
    let mut streams: HashMap<StreamId, (SourceState, Option<FileKey>)> = HashMap::new();
    let mut ignore = |_| {};
    while let Some(message) = rx.blocking_recv() {
        let now = now_seconds();
        match message {
            Message::Open {
                stream,
                source,
                device,
                file,
                export_header,
            } => {
                let key = file.as_ref().map(|entry| entry.key);
                if let Some(entry) = file {
                    checkpoints.track(entry);
                }
                let state = pipeline.source_of(&source, device.as_deref(), export_header);
                streams.insert(stream, (state, key));
            }
            Message::Reset {
                stream,
                fingerprint,
            } => {
                if let Some((_, Some(key))) = streams.get(&stream) {
                    checkpoints.update(*key, None, Some(fingerprint));
                    checkpoints.processed(*key, 0);
                }
            }
            Message::Fingerprint {
                stream,
                fingerprint,
            } => {
                if let Some((_, Some(key))) = streams.get(&stream) {
                    checkpoints.update(*key, None, Some(fingerprint));
                }
            }
            Message::ScanDone => checkpoints.first_scan_done(),
            Message::Bytes { stream, count } => {
                if let Some((src, _)) = streams.get_mut(&stream) {
                    src.count_bytes(count);
                }
            }
            Message::Lines {
                stream,
                block,
                end_offset,
            } => {
                if let Some((src, key)) = streams.get_mut(&stream) {
                    pipeline.block(src, &block, now, &mut ignore);
                    processed(checkpoints, *key, end_offset);
                }
            }
            Message::TooLong { stream, end_offset } => {
                if let Some((src, key)) = streams.get_mut(&stream) {
                    pipeline.frame(src, crate::parse::framing::Frame::TooLong, now, &mut ignore);
                    processed(checkpoints, *key, end_offset);
                }
            }
            Message::Close { stream } => {
                if let Some((mut src, key)) = streams.remove(&stream) {
                    pipeline.finish(&mut src, now, &mut ignore);
                    if let Some(key) = key {
                        checkpoints.forget(key);
                    }
                }
            }
            Message::Detach { stream } => {
                streams.remove(&stream);
            }
            Message::Reconfigure(record) => pipeline.reconfigure(record),
            Message::Barrier(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

fn processed(checkpoints: &Checkpoints, key: Option<FileKey>, end_offset: Option<u64>) {
    if let (Some(key), Some(offset)) = (key, end_offset) {
        checkpoints.processed(key, offset);
    }
}

fn now_seconds() -> f64 {
    jiff::Timestamp::now().as_millisecond() as f64 / 1000.0
}
