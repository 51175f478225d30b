//! Counters of what the broker did, shared by every task (relaxed atomics: each counter is
//! exact, a snapshot of several is not a single instant).

use std::sync::atomic::{AtomicU64, Ordering};

/// The broker's counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) messages_received: AtomicU64,
    pub(crate) messages_queued: AtomicU64,
    pub(crate) messages_dropped: AtomicU64,
    pub(crate) takeovers: AtomicU64,
    pub(crate) wills_published: AtomicU64,
}

impl Stats {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of the counters.
    pub(crate) fn snapshot(&self, connections_open: usize) -> crate::broker::BrokerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        crate::broker::BrokerStats {
            connections_open,
            connections_accepted: get(&self.connections_accepted),
            connections_refused: get(&self.connections_refused),
            messages_received: get(&self.messages_received),
            messages_queued: get(&self.messages_queued),
            messages_dropped: get(&self.messages_dropped),
            takeovers: get(&self.takeovers),
            wills_published: get(&self.wills_published),
        }
    }
}
