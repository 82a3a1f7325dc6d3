//! Readiness: `/-/ready` answers 200 once every source is open or bound.
//!
//! Sources register what they wait for (a path that does not exist yet, a
//! port not yet bound) under a key, and clear it when it is there. The HTTP
//! server reports the keys still waiting.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// What the exporter still waits for, by key (a source name, a path, …).
#[derive(Debug, Default)]
pub struct Readiness {
    waiting: Mutex<BTreeMap<String, String>>,
}

impl Readiness {
    /// Notes that `key` is not ready, and why.
    pub fn waiting(&self, key: &str, reason: &str) {
        self.lock().insert(key.to_owned(), reason.to_owned());
    }

    /// Notes that `key` is ready.
    pub fn ready(&self, key: &str) {
        self.lock().remove(key);
    }

    /// `Ok` when nothing is waiting, else each waiting key with its reason.
    pub fn status(&self) -> Result<(), Vec<(String, String)>> {
        let waiting = self.lock();
        if waiting.is_empty() {
            Ok(())
        } else {
            Err(waiting
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect())
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        // A panic while holding this lock leaves a map that is still valid.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_waits_until_every_key_is_ready() {
        let r = Readiness::default();
        assert_eq!(r.status(), Ok(()));
        r.waiting("file:/var/log/a.log", "does not exist yet");
        r.waiting("udp:514", "not bound");
        assert_eq!(r.status().unwrap_err().len(), 2);
        r.ready("udp:514");
        r.ready("file:/var/log/a.log");
        assert_eq!(r.status(), Ok(()));
    }
}
