//! The broker's figures at one moment, gathered from the counters and the shared state.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::broker_stats::{BrokerStats, DroppedMessages, PerQos};
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::DropCause;

/// The broker's figures now: the counters, and what the shared state holds (sessions,
/// subscriptions, retained messages, queued messages).
pub(crate) fn snapshot(shared: &Shared) -> BrokerStats {
    let stats = &shared.stats();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let per_qos = |[qos0, qos1, qos2]: &[AtomicU64; 3]| PerQos {
        qos0: get(qos0),
        qos1: get(qos1),
        qos2: get(qos2),
    };
    let dropped = |cause: DropCause| stats.dropped.get(cause as usize).map_or(0, get);
    let (sessions_offline, queued_messages, queued_bytes) = shared.registry().occupancy();
    BrokerStats {
        uptime: shared.uptime(),
        connections_open: shared.open_connections(),
        connections_accepted: get(&stats.connections_accepted),
        connections_refused: get(&stats.connections_refused),
        auth_failures: get(&stats.auth_failures),
        clients_connected: stats.clients_connected.load(Ordering::Relaxed),
        clients_parked: shared.parker().map_or(0, |parker| parker.len()),
        clients_maximum: stats.clients_maximum.load(Ordering::Relaxed),
        sessions_offline,
        sessions_expired: get(&stats.sessions_expired),
        takeovers: get(&stats.takeovers),
        packets_received: get(&stats.received.packets),
        packets_sent: get(&stats.sent.packets),
        bytes_received: get(&stats.received.bytes),
        bytes_sent: get(&stats.sent.bytes),
        publish_received: per_qos(&stats.received.publishes),
        publish_sent: per_qos(&stats.sent.publishes),
        publish_bytes_received: per_qos(&stats.received.publish_bytes),
        publish_bytes_sent: per_qos(&stats.sent.publish_bytes),
        messages_queued: get(&stats.messages_queued),
        dropped: DroppedMessages {
            queue_full: dropped(DropCause::QueueFull),
            too_large: dropped(DropCause::TooLarge),
            qos0_offline: dropped(DropCause::Qos0Offline),
            expired: dropped(DropCause::Expired),
            packet_too_large: dropped(DropCause::PacketTooLarge),
            no_shared_member: dropped(DropCause::NoSharedMember),
            slow_subscriber: dropped(DropCause::SlowSubscriber),
            not_authorized: dropped(DropCause::NotAuthorized),
        },
        wills_published: get(&stats.wills_published),
        subscriptions: shared.router().len(),
        retained_messages: shared.retained().len(),
        queued_messages,
        queued_bytes,
    }
}
