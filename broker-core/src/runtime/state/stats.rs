//! Counters of what the broker did, shared by every task (relaxed atomics: each counter is
//! exact, a snapshot of several is not a single instant).
//!
//! Outgoing packets are tallied by each connection in a [`Tally`] on its stack and added
//! here once per batch of writes; incoming packets are counted one by one (the session's
//! contract carries out each packet's commands before the next is decoded), in counters that
//! share one cache line, so that a packet costs one cache-line transfer at most.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::codec::Packet;
use crate::session::DropReason;
use crate::types::QoS;

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
    pub(super) received: Traffic,
    pub(super) sent: Traffic,
    pub(super) dropped: [AtomicU64; 8],
}

/// Traffic one way; on its own cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(super) struct Traffic {
    pub(super) packets: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) publishes: [AtomicU64; 3],
    pub(super) publish_bytes: [AtomicU64; 3],
}

/// The packets one connection sent since its last [`Stats::flush_sent`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    packets: u64,
    publishes: [u64; 3],
    publish_bytes: [u64; 3],
}

impl Tally {
    /// Counts one packet; `publish` gives a PUBLISH's QoS and payload size.
    pub(crate) fn packet(&mut self, publish: Option<(QoS, usize)>) {
        self.packets += 1;
        if let Some((qos, payload)) = publish {
            if let Some(count) = self.publishes.get_mut(qos as usize) {
                *count += 1;
            }
            if let Some(bytes) = self.publish_bytes.get_mut(qos as usize) {
                *bytes += payload as u64;
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.packets == 0
    }
}

fn add(counter: &AtomicU64, value: u64) {
    if value != 0 {
        counter.fetch_add(value, Ordering::Relaxed);
    }
}

impl Stats {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one copy of a message dropped for `cause`.
    pub(crate) fn dropped(&self, cause: DropCause) {
        if let Some(counter) = self.dropped.get(cause as usize) {
            Stats::bump(counter);
        }
    }

    /// Adds a connection's tally of packets sent and clears it.
    pub(crate) fn flush_sent(&self, tally: &mut Tally) {
        if tally.is_empty() {
            return;
        }
        let sent = &self.sent;
        add(&sent.packets, tally.packets);
        for (counter, value) in sent.publishes.iter().zip(tally.publishes) {
            add(counter, value);
        }
        for (counter, value) in sent.publish_bytes.iter().zip(tally.publish_bytes) {
            add(counter, value);
        }
        *tally = Tally::default();
    }

    /// Counts bytes written to a client.
    pub(crate) fn bytes_sent(&self, bytes: usize) {
        add(&self.sent.bytes, bytes as u64);
    }

    /// Counts bytes read from a client.
    pub(crate) fn bytes_received(&self, bytes: usize) {
        add(&self.received.bytes, bytes as u64);
    }

    /// Counts one packet received; `publish` gives a PUBLISH's QoS and payload size.
    pub(crate) fn packet_received(&self, publish: Option<(QoS, usize)>) {
        let received = &self.received;
        Stats::bump(&received.packets);
        if let Some((qos, payload)) = publish {
            if let Some(counter) = received.publishes.get(qos as usize) {
                Stats::bump(counter);
            }
            if let Some(counter) = received.publish_bytes.get(qos as usize) {
                add(counter, payload as u64);
            }
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

/// A PUBLISH packet's QoS and payload size, for the counters; `None` for other packets.
pub(crate) fn publish_of(packet: &Packet) -> Option<(QoS, usize)> {
    match packet {
        Packet::Publish(publish) => Some((publish.qos_pid.qos(), publish.payload.len())),
        _ => None,
    }
}
