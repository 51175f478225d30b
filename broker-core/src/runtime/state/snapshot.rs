//! The broker's figures at one moment, gathered from the counters, the listeners' counters
//! (the traffic: its totals are their sums) and the shared state.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::broker_stats::{BrokerStats, DroppedMessages};
use crate::listener_stats::TrafficStats;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::DropCause;

/// The broker's figures now: the counters, and what the shared state holds (sessions,
/// subscriptions, retained messages, queued messages).
pub(crate) fn snapshot(shared: &Shared) -> BrokerStats {
    let stats = &shared.stats();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let dropped = |cause: DropCause| stats.dropped.get(cause as usize).map_or(0, get);
    let (sessions_offline, queued_messages, queued_bytes) = shared.registry().occupancy();
    let (mut received, mut sent) = (TrafficStats::default(), TrafficStats::default());
    for listener in shared.listeners() {
        let stats = listener.stats();
        received.add(&stats.received);
        sent.add(&stats.sent);
    }
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
        publishes_held_for_subscribe: shared.subscribe_gate().waited(),
        packets_received: received.packets.total(),
        packets_sent: sent.packets.total(),
        bytes_received: received.bytes,
        bytes_sent: sent.bytes,
        publish_received: received.publishes,
        publish_sent: sent.publishes,
        publish_bytes_received: received.publish_bytes,
        publish_bytes_sent: sent.publish_bytes,
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
            not_in_store: dropped(DropCause::NotInStore),
        },
        wills_published: get(&stats.wills_published),
        subscriptions: shared.router().len(),
        retained_messages: shared.retained().len(),
        queued_messages,
        queued_bytes,
    }
}
