//! The server-side limits and capabilities one session works within.

use std::num::NonZeroU16;
use std::time::Duration;

use crate::codec::MAX_PACKET_SIZE;
use crate::types::QoS;

use super::QueueLimits;

/// What the server allows a client and tells it in CONNACK. One value is shared by every
/// session of a listener; the defaults are what a user coming from Mosquitto expects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Largest packet the server accepts, in bytes (MQTT 5 Maximum Packet Size in CONNACK).
    /// Default: 1 MiB, as EMQX.
    pub max_packet_size: u32,
    /// QoS 1 and 2 PUBLISH packets a client may have unacknowledged towards the server
    /// (MQTT 5 Receive Maximum in CONNACK). Default 1024.
    pub receive_maximum: NonZeroU16,
    /// QoS 1 and 2 messages the server sends a 3.x client before waiting for
    /// acknowledgements (MQTT 5 clients give their own Receive Maximum). Default 100.
    pub max_inflight_v3: NonZeroU16,
    /// Topic aliases a client may set (MQTT 5 Topic Alias Maximum in CONNACK). Default 64.
    pub topic_alias_maximum: u16,
    /// Whether the server assigns topic aliases to the PUBLISH packets it sends, up to the
    /// client's Topic Alias Maximum. Default on.
    pub outbound_topic_aliases: bool,
    /// The largest Keep Alive the server accepts, in seconds; a client asking for more (or for
    /// 0) gets this value as MQTT 5 Server Keep Alive. `None`: the client's value. Default
    /// `None`.
    pub max_keep_alive: Option<u16>,
    /// The largest Session Expiry Interval the server grants, in seconds. Default 7 days
    /// (u32::MAX is "never expires").
    pub max_session_expiry: u32,
    /// How long a new connection may take to send CONNECT. Default 10 s.
    pub connect_timeout: Duration,
    /// Highest QoS the server supports (MQTT 5 Maximum QoS). Default 2.
    pub max_qos: QoS,
    /// Whether retained messages are supported (MQTT 5 Retain Available). Default on.
    pub retain_available: bool,
    /// Whether wildcard subscriptions are allowed. Default on.
    pub wildcard_subscriptions: bool,
    /// Whether shared subscriptions are allowed. Default on.
    pub shared_subscriptions: bool,
    /// Whether subscription identifiers are supported. Default on.
    pub subscription_identifiers: bool,
    /// Longest client identifier accepted, in bytes. Default 65,535 (any the codec decodes).
    pub max_client_id_len: usize,
    /// Whether an MQTT 3.1.1 / 5.0 client may connect with an empty client identifier and get
    /// one assigned. Default on.
    pub allow_zero_length_client_id: bool,
    /// Whether client identifiers, user names, will topics, topic names and topic filters may
    /// hold control characters (U+0001 to U+001F, U+007F to U+009F). Default off: a packet
    /// holding one is treated as a Malformed Packet, which MQTT 5.0 §1.5.4 allows (CONNACK
    /// or DISCONNECT 0x81; 3.1.1 §1.5.3: the connection is closed), as Mosquitto does.
    pub allow_control_characters: bool,
    /// Longest topic name or filter accepted, in bytes. Default 65,535.
    pub max_topic_len: usize,
    /// Most levels a topic name or filter may have. Default 128.
    pub max_topic_levels: usize,
    /// The bounds of each session's queue of messages waiting for the client.
    pub queue: QueueLimits,
    /// Response Information sent to a client that asks for it (MQTT 5); `None` sends none.
    pub response_information: Option<String>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_packet_size: 1024 * 1024,
            receive_maximum: NonZeroU16::new(1024).unwrap_or(NonZeroU16::MIN),
            max_inflight_v3: NonZeroU16::new(100).unwrap_or(NonZeroU16::MIN),
            topic_alias_maximum: 64,
            outbound_topic_aliases: true,
            max_keep_alive: None,
            max_session_expiry: 7 * 24 * 3600,
            connect_timeout: Duration::from_secs(10),
            max_qos: QoS::ExactlyOnce,
            retain_available: true,
            wildcard_subscriptions: true,
            shared_subscriptions: true,
            subscription_identifiers: true,
            max_client_id_len: usize::from(u16::MAX),
            allow_zero_length_client_id: true,
            allow_control_characters: false,
            max_topic_len: usize::from(u16::MAX),
            max_topic_levels: 128,
            queue: QueueLimits::default(),
            response_information: None,
        }
    }
}

impl SessionConfig {
    /// The packet-size limit the decoder enforces: [`Self::max_packet_size`], never above
    /// the protocol's maximum.
    #[must_use]
    pub fn decoder_limit(&self) -> u32 {
        self.max_packet_size.min(MAX_PACKET_SIZE)
    }
}
