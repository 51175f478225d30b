//! The broker's figures, as [`BrokerHandle::stats`](crate::BrokerHandle::stats) gives them:
//! what `$SYS/broker/...` publishes and what the node's Prometheus endpoint exports.

use std::time::Duration;

/// A snapshot of the broker's counters and state.
///
/// Counters count from the broker's start. "Received" and "sent" are network traffic (MQTT
/// packets read from and written to client connections); in-process publishes and
/// subscriptions through a [`BrokerHandle`](crate::BrokerHandle) are not traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BrokerStats {
    /// Time since the broker started.
    pub uptime: Duration,
    /// Network connections open now (with or without an accepted CONNECT).
    pub connections_open: usize,
    /// Network connections accepted.
    pub connections_accepted: u64,
    /// CONNECTs refused for the connection limit.
    pub connections_refused: u64,
    /// CONNECTs and re-authentications refused by authentication (bad credentials, not
    /// authorized, failed enhanced authentication).
    pub auth_failures: u64,
    /// Clients connected now (CONNECT accepted).
    pub clients_connected: usize,
    /// Connected clients whose connection is parked now: idle, without a task of its own
    /// ([`BrokerConfig::park_idle_after`](crate::config::BrokerConfig::park_idle_after)).
    pub clients_parked: usize,
    /// Most clients connected at once.
    pub clients_maximum: usize,
    /// Persistent sessions whose client is not connected.
    pub sessions_offline: usize,
    /// Sessions that ended because their Session Expiry Interval passed.
    pub sessions_expired: u64,
    /// Client identifiers taken over by a new connection.
    pub takeovers: u64,
    /// Publishes that matched nobody while another client's SUBSCRIBE was being carried
    /// out, and were matched again once it was (docs/architecture.md, the subscribe gate).
    pub publishes_held_for_subscribe: u64,
    /// MQTT packets received from clients, of every type.
    pub packets_received: u64,
    /// MQTT packets sent to clients, of every type.
    pub packets_sent: u64,
    /// Bytes read from client connections.
    pub bytes_received: u64,
    /// Bytes written to client connections.
    pub bytes_sent: u64,
    /// PUBLISH packets received from clients, by QoS.
    pub publish_received: PerQos,
    /// PUBLISH packets sent to clients, by QoS (retransmissions included).
    pub publish_sent: PerQos,
    /// Payload bytes of the PUBLISH packets received, by QoS.
    pub publish_bytes_received: PerQos,
    /// Payload bytes of the PUBLISH packets sent, by QoS.
    pub publish_bytes_sent: PerQos,
    /// Copies of messages queued for subscribers (network and in-process).
    pub messages_queued: u64,
    /// Copies of messages dropped, by reason.
    pub dropped: DroppedMessages,
    /// Wills published.
    pub wills_published: u64,
    /// Subscriptions in the router (one per session and filter).
    pub subscriptions: usize,
    /// Retained messages held.
    pub retained_messages: usize,
    /// Messages waiting in sessions' queues now.
    pub queued_messages: usize,
    /// Bytes of the messages waiting in sessions' queues now.
    pub queued_bytes: usize,
}

impl BrokerStats {
    /// PUBLISH packets received from clients, every QoS.
    #[must_use]
    pub fn messages_received(&self) -> u64 {
        self.publish_received.total()
    }

    /// PUBLISH packets sent to clients, every QoS.
    #[must_use]
    pub fn messages_sent(&self) -> u64 {
        self.publish_sent.total()
    }

    /// Copies of messages dropped, every reason.
    #[must_use]
    pub fn messages_dropped(&self) -> u64 {
        self.dropped.total()
    }
}

/// A count for each QoS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerQos {
    /// At most once.
    pub qos0: u64,
    /// At least once.
    pub qos1: u64,
    /// Exactly once.
    pub qos2: u64,
}

impl PerQos {
    /// The sum over the three levels.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.qos0 + self.qos1 + self.qos2
    }
}

/// Copies of messages dropped, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DroppedMessages {
    /// The session's queue was full and its overflow policy dropped a message.
    pub queue_full: u64,
    /// Larger than a queue's byte bound on its own.
    pub too_large: u64,
    /// QoS 0 messages for offline clients (QoS 0 queueing off).
    pub qos0_offline: u64,
    /// Message Expiry Interval passed before delivery.
    pub expired: u64,
    /// Larger than the client's Maximum Packet Size.
    pub packet_too_large: u64,
    /// Shared subscription messages no other member could take when their member left (or
    /// may take: a QoS 2 message whose exchange with the member had begun, [MQTT-4.8.2-5]).
    pub no_shared_member: u64,
    /// Messages that made a slow subscriber be disconnected (overflow policy `disconnect`).
    pub slow_subscriber: u64,
    /// Publishes the authorization hooks refused.
    pub not_authorized: u64,
    /// Spilled copies of a persistent session that the store no longer had when the queue
    /// read them back (docs/persistence.md, "Sizing").
    pub not_in_store: u64,
}

impl DroppedMessages {
    /// The sum over every reason.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.by_reason().iter().map(|(_, count)| count).sum()
    }

    /// Each reason's name (as the Prometheus `reason` label has it) and count.
    #[must_use]
    pub fn by_reason(&self) -> [(&'static str, u64); 9] {
        [
            ("queue_full", self.queue_full),
            ("too_large", self.too_large),
            ("qos0_offline", self.qos0_offline),
            ("expired", self.expired),
            ("packet_too_large", self.packet_too_large),
            ("no_shared_member", self.no_shared_member),
            ("slow_subscriber", self.slow_subscriber),
            ("not_authorized", self.not_authorized),
            ("not_in_store", self.not_in_store),
        ]
    }
}
