//! One listener's traffic counters: connections accepted, rate-limit pauses, and each way the
//! MQTT packets by type, the bytes, and the PUBLISH packets and their payload bytes by QoS.
//! The broker's totals are their sums ([`snapshot`](crate::runtime::state::snapshot)).
//!
//! A connection counts into its own listener's counters, so the per-listener figures cost
//! the publish path nothing more than the broker-wide ones did: one atomic add per packet
//! received, and a connection's packets sent added in one go per batch it writes ([`Tally`]).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::broker_stats::PerQos;
use crate::codec::Packet;
use crate::listener_stats::{PacketCounts, TrafficStats};
use crate::types::QoS;

/// MQTT control packet types, by their number (1 to 15; 0 is reserved and never counted).
pub(crate) const PACKET_TYPES: usize = 16;

/// A listener's counters.
#[derive(Debug, Default)]
pub(crate) struct ListenerTraffic {
    /// Connections accepted.
    pub(crate) accepted: AtomicU64,
    /// Times a connection paused its reads for its client's rate limit.
    pub(crate) throttled: AtomicU64,
    pub(crate) received: Traffic,
    pub(crate) sent: Traffic,
}

/// Traffic one way; on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct Traffic {
    pub(crate) by_type: [AtomicU64; PACKET_TYPES],
    pub(crate) bytes: AtomicU64,
    pub(crate) publishes: [AtomicU64; 3],
    pub(crate) publish_bytes: [AtomicU64; 3],
}

/// The packets one connection sent since its last [`ListenerTraffic::flush_sent`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    by_type: [u64; PACKET_TYPES],
    publishes: [u64; 3],
    publish_bytes: [u64; 3],
    any: bool,
}

impl Tally {
    /// Counts `packet`, sent.
    pub(crate) fn packet(&mut self, packet: &Packet) {
        self.any = true;
        if let Some(count) = self.by_type.get_mut(packet.packet_type() as usize) {
            *count += 1;
        }
        if let Some((qos, payload)) = publish_of(packet) {
            if let Some(count) = self.publishes.get_mut(qos as usize) {
                *count += 1;
            }
            if let Some(bytes) = self.publish_bytes.get_mut(qos as usize) {
                *bytes += payload as u64;
            }
        }
    }
}

fn add(counter: &AtomicU64, value: u64) {
    if value != 0 {
        counter.fetch_add(value, Ordering::Relaxed);
    }
}

impl ListenerTraffic {
    /// Adds a connection's tally of packets sent and clears it.
    pub(crate) fn flush_sent(&self, tally: &mut Tally) {
        if !tally.any {
            return;
        }
        let sent = &self.sent;
        for (counter, value) in sent.by_type.iter().zip(tally.by_type) {
            add(counter, value);
        }
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

    /// Counts `packet`, received.
    pub(crate) fn packet_received(&self, packet: &Packet) {
        let received = &self.received;
        if let Some(counter) = received.by_type.get(packet.packet_type() as usize) {
            add(counter, 1);
        }
        if let Some((qos, payload)) = publish_of(packet) {
            if let Some(counter) = received.publishes.get(qos as usize) {
                add(counter, 1);
            }
            if let Some(counter) = received.publish_bytes.get(qos as usize) {
                add(counter, payload as u64);
            }
        }
    }
}

impl Traffic {
    /// The counters now.
    pub(crate) fn snapshot(&self) -> TrafficStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let per_qos = |[qos0, qos1, qos2]: &[AtomicU64; 3]| PerQos {
            qos0: get(qos0),
            qos1: get(qos1),
            qos2: get(qos2),
        };
        let mut packets = [0; PACKET_TYPES];
        for (count, counter) in packets.iter_mut().zip(&self.by_type) {
            *count = get(counter);
        }
        TrafficStats {
            packets: PacketCounts::from_numbers(packets),
            bytes: get(&self.bytes),
            publishes: per_qos(&self.publishes),
            publish_bytes: per_qos(&self.publish_bytes),
        }
    }
}

/// A PUBLISH packet's QoS and payload size; `None` for other packets.
fn publish_of(packet: &Packet) -> Option<(QoS, usize)> {
    match packet {
        Packet::Publish(publish) => Some((publish.qos_pid.qos(), publish.payload.len())),
        _ => None,
    }
}
