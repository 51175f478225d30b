//! What a connection may hold of packets it is still receiving: the size limit of a first
//! CONNECT, and the broker-wide budget of bytes held for large packets still arriving
//! (Mosquitto's `memory_limit`, for receive buffers only).
//!
//! The budget is charged once per large packet, when a connection's read buffer has grown
//! to hold at least [`LARGE_PACKET`] bytes of a packet that is not complete, with the size
//! the packet declares; it is given back when the packet is complete (before it is
//! decoded) or the connection ends. Smaller packets, the common case, never touch it: the
//! publish path pays one comparison per read, no atomic.
//!
//! # What this module must never do
//!
//! Read sockets or hold buffers: connections charge and release, this only counts.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The buffered bytes of an incomplete packet from which it is charged to the budget: one
/// read chunk. Below it a connection holds what one read brings, as any connection does.
pub(crate) const LARGE_PACKET: usize = 64 * 1024;

/// The size limit of a first CONNECT and the budget for large packets being received.
#[derive(Debug)]
pub(crate) struct ReceiveLimits {
    /// The largest first CONNECT, fixed header included.
    max_connect_size: u32,
    /// Most bytes charged at once; `None`: no limit (still counted).
    budget: Option<usize>,
    /// Bytes charged now.
    held: AtomicUsize,
}

impl ReceiveLimits {
    /// Limits with a first CONNECT of at most `max_connect_size` bytes and `budget` bytes
    /// for large packets being received across connections (`None`: no limit).
    pub(crate) fn new(max_connect_size: u32, budget: Option<usize>) -> Self {
        ReceiveLimits {
            max_connect_size,
            budget,
            held: AtomicUsize::new(0),
        }
    }

    /// The largest first CONNECT, fixed header included.
    pub(crate) fn max_connect_size(&self) -> u32 {
        self.max_connect_size
    }

    /// Charges `bytes` if the budget has room for them; `false` leaves it unchanged.
    pub(crate) fn try_charge(&self, bytes: usize) -> bool {
        let Some(budget) = self.budget else {
            self.held.fetch_add(bytes, Ordering::Relaxed);
            return true;
        };
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(bytes).filter(|total| *total <= budget)
            })
            .is_ok()
    }

    /// Gives back `bytes` charged before.
    pub(crate) fn release(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes charged now.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_what_does_not_fit_and_counts_what_is_given_back() {
        let limits = ReceiveLimits::new(16 * 1024, Some(3 * LARGE_PACKET));
        assert!(limits.try_charge(2 * LARGE_PACKET));
        assert!(!limits.try_charge(2 * LARGE_PACKET));
        assert_eq!(limits.held(), 2 * LARGE_PACKET);
        assert!(limits.try_charge(LARGE_PACKET));
        limits.release(2 * LARGE_PACKET);
        assert!(limits.try_charge(2 * LARGE_PACKET));
        assert_eq!(limits.held(), 3 * LARGE_PACKET);
        let unlimited = ReceiveLimits::new(16 * 1024, None);
        assert!(unlimited.try_charge(usize::MAX / 2));
        unlimited.release(usize::MAX / 2);
        assert_eq!(unlimited.held(), 0);
    }
}
