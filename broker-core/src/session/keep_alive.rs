//! The keep-alive deadline: when the server gives up on a silent client.

use std::time::{Duration, Instant};

/// The Keep Alive in force on one connection, and the deadline it sets.
///
/// If the Keep Alive is non-zero and the server receives no control packet from the client
/// within one and a half times it, the server closes the connection as if the network had
/// failed (v5 [MQTT-3.1.2-22]; 3.1.1 [MQTT-3.1.2-24]); a v5 server first sends DISCONNECT
/// 0x8D Keep Alive timeout. A Keep Alive of 0 turns the mechanism off.
///
/// In MQTT 5 the server may impose its own value with Server Keep Alive in CONNACK; the
/// client must then use it ([MQTT-3.2.2-21]), and otherwise the server uses the client's
/// ([MQTT-3.2.2-22]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeepAlive {
    seconds: u16,
}

impl KeepAlive {
    /// The Keep Alive of a connection whose CONNECT asked for `client` seconds, with the
    /// Server Keep Alive the server sends in CONNACK, if any, taking precedence.
    #[must_use]
    pub fn new(client: u16, server_override: Option<u16>) -> Self {
        KeepAlive {
            seconds: server_override.unwrap_or(client),
        }
    }

    /// The Keep Alive in force, in seconds; 0 when off.
    #[must_use]
    pub fn seconds(self) -> u16 {
        self.seconds
    }

    /// Whether the keep-alive mechanism is on.
    #[must_use]
    pub fn is_enabled(self) -> bool {
        self.seconds != 0
    }

    /// How long the client may stay silent: one and a half times the Keep Alive; `None` when
    /// off.
    #[must_use]
    pub fn grace(self) -> Option<Duration> {
        self.is_enabled()
            .then(|| Duration::from_millis(u64::from(self.seconds) * 1_500))
    }

    /// When the connection is to be closed if nothing more arrives, given when the last
    /// control packet was received (any packet counts, not only PINGREQ). `None` when the
    /// mechanism is off or the deadline is beyond the clock's range.
    #[must_use]
    pub fn deadline(self, last_received: Instant) -> Option<Instant> {
        self.grace()
            .and_then(|grace| last_received.checked_add(grace))
    }

    /// Whether the deadline set by `last_received` has passed at `now`.
    #[must_use]
    pub fn is_expired(self, last_received: Instant, now: Instant) -> bool {
        self.deadline(last_received)
            .is_some_and(|deadline| now >= deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_one_and_a_half_keep_alive_mqtt_3_1_2_22() {
        // [MQTT-3.1.2-22] (3.1.1: [MQTT-3.1.2-24]).
        let t0 = Instant::now();
        let k = KeepAlive::new(10, None);
        assert_eq!(k.seconds(), 10);
        assert_eq!(k.grace(), Some(Duration::from_secs(15)));
        assert_eq!(k.deadline(t0), Some(t0 + Duration::from_secs(15)));
        assert!(!k.is_expired(t0, t0 + Duration::from_millis(14_999)));
        assert!(k.is_expired(t0, t0 + Duration::from_secs(15)));
        // Odd values keep the half second.
        let k = KeepAlive::new(1, None);
        assert_eq!(k.deadline(t0), Some(t0 + Duration::from_millis(1_500)));
        let k = KeepAlive::new(u16::MAX, None);
        assert_eq!(k.grace(), Some(Duration::from_millis(65_535 * 1_500)));
    }

    #[test]
    fn zero_turns_it_off() {
        let t0 = Instant::now();
        let k = KeepAlive::new(0, None);
        assert!(!k.is_enabled());
        assert_eq!(k.deadline(t0), None);
        assert!(!k.is_expired(t0, t0 + Duration::from_secs(1 << 30)));
    }

    #[test]
    fn server_keep_alive_wins_mqtt_3_2_2_21_and_22() {
        let t0 = Instant::now();
        // [MQTT-3.2.2-21]: the Server Keep Alive replaces the client's value.
        let k = KeepAlive::new(60, Some(20));
        assert_eq!(k.seconds(), 20);
        assert_eq!(k.deadline(t0), Some(t0 + Duration::from_secs(30)));
        // A server may also turn it off, or turn it on for a client that sent 0.
        assert!(!KeepAlive::new(60, Some(0)).is_enabled());
        assert_eq!(KeepAlive::new(0, Some(5)).seconds(), 5);
        // [MQTT-3.2.2-22]: without it, the client's value.
        assert_eq!(KeepAlive::new(60, None).seconds(), 60);
    }
}
