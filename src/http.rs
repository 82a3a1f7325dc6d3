//! The HTTP server: metrics, liveness and readiness (design.md §6).
//!
//! Routes (each answers `GET` and `HEAD`; any other method gets
//! `405 Method Not Allowed` with `Allow: GET, HEAD`; any other path `404`):
//!
//! | Path                     | Answer                                                        |
//! |--------------------------|---------------------------------------------------------------|
//! | `/`                      | landing page (HTML) linking the three paths below             |
//! | telemetry path           | `200`, the Prometheus text exposition 0.0.4 (default `/metrics`) |
//! | `/-/healthy`             | `200 OK` while the process serves HTTP (liveness)             |
//! | `/-/ready`               | `200 OK` once every source is open or bound ([`Readiness`]), else `503` listing each waiting key and reason, one per line |
//!
//! The telemetry path is configurable (`--web.telemetry-path`); if it equals
//! one of the fixed paths, the telemetry path wins.
//!
//! [`router`] builds the hyper service apart from [`serve`], so [`handle`] is
//! tested without sockets. [`serve`] runs one task per connection and drains
//! them with hyper-util's [`GracefulShutdown`] when its shutdown future
//! completes.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::log_limit::LogLimiter;
use crate::metrics::Metrics;
use crate::readiness::Readiness;
use crate::web_config::{Authenticator, WebConfig};

/// Liveness path.
pub const HEALTHY_PATH: &str = "/-/healthy";
/// Readiness path.
pub const READY_PATH: &str = "/-/ready";

/// How long a client may take to send a request's headers, including the
/// idle time of a keep-alive connection before its next request.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`serve`] waits for open connections once shutdown is asked.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (e.g. EMFILE) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most one accept-error warning per this interval.
const ACCEPT_WARN_INTERVAL: Duration = Duration::from_secs(1);
/// HTTP connections open at once; further ones are closed at once, so that a
/// flood of clients cannot use up the file descriptors the syslog listeners
/// and log files need. Prometheus needs one per scrape.
pub const MAX_CONNECTIONS: usize = 512;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const PLAIN_TEXT: &str = "text/plain; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const ALLOWED: &str = "GET, HEAD";

/// What the handlers read.
#[derive(Debug)]
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    /// Where the metrics are served, e.g. `/metrics`.
    pub telemetry_path: String,
    /// TLS and basic authentication (`--web.config.file`), replaced on reload.
    pub web: WebSettings,
}

/// The current web configuration and the authentication cache.
#[derive(Debug, Default)]
pub struct WebSettings {
    current: std::sync::RwLock<Arc<WebConfig>>,
    auth: Authenticator,
}

impl WebSettings {
    /// Settings starting with `config`.
    pub fn new(config: WebConfig) -> Self {
        Self {
            current: std::sync::RwLock::new(Arc::new(config)),
            auth: Authenticator::default(),
        }
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<WebConfig> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Replaces the configuration (new connections use the new TLS settings).
    pub fn replace(&self, config: WebConfig) {
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config);
        self.auth.clear();
    }
}

/// Answers one request. Never reads the request body, so any body type works.
pub async fn handle<B>(state: &HttpState, req: Request<B>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let route = if path == state.telemetry_path {
        Route::Metrics
    } else if path == "/" {
        Route::Landing
    } else if path == HEALTHY_PATH {
        Route::Healthy
    } else if path == READY_PATH {
        Route::Ready
    } else {
        return plain(StatusCode::NOT_FOUND, "Not Found\n");
    };

    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOWED));
            return resp;
        }
    };

    let resp = match route {
        Route::Metrics => {
            // Encoding 10,000 series takes ~17 ms of CPU: not on a runtime
            // worker, where it would hold up syslog connections.
            let metrics = Arc::clone(&state.metrics);
            let body = tokio::task::spawn_blocking(move || metrics.encode())
                .await
                .unwrap_or_default();
            respond(StatusCode::OK, PROMETHEUS_TEXT, body)
        }
        Route::Landing => respond(StatusCode::OK, HTML, landing_page(&state.telemetry_path)),
        Route::Healthy => plain(StatusCode::OK, "OK\n"),
        Route::Ready => match state.readiness.status() {
            Ok(()) => plain(StatusCode::OK, "OK\n"),
            Err(waiting) => {
                let body: String = waiting
                    .iter()
                    .map(|(key, reason)| format!("{key}: {reason}\n"))
                    .collect();
                respond(StatusCode::SERVICE_UNAVAILABLE, PLAIN_TEXT, body)
            }
        },
    };
    if head { strip_body(resp) } else { resp }
}

/// The hyper service over [`handle`]; cheap to clone, one clone per connection.
pub fn router(state: Arc<HttpState>) -> Router {
    Router { state }
}

/// See [`router`].
#[derive(Debug, Clone)]
pub struct Router {
    state: Arc<HttpState>,
}

impl<B: Send + 'static> hyper::service::Service<Request<B>> for Router {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, req: Request<B>) -> Self::Future {
        let state = Arc::clone(&self.state);
        Box::pin(async move {
            let config = state.web.current();
            if config.requires_auth() {
                let header = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                // bcrypt is slow on purpose: keep it off the runtime's workers.
                let checker = Arc::clone(&state);
                let allowed = tokio::task::spawn_blocking(move || {
                    checker.web.auth.allows(&config, header.as_deref())
                })
                .await
                .unwrap_or(false);
                if !allowed {
                    return Ok(unauthorized());
                }
            }
            Ok(handle(&state, req).await)
        })
    }
}

/// Binds `addr` (`host:port`, or `:port` for every interface as in the
/// Prometheus exporters' `--web.listen-address`). The error names the address.
pub async fn bind(addr: &str) -> io::Result<TcpListener> {
    let result = match addr.strip_prefix(':') {
        // IPv6 any-address first (dual-stack on most systems), then IPv4.
        Some(port) => match TcpListener::bind(format!("[::]:{port}")).await {
            Ok(listener) => Ok(listener),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(e),
            Err(_) => TcpListener::bind(format!("0.0.0.0:{port}")).await,
        },
        None => TcpListener::bind(addr).await,
    };
    result.map_err(|e| {
        let why = if e.kind() == io::ErrorKind::AddrInUse {
            "the address is already in use (is another exporter running?)".to_owned()
        } else {
            e.to_string()
        };
        io::Error::new(e.kind(), format!("cannot listen on {addr}: {why}"))
    })
}

/// Serves HTTP/1 on `listener` until `shutdown` completes, then stops
/// accepting, lets open connections finish (idle keep-alive ones are closed)
/// for at most [`DRAIN_TIMEOUT`], aborts the rest and returns.
pub async fn serve(
    listener: TcpListener,
    state: Arc<HttpState>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let service = router(state);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut warn_limit = LogLimiter::new(ACCEPT_WARN_INTERVAL);
    tokio::pin!(shutdown);

    loop {
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                // Reaped again here: connections that ended while accept()
                // waited must not hold their slots.
                Ok((stream, peer)) if {
                    while connections.try_join_next().is_some() {}
                    connections.len() >= MAX_CONNECTIONS
                } => {
                    drop(stream);
                    if let Some(suppressed) = warn_limit.allow(std::time::Instant::now()) {
                        tracing::warn!(%peer, limit = MAX_CONNECTIONS, suppressed, "Too many HTTP connections; closing a new one.");
                    }
                }
                Ok((stream, peer)) => {
                    let (builder, service, watcher) = (builder.clone(), service.clone(), graceful.watcher());
                    let tls = state_tls(&service);
                    connections.spawn(async move {
                        let result = match tls {
                            None => watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await,
                            Some(acceptor) => match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(tls)) => watcher.watch(builder.serve_connection(TokioIo::new(tls), service)).await,
                                Ok(Err(error)) => {
                                    tracing::debug!(%peer, %error, "HTTPS handshake failed.");
                                    return;
                                }
                                Err(_) => return,
                            },
                        };
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    if let Some(suppressed) = warn_limit.allow(std::time::Instant::now()) {
                        tracing::warn!(error = %e, suppressed, "HTTP accept failed; retrying");
                    }
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            },
        }
    }

    drop(listener);
    tracing::debug!(open = graceful.count(), "HTTP server stopping");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!(
                timeout_secs = DRAIN_TIMEOUT.as_secs(),
                "HTTP connections still open after the drain timeout; closing them"
            );
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// The TLS acceptor in force for a new connection, if any.
fn state_tls(service: &Router) -> Option<tokio_rustls::TlsAcceptor> {
    service.state.web.current().tls.clone()
}

/// How long an HTTPS client may take to complete its handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
enum Route {
    Landing,
    Metrics,
    Healthy,
    Ready,
}

/// The same answer for a missing user, a wrong password or a bad header.
fn unauthorized() -> Response<Full<Bytes>> {
    let mut resp = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"ike_exporter\""),
    );
    resp
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PLAIN_TEXT));
    resp
}

/// The `HEAD` answer: the `GET` headers, with the `GET` length, and no body.
fn strip_body(resp: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    let (mut parts, body) = resp.into_parts();
    let len = hyper::body::Body::size_hint(&body).exact().unwrap_or(0);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Response::from_parts(parts, Full::new(Bytes::new()))
}

fn landing_page(telemetry_path: &str) -> String {
    let metrics = escape_html(telemetry_path);
    let version = env!("CARGO_PKG_VERSION");
    format!(
        "<!DOCTYPE html>\n\
         <html lang=\"en\">\n\
         <head><meta charset=\"utf-8\"><title>IKE Exporter</title></head>\n\
         <body>\n\
         <h1>IKE Exporter</h1>\n\
         <p>Prometheus exporter for PAN-OS IKE/IPsec VPN failures, version {version}.</p>\n\
         <ul>\n\
         <li><a href=\"{metrics}\">Metrics</a></li>\n\
         <li><a href=\"{HEALTHY_PATH}\">Health</a></li>\n\
         <li><a href=\"{READY_PATH}\">Readiness</a></li>\n\
         </ul>\n\
         </body>\n\
         </html>\n"
    )
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;
    use tokio::time::Instant;

    fn state(telemetry_path: &str) -> HttpState {
        HttpState {
            metrics: Arc::new(Metrics::new()),
            readiness: Arc::new(Readiness::default()),
            telemetry_path: telemetry_path.to_owned(),
            web: WebSettings::default(),
        }
    }

    async fn call(state: &HttpState, method: Method, path: &str) -> (Response<()>, String) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(Empty::<Bytes>::new())
            .unwrap();
        let (parts, body) = handle(state, req).await.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            Response::from_parts(parts, ()),
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    fn header(resp: &Response<()>, name: header::HeaderName) -> &str {
        resp.headers().get(name).unwrap().to_str().unwrap()
    }

    #[tokio::test]
    async fn http_landing_page_links_every_path() {
        let st = state("/custom/metrics");
        let (resp, body) = call(&st, Method::GET, "/").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header(&resp, header::CONTENT_TYPE), HTML);
        assert!(body.contains("<title>IKE Exporter</title>"), "{body}");
        assert!(body.contains("href=\"/custom/metrics\""), "{body}");
        assert!(body.contains("href=\"/-/healthy\""), "{body}");
        assert!(body.contains("href=\"/-/ready\""), "{body}");
    }

    #[tokio::test]
    async fn http_landing_page_escapes_telemetry_path() {
        let st = state("/m\"><script>");
        let (_, body) = call(&st, Method::GET, "/").await;
        assert!(!body.contains("<script>"), "{body}");
        assert!(
            body.contains("href=\"/m&quot;&gt;&lt;script&gt;\""),
            "{body}"
        );
    }

    #[tokio::test]
    async fn http_metrics_serves_exposition() {
        let st = state("/metrics");
        let (resp, body) = call(&st, Method::GET, "/metrics?x=1").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            header(&resp, header::CONTENT_TYPE),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert!(body.contains("ike_exporter_build_info"), "{body}");
    }

    #[tokio::test]
    async fn http_metrics_follows_configured_path() {
        let st = state("/custom");
        let (resp, body) = call(&st, Method::GET, "/custom").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(body.contains("ike_exporter_build_info"));
        let (resp, _) = call(&st, Method::GET, "/metrics").await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn http_healthy_is_ok() {
        let st = state("/metrics");
        let (resp, body) = call(&st, Method::GET, "/-/healthy").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(body, "OK\n");
    }

    #[tokio::test]
    async fn http_ready_lists_waiting_keys_until_ready() {
        let st = state("/metrics");
        st.readiness
            .waiting("file:/var/log/pan.log", "does not exist yet");
        st.readiness.waiting("udp:[::]:514", "not bound");
        let (resp, body) = call(&st, Method::GET, "/-/ready").await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&resp, header::CONTENT_TYPE), PLAIN_TEXT);
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(
            lines,
            [
                "file:/var/log/pan.log: does not exist yet",
                "udp:[::]:514: not bound"
            ]
        );

        st.readiness.ready("file:/var/log/pan.log");
        st.readiness.ready("udp:[::]:514");
        let (resp, body) = call(&st, Method::GET, "/-/ready").await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(body, "OK\n");
    }

    #[tokio::test]
    async fn http_unknown_path_is_404() {
        let st = state("/metrics");
        for path in ["/nope", "/metrics/", "/-/", "/-/healthy/x"] {
            let (resp, _) = call(&st, Method::GET, path).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let (resp, _) = call(&st, Method::POST, "/nope").await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn http_other_method_is_405_with_allow() {
        let st = state("/metrics");
        for path in ["/", "/metrics", "/-/healthy", "/-/ready"] {
            for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
                let (resp, _) = call(&st, method.clone(), path).await;
                assert_eq!(
                    resp.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_eq!(header(&resp, header::ALLOW), "GET, HEAD");
            }
        }
    }

    #[tokio::test]
    async fn http_head_has_get_headers_and_empty_body() {
        let st = state("/metrics");
        st.readiness.waiting("tcp:6514", "not bound");
        for path in ["/", "/metrics", "/-/healthy", "/-/ready"] {
            let (get, get_body) = call(&st, Method::GET, path).await;
            let (head, head_body) = call(&st, Method::HEAD, path).await;
            assert_eq!(head.status(), get.status(), "{path}");
            assert_eq!(
                head.headers().get(header::CONTENT_TYPE),
                get.headers().get(header::CONTENT_TYPE),
                "{path}"
            );
            assert_eq!(head_body, "", "{path}");
            let len: usize = header(&head, header::CONTENT_LENGTH).parse().unwrap();
            // The exposition can grow between the two calls (process metrics).
            if path != "/metrics" {
                assert_eq!(len, get_body.len(), "{path}");
            } else {
                assert!(len > 0);
            }
        }
    }

    #[tokio::test]
    async fn http_bind_names_address_when_port_in_use() {
        let first = bind("127.0.0.1:0").await.unwrap();
        let addr = first.local_addr().unwrap().to_string();
        let err = bind(&addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let msg = err.to_string();
        assert!(msg.contains(&addr), "{msg}");
        assert!(msg.contains("already in use"), "{msg}");
    }

    #[tokio::test]
    async fn http_bind_accepts_port_only_address() {
        let listener = bind(":0").await.unwrap();
        assert!(listener.local_addr().unwrap().ip().is_unspecified());
    }

    /// Starts `serve` on 127.0.0.1:0; returns its address, the shutdown
    /// trigger and the task.
    async fn start(
        st: HttpState,
    ) -> (
        std::net::SocketAddr,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, Arc::new(st), async move {
            let _ = rx.await;
        }));
        (addr, tx, task)
    }

    #[tokio::test]
    async fn http_serve_answers_over_socket_and_stops_on_shutdown() {
        let (addr, tx, task) = start(state("/metrics")).await;
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let uri: hyper::Uri = format!("http://{addr}/metrics").parse().unwrap();
        let resp = client.get(uri).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&body).contains("ike_exporter_build_info"));

        let head = Request::head(format!("http://{addr}/-/healthy"))
            .body(Empty::new())
            .unwrap();
        let resp = client.request(head).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers().get(header::CONTENT_LENGTH).unwrap(), "3");
        assert!(
            resp.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .is_empty()
        );

        tx.send(()).unwrap();
        tokio::time::timeout(DRAIN_TIMEOUT * 2, task)
            .await
            .expect("serve did not return after shutdown")
            .unwrap();
        // The listener is closed: new connections are refused.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    #[tokio::test]
    async fn http_shutdown_closes_idle_keep_alive_connection() {
        let (addr, tx, task) = start(state("/metrics")).await;
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        let deadline = Instant::now() + Duration::from_secs(5);
        while !got.ends_with(b"\r\n\r\nOK\n") {
            let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
                .await
                .expect("no response")
                .unwrap();
            assert!(n > 0, "connection closed early");
            got.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&got).to_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(!head.contains("connection: close"), "{head}");

        // The connection is now idle and kept alive; shutdown must close it
        // rather than wait for the drain timeout.
        tx.send(()).unwrap();
        tokio::time::timeout(DRAIN_TIMEOUT / 2, task)
            .await
            .expect("serve waited on the idle connection")
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf))
            .await
            .expect("server did not close the connection")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }

    /// Sends a health check on a new connection: its status line, or
    /// `None` when the server closed the connection without answering.
    async fn health_on_new_connection(addr: std::net::SocketAddr) -> Option<String> {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8_lossy(&got);
        text.lines().next().map(str::to_owned)
    }

    #[tokio::test]
    async fn http_connections_beyond_the_limit_are_closed() {
        let (addr, tx, task) = start(state("/metrics")).await;
        let mut held = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        // Accepted in order: by the time this one is, the others are open.
        assert_eq!(health_on_new_connection(addr).await, None);
        // One closes while the server waits in accept(): its slot is free
        // for the very next client.
        drop(held.pop());
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            health_on_new_connection(addr).await.as_deref(),
            Some("HTTP/1.1 200 OK")
        );
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match health_on_new_connection(addr).await {
                Some(status) => {
                    assert_eq!(status, "HTTP/1.1 200 OK");
                    break;
                }
                None if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                None => panic!("no answer after the held connections closed"),
            }
        }
        tx.send(()).unwrap();
        task.await.unwrap();
    }
}
