//! One listener's figures, as [`BrokerHandle::listener_stats`](crate::BrokerHandle::listener_stats)
//! gives them: what the node's Prometheus endpoint exports with a `listener` label.

use crate::broker_stats::PerQos;
use crate::codec::PacketType;

/// The figures of one listener: its connections, and its traffic each way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerStats {
    /// The listener's name (`[[listener]] name`, or its address).
    pub name: String,
    /// Its network connections open now.
    pub connections_open: usize,
    /// Its network connections accepted since the start.
    pub connections_accepted: u64,
    /// Times one of its connections paused reading because its client went past its
    /// [`ClientRate`](crate::config::ClientRate) since the start.
    pub throttled: u64,
    /// What its clients sent.
    pub received: TrafficStats,
    /// What was sent to its clients.
    pub sent: TrafficStats,
}

/// Traffic one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TrafficStats {
    /// MQTT packets, by type.
    pub packets: PacketCounts,
    /// Bytes on the wire.
    pub bytes: u64,
    /// PUBLISH packets, by QoS.
    pub publishes: PerQos,
    /// Payload bytes of those PUBLISH packets, by QoS.
    pub publish_bytes: PerQos,
}

/// A count per MQTT control packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketCounts([u64; 16]);

impl PacketCounts {
    /// The counts, indexed by packet type number (1 to 15; 0 is unused).
    #[must_use]
    pub fn from_numbers(counts: [u64; 16]) -> Self {
        PacketCounts(counts)
    }

    /// The count of packets of type `kind`.
    #[must_use]
    pub fn get(&self, kind: PacketType) -> u64 {
        self.0.get(kind as usize).copied().unwrap_or(0)
    }

    /// The count of every type.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Each packet type with its count, in type order.
    pub fn iter(&self) -> impl Iterator<Item = (PacketType, u64)> + '_ {
        self.0.iter().enumerate().filter_map(|(number, count)| {
            let nibble = u8::try_from(number).ok()?;
            Some((PacketType::from_nibble(nibble).ok()?, *count))
        })
    }

    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &PacketCounts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }
}

impl PerQos {
    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &PerQos) {
        self.qos0 += other.qos0;
        self.qos1 += other.qos1;
        self.qos2 += other.qos2;
    }
}

impl TrafficStats {
    /// Adds `other`'s figures to these.
    pub(crate) fn add(&mut self, other: &TrafficStats) {
        self.packets.add(&other.packets);
        self.bytes += other.bytes;
        self.publishes.add(&other.publishes);
        self.publish_bytes.add(&other.publish_bytes);
    }
}
