//! Counters of what the broker did, shared by every task (relaxed atomics: each counter is
//! exact, a snapshot of several is not a single instant).
//!
//! The traffic counters (packets, bytes, PUBLISH packets) are each listener's
//! ([`traffic`](crate::runtime::transport::traffic)); the broker's totals are their sums.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::session::DropReason;

/// Why a copy of a message was not delivered, as the counters tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropCause {
    /// The session's queue was full and its overflow policy dropped a message.
    QueueFull,
    /// Larger than the queue's byte bound on its own.
    TooLarge,
    /// QoS 0 for an offline client, and QoS 0 messages are not queued.
    Qos0Offline,
    /// Its Message Expiry Interval passed.
    Expired,
    /// Larger than the client's Maximum Packet Size.
    PacketTooLarge,
    /// A shared subscription member left and no other member could take it (or may: its
    /// QoS 2 exchange with the member had begun).
    NoSharedMember,
    /// The subscriber was disconnected for being too slow.
    SlowSubscriber,
    /// A publish the authorization hooks refused.
    NotAuthorized,
    /// A spilled copy the store no longer had when its queue read it back.
    NotInStore,
}

impl From<DropReason> for DropCause {
    fn from(reason: DropReason) -> Self {
        match reason {
            DropReason::QueueFull => DropCause::QueueFull,
            DropReason::TooLarge => DropCause::TooLarge,
            DropReason::Qos0NotQueued => DropCause::Qos0Offline,
            DropReason::Expired => DropCause::Expired,
            DropReason::PacketTooLarge => DropCause::PacketTooLarge,
        }
    }
}

/// The broker's counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_refused: AtomicU64,
    pub(crate) auth_failures: AtomicU64,
    pub(crate) takeovers: AtomicU64,
    pub(crate) sessions_expired: AtomicU64,
    /// Most clients connected at once (CONNECT accepted).
    pub(crate) clients_maximum: AtomicUsize,
    /// Clients connected now (CONNECT accepted, connection not yet closed).
    pub(crate) clients_connected: AtomicUsize,
    pub(crate) messages_queued: AtomicU64,
    pub(crate) wills_published: AtomicU64,
    pub(super) dropped: [AtomicU64; 9],
}

impl Stats {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one copy of a message dropped for `cause`.
    pub(crate) fn dropped(&self, cause: DropCause) {
        self.dropped_many(cause, 1);
    }

    /// Counts `count` copies dropped for `cause`.
    pub(crate) fn dropped_many(&self, cause: DropCause, count: u64) {
        if let Some(counter) = self.dropped.get(cause as usize) {
            counter.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// A client's CONNECT was accepted.
    pub(crate) fn client_connected(&self) {
        let now = self.clients_connected.fetch_add(1, Ordering::Relaxed) + 1;
        self.clients_maximum.fetch_max(now, Ordering::Relaxed);
    }

    /// A connected client's connection closed.
    pub(crate) fn client_disconnected(&self) {
        self.clients_connected.fetch_sub(1, Ordering::Relaxed);
    }
}
