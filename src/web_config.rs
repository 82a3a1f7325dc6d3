//! `--web.config.file`: TLS and basic authentication for every HTTP path, in
//! the format of the Prometheus exporter-toolkit, so that operators reuse
//! what they know from node_exporter (and `promtool check web-config`).
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: ca.crt                         # with the above
//!   min_version: TLS12                             # TLS12 (default) or TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...                         # bcrypt hash
//! ```
//!
//! The file is read at start, on SIGHUP and when it changes; a file that
//! does not validate leaves the running settings in place.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    #[serde(default)]
    tls_server_config: Option<RawTlsServer>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    /// Accepted for compatibility with the exporter-toolkit; ignored.
    #[serde(default)]
    http_server_config: Option<serde_norway::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTlsServer {
    cert_file: PathBuf,
    key_file: PathBuf,
    #[serde(default)]
    client_auth_type: Option<String>,
    #[serde(default)]
    client_ca_file: Option<PathBuf>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    max_version: Option<String>,
    /// Accepted for compatibility; rustls chooses among safe suites itself.
    #[serde(default)]
    cipher_suites: Option<Vec<String>>,
    #[serde(default)]
    prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    curve_preferences: Option<Vec<String>>,
}

/// Validated settings.
#[derive(Clone, Default)]
pub struct WebConfig {
    /// `None`: plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// User name → bcrypt hash; empty: no authentication.
    users: BTreeMap<String, String>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl WebConfig {
    /// Reads and validates a web configuration file; paths in it are relative
    /// to the file's directory, as in the exporter-toolkit.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let raw: RawWebConfig =
            serde_path_to_error::deserialize(serde_norway::Deserializer::from_str(&text)).map_err(
                |error| anyhow::anyhow!("{}: {}: {}", path.display(), error.path(), error.inner()),
            )?;
        let base = path.parent().unwrap_or(Path::new("."));
        warn_ignored(path, &raw);
        for (user, hash) in &raw.basic_auth_users {
            // A malformed hash would refuse every password: say so now.
            if bcrypt::verify("", hash).is_err() {
                bail!(
                    "{}: basic_auth_users.{user}: not a bcrypt hash",
                    path.display()
                );
            }
        }
        let tls = raw
            .tls_server_config
            .map(|tls| acceptor(base, &tls))
            .transpose()
            .with_context(|| format!("{}: tls_server_config", path.display()))?;
        Ok(Self {
            tls,
            users: raw.basic_auth_users,
        })
    }

    /// True when requests must authenticate.
    pub fn requires_auth(&self) -> bool {
        !self.users.is_empty()
    }
}

/// Keys of the exporter-toolkit format that rustls settles by itself.
fn warn_ignored(path: &Path, raw: &RawWebConfig) {
    let tls = raw.tls_server_config.as_ref();
    let ignored = [
        ("http_server_config", raw.http_server_config.is_some()),
        (
            "tls_server_config.cipher_suites",
            tls.is_some_and(|t| t.cipher_suites.is_some()),
        ),
        (
            "tls_server_config.prefer_server_cipher_suites",
            tls.is_some_and(|t| t.prefer_server_cipher_suites.is_some()),
        ),
        (
            "tls_server_config.curve_preferences",
            tls.is_some_and(|t| t.curve_preferences.is_some()),
        ),
    ];
    for (key, set) in ignored {
        if set {
            tracing::warn!(path = %path.display(), key, "Ignored: rustls chooses safe settings itself.");
        }
    }
}

fn acceptor(base: &Path, raw: &RawTlsServer) -> Result<TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let path = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    let (cert_file, key_file) = (path(&raw.cert_file), path(&raw.key_file));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_file)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .with_context(|| format!("cert_file {}", cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(&key_file)
        .with_context(|| format!("key_file {}", key_file.display()))?;
    let versions: &[&rustls::SupportedProtocolVersion] = match raw.min_version.as_deref() {
        None | Some("TLS12") => &[&rustls::version::TLS12, &rustls::version::TLS13],
        Some("TLS13") => &[&rustls::version::TLS13],
        Some(other) => {
            bail!("min_version: {other:?} is not TLS12 or TLS13 (older versions are not offered)")
        }
    };
    if let Some(max) = raw.max_version.as_deref()
        && !matches!(max, "TLS12" | "TLS13")
    {
        bail!("max_version: {max:?} is not TLS12 or TLS13");
    }
    let builder = rustls::ServerConfig::builder_with_protocol_versions(versions);
    let require = match raw.client_auth_type.as_deref() {
        None | Some("NoClientCert") => None,
        Some("RequireAndVerifyClientCert") => Some(true),
        Some("VerifyClientCertIfGiven") => Some(false),
        Some(other) => bail!(
            "client_auth_type: {other:?} is not supported (NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
        ),
    };
    let builder = match (require, &raw.client_ca_file) {
        (None, _) => builder.with_no_client_auth(),
        (Some(_), None) => bail!("client_auth_type needs client_ca_file"),
        (Some(required), Some(ca)) => {
            let ca = path(ca);
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(&ca)
                .with_context(|| format!("client_ca_file {}", ca.display()))?
            {
                roots.add(cert.with_context(|| format!("client_ca_file {}", ca.display()))?)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots));
            let verifier = if required {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(verifier.build()?)
        }
    };
    let config = builder
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Checks `Authorization` headers against the users, caching answers:
/// bcrypt is slow on purpose, and a scraper sends the same header every time.
#[derive(Debug, Default)]
pub struct Authenticator {
    cache: Mutex<HashMap<String, bool>>,
}

/// Cached answers kept before the cache starts over.
const AUTH_CACHE_ENTRIES: usize = 256;

impl Authenticator {
    /// True when `header` (the `Authorization` value) names a user whose
    /// bcrypt hash matches the password. Every failure looks the same.
    pub fn allows(&self, config: &WebConfig, header: Option<&str>) -> bool {
        if !config.requires_auth() {
            return true;
        }
        let Some(header) = header else { return false };
        let key = format!("{}\u{0}{header}", config.users.len());
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&answer) = cache.get(&key) {
            return answer;
        }
        let answer = check(config, header);
        if cache.len() >= AUTH_CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, answer);
        answer
    }

    /// Forgets cached answers (the users changed).
    pub fn clear(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

fn check(config: &WebConfig, header: &str) -> bool {
    let Some(encoded) = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((user, password)) = text.split_once(':') else {
        return false;
    };
    // An unknown user costs a bcrypt check too, so timing does not tell
    // which part was wrong.
    static DUMMY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        bcrypt::hash("ike_exporter", bcrypt::DEFAULT_COST).unwrap_or_default()
    });
    let hash = config
        .users
        .get(user)
        .map_or(DUMMY.as_str(), String::as_str);
    bcrypt::verify(password, hash).unwrap_or(false) && config.users.contains_key(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(users: &[(&str, &str)]) -> WebConfig {
        WebConfig {
            tls: None,
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), bcrypt::hash(p, 4).unwrap()))
                .collect(),
        }
    }

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    #[test]
    fn web_config_basic_auth_accepts_the_right_password_only() {
        let config = config_with(&[("prometheus", "s3cret")]);
        let auth = Authenticator::default();
        assert!(auth.allows(&config, Some(&basic("prometheus:s3cret"))));
        assert!(
            auth.allows(&config, Some(&basic("prometheus:s3cret"))),
            "cached"
        );
        assert!(!auth.allows(&config, Some(&basic("prometheus:wrong"))));
        assert!(!auth.allows(&config, Some(&basic("nobody:s3cret"))));
        assert!(!auth.allows(&config, Some("Bearer x")));
        assert!(!auth.allows(&config, None));
        assert!(
            Authenticator::default().allows(&WebConfig::default(), None),
            "no users: open"
        );
    }

    #[test]
    fn web_config_rejects_a_malformed_hash_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(&path, "basic_auth_users:\n  alice: plaintext\n").unwrap();
        let error = WebConfig::load(&path).unwrap_err().to_string();
        assert!(error.contains("basic_auth_users.alice"), "{error}");
        std::fs::write(
            &path,
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  typo: 1\n",
        )
        .unwrap();
        let error = WebConfig::load(&path).unwrap_err().to_string();
        assert!(error.contains("typo"), "{error}");
    }

    #[test]
    fn web_config_missing_certificate_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(
            &path,
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
        )
        .unwrap();
        let error = format!("{:#}", WebConfig::load(&path).unwrap_err());
        assert!(error.contains("missing.crt"), "{error}");
    }
}
