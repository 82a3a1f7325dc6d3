//! Peer resolution for texts that name no address (design.md §4): the
//! configured `gateways:` map, then the peer last seen for the same device and
//! object, then `unknown`.

use std::collections::HashMap;

/// The peer label for events whose peer is not known.
pub const UNKNOWN: &str = "unknown";

/// Peers learned from events that name the endpoints.
#[derive(Debug)]
pub struct PeerResolver {
    configured: HashMap<String, String>,
    learned: HashMap<(String, String), String>,
    max_learned: usize,
}

impl PeerResolver {
    /// A resolver with a configured object → peer map; at most `max_learned`
    /// (device, object) pairs are remembered (later new pairs are not learned,
    /// known ones still update).
    pub fn new(configured: HashMap<String, String>, max_learned: usize) -> Self {
        Self {
            configured,
            learned: HashMap::new(),
            max_learned,
        }
    }

    /// Replaces the configured map (a reload); learned peers stay.
    pub fn set_configured(&mut self, configured: HashMap<String, String>, max_learned: usize) {
        self.configured = configured;
        self.max_learned = max_learned;
    }

    /// Remembers that `object` on `device` talks to `peer`.
    pub fn learn(&mut self, device: &str, object: &str, peer: &str) {
        if object.is_empty() {
            return;
        }
        let key = (device.to_owned(), object.to_owned());
        if let Some(known) = self.learned.get_mut(&key) {
            if known != peer {
                peer.clone_into(known);
            }
        } else if self.learned.len() < self.max_learned {
            self.learned.insert(key, peer.to_owned());
        }
    }

    /// The peer of `object` on `device` when the text named none.
    pub fn resolve(&self, device: &str, object: &str) -> &str {
        if let Some(peer) = self.configured.get(object) {
            return peer;
        }
        if object.is_empty() {
            return UNKNOWN;
        }
        self.learned
            .get(&(device.to_owned(), object.to_owned()))
            .map_or(UNKNOWN, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_configured_then_learned_then_unknown() {
        let configured = HashMap::from([("gw-cfg".to_owned(), "192.0.2.1".to_owned())]);
        let mut peers = PeerResolver::new(configured, 10);
        peers.learn("fw", "gw-a", "198.51.100.20");
        peers.learn("fw", "gw-cfg", "203.0.113.9");
        assert_eq!(peers.resolve("fw", "gw-cfg"), "192.0.2.1");
        assert_eq!(peers.resolve("fw", "gw-a"), "198.51.100.20");
        assert_eq!(peers.resolve("other-fw", "gw-a"), UNKNOWN);
        assert_eq!(peers.resolve("fw", ""), UNKNOWN);
    }

    #[test]
    fn peers_learned_map_is_bounded() {
        let mut peers = PeerResolver::new(HashMap::new(), 1);
        peers.learn("fw", "a", "1");
        peers.learn("fw", "b", "2");
        peers.learn("fw", "a", "3");
        assert_eq!(
            (peers.resolve("fw", "a"), peers.resolve("fw", "b")),
            ("3", UNKNOWN)
        );
    }
}
