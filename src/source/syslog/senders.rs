//! Connections per sender address on a TCP or TLS listener. Without a
//! per-sender bound, one host opening connections and saying nothing holds
//! every slot of `max_connections` and shuts the firewalls out until the
//! idle timeout. The map holds only addresses with an open connection, so it
//! is bounded by the connections themselves.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Open connections by sender, and the most one sender may hold.
#[derive(Debug)]
pub struct SenderSlots {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's claim; released when dropped.
#[derive(Debug)]
pub struct SenderSlot {
    slots: Arc<SenderSlots>,
    addr: IpAddr,
}

impl SenderSlots {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `addr`, or `None` when it already holds `limit`.
    pub fn try_take(self: &Arc<Self>, addr: IpAddr) -> Option<SenderSlot> {
        let addr = super::canonical(addr);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(addr).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(SenderSlot {
            slots: Arc::clone(self),
            addr,
        })
    }

    #[cfg(test)]
    fn senders(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for SenderSlot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.addr) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_hold_at_most_the_limit_and_release_on_drop() {
        let slots = SenderSlots::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = slots.try_take(a).unwrap();
        let _second = slots.try_take(a).unwrap();
        assert!(slots.try_take(a).is_none());
        let _other = slots.try_take(b).unwrap();
        drop(first);
        assert!(slots.try_take(a).is_some());
    }

    #[test]
    fn senders_forget_addresses_without_connections() {
        let slots = SenderSlots::new(1);
        for i in 0..100u8 {
            drop(slots.try_take(IpAddr::from([192, 0, 2, i])).unwrap());
        }
        assert_eq!(slots.senders(), 0);
    }

    #[test]
    fn senders_count_mapped_ipv4_as_the_ipv4_address() {
        let slots = SenderSlots::new(1);
        let _v4 = slots.try_take("192.0.2.1".parse().unwrap()).unwrap();
        assert!(
            slots
                .try_take("::ffff:192.0.2.1".parse().unwrap())
                .is_none()
        );
    }
}
