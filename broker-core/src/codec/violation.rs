//! Breaches of the specification, each named after the normative statement it breaks.

use thiserror::Error;

use super::{PacketType, PropertyId};

/// How MQTT 5.0 classifies a breach (§4.13): it decides the reason code of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// The packet cannot be parsed by the specification: reason code 0x81.
    Malformed,
    /// The packet parses but breaks a rule: reason code 0x82.
    Protocol,
}

/// A rule of the specification that a packet or value breaks.
///
/// [`Violation::statement`] gives the MQTT 5.0 normative statement id (or the section where
/// the rule has no id), [`Violation::statement_v311`] the MQTT 3.1.1 id where it differs, and
/// [`Violation::kind`] whether it is a Malformed Packet or a Protocol Error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Violation {
    // ---- framing ----
    /// Packet type 0, or 15 before MQTT 5.0.
    #[error("reserved control packet type {0}")]
    ReservedPacketType(u8),
    /// Fixed-header flags other than the ones the packet type fixes.
    #[error("reserved fixed-header flags 0x{flags:X} on {packet:?}")]
    ReservedFlags {
        /// The packet type.
        packet: PacketType,
        /// The low nibble of the first byte.
        flags: u8,
    },
    /// A Variable Byte Integer longer than four bytes.
    #[error("variable byte integer longer than 4 bytes")]
    VarIntTooLong,
    /// A Variable Byte Integer not in its shortest form.
    #[error("variable byte integer not in its shortest form")]
    VarIntNotMinimal,
    /// A field runs past the end of the packet.
    #[error("field runs past the end of the packet")]
    Truncated,
    /// Bytes left over after the last field of a packet.
    #[error("{0} trailing bytes after the last field")]
    TrailingBytes(usize),
    /// A packet type that this protocol version does not have (AUTH before 5.0).
    #[error("{0:?} does not exist in this protocol version")]
    PacketNotInVersion(PacketType),
    /// A packet only a server sends (CONNACK, SUBACK, UNSUBACK, PINGRESP), received from a
    /// client by a decoder made with [`Decoder::from_clients`](super::Decoder::from_clients).
    #[error("{0} is sent by servers only")]
    ServerToClientOnly(PacketType),

    // ---- strings ----
    /// A string that is not well-formed UTF-8.
    #[error("string is not well-formed UTF-8")]
    InvalidUtf8,
    /// A string holding U+0000.
    #[error("string holds U+0000")]
    NullCharacter,
    /// A string longer than 65,535 bytes.
    #[error("string longer than 65,535 bytes")]
    StringTooLong,
    /// A control character (U+0001 to U+001F, U+007F to U+009F) in a client identifier,
    /// user name, topic name or topic filter, refused by a server that does not allow them
    /// (MQTT 5.0 §1.5.4: a receiver "MAY treat it as a Malformed Packet").
    #[error("string holds a control character")]
    ControlCharacter,

    // ---- topics ----
    /// An empty topic name or filter.
    #[error("topic name or filter is empty")]
    EmptyTopic,
    /// `+` or `#` in a topic name.
    #[error("wildcard in a topic name")]
    WildcardInTopicName,
    /// `#` that is not a whole level, or not the last one.
    #[error("'#' is not alone in the last level of the filter")]
    MultiLevelWildcardNotLast,
    /// `+` that is not a whole level.
    #[error("'+' does not occupy a whole level of the filter")]
    SingleLevelWildcardNotWholeLevel,
    /// An empty share name.
    #[error("shared subscription has an empty share name")]
    EmptyShareName,
    /// A share name that holds `+` or `#`.
    #[error("share name holds a wildcard")]
    InvalidShareName,
    /// `$share/{ShareName}` without `/` and a filter after it.
    #[error("shared subscription has no topic filter after the share name")]
    SharedFilterMissing,

    // ---- properties ----
    /// A property identifier that MQTT 5.0 does not define.
    #[error("unknown property identifier 0x{0:02X}")]
    UnknownProperty(u8),
    /// A property that is not allowed in this packet.
    #[error("property {property:?} is not allowed in {packet}")]
    PropertyNotAllowed {
        /// The property.
        property: PropertyId,
        /// The packet (or "Will Properties").
        packet: &'static str,
    },
    /// A property present more than once where it may appear only once.
    #[error("property {0:?} is included more than once")]
    DuplicateProperty(PropertyId),
    /// A property value outside its allowed range.
    #[error("property {0:?} has a value the specification does not allow")]
    InvalidPropertyValue(PropertyId),
    /// Authentication Data without an Authentication Method.
    #[error("authentication data without an authentication method")]
    AuthDataWithoutMethod,

    // ---- packet identifiers, QoS ----
    /// Packet identifier 0.
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// QoS 3.
    #[error("QoS 3")]
    InvalidQoS,
    /// Will QoS 3 in the connect flags.
    #[error("will QoS 3")]
    InvalidWillQoS,
    /// Maximum QoS 3 in subscription options.
    #[error("requested QoS 3 in subscription options")]
    InvalidRequestedQoS,
    /// DUP set on a QoS 0 PUBLISH.
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupOnQoS0,

    // ---- publish ----
    /// Topic alias 0.
    #[error("topic alias 0")]
    ZeroTopicAlias,
    /// An empty topic name without a topic alias.
    #[error("PUBLISH has an empty topic name and no topic alias")]
    MissingTopicName,
    /// Subscription identifier 0 (or above 268,435,455).
    #[error("subscription identifier 0")]
    InvalidSubscriptionId,

    // ---- subscribe ----
    /// SUBSCRIBE without a topic filter.
    #[error("SUBSCRIBE has no topic filter")]
    NoSubscribeFilters,
    /// UNSUBSCRIBE without a topic filter.
    #[error("UNSUBSCRIBE has no topic filter")]
    NoUnsubscribeFilters,
    /// Reserved bits set in subscription options (or the requested QoS byte of MQTT 3).
    #[error("reserved bits set in subscription options 0x{0:02X}")]
    SubscriptionOptionsReserved(u8),
    /// Retain Handling 3.
    #[error("retain handling 3")]
    InvalidRetainHandling,
    /// No Local on a shared subscription.
    #[error("no local set on a shared subscription")]
    NoLocalOnSharedSubscription,
    /// A SUBACK or UNSUBACK without a reason code.
    #[error("acknowledgement carries no reason code")]
    NoReasonCodes,

    // ---- connect / connack ----
    /// A protocol name other than `MQTT` (or `MQIsdp` for 3.1).
    #[error("protocol name is not MQTT")]
    InvalidProtocolName,
    /// The reserved bit of the connect flags is set.
    #[error("reserved connect flag is set")]
    ConnectReservedFlag,
    /// Will QoS non-zero while the will flag is 0.
    #[error("will QoS set without a will")]
    WillQoSWithoutWill,
    /// Will retain set while the will flag is 0.
    #[error("will retain set without a will")]
    WillRetainWithoutWill,
    /// Password flag set while the user name flag is 0 (3.1 and 3.1.1).
    #[error("password flag set without the user name flag")]
    PasswordWithoutUsername,
    /// Reserved bits in the CONNACK acknowledge flags.
    #[error("reserved bits set in the CONNACK acknowledge flags")]
    ConnAckReservedFlags,
    /// Session present with a failure code.
    #[error("session present set on a refused connection")]
    SessionPresentOnFailure,

    // ---- reason codes ----
    /// A byte that is no reason code (or no MQTT 3 return code).
    #[error("0x{0:02X} is not a reason code")]
    UnknownReasonCode(u8),
    /// A reason code that this packet may not carry.
    #[error("reason code {code:?} is not allowed in {packet:?}")]
    ReasonCodeNotAllowed {
        /// The packet type.
        packet: PacketType,
        /// The offending code.
        code: crate::types::ReasonCode,
    },
}

impl Violation {
    /// The MQTT 5.0 normative statement this violation breaks, or the section that states the
    /// rule where it has no statement id. Rules that only 3.1.1 has (a password without a
    /// user name) give the 3.1.1 id. Packet identifier 0 cites [MQTT-2.2.1-3], the rule for
    /// PUBLISH, SUBSCRIBE and UNSUBSCRIBE; acknowledgements echo an identifier
    /// ([MQTT-2.2.1-5], [MQTT-2.2.1-6]), so a zero there is refused by the same check.
    #[must_use]
    pub fn statement(&self) -> &'static str {
        use Violation as V;
        match self {
            V::ReservedPacketType(_) | V::PacketNotInVersion(_) | V::ServerToClientOnly(_) => {
                "MQTT-5.0 §2.1.2"
            }
            V::ReservedFlags { packet, .. } => match packet {
                PacketType::PubRel => "MQTT-3.6.1-1",
                PacketType::Subscribe => "MQTT-3.8.1-1",
                PacketType::Unsubscribe => "MQTT-3.10.1-1",
                PacketType::Disconnect => "MQTT-3.14.1-1",
                PacketType::Auth => "MQTT-3.15.1-1",
                _ => "MQTT-2.1.3-1",
            },
            V::VarIntTooLong => "MQTT-5.0 §1.5.5",
            V::VarIntNotMinimal => "MQTT-1.5.5-1",
            V::Truncated | V::TrailingBytes(_) => "MQTT-5.0 §4.13",
            V::InvalidUtf8 => "MQTT-1.5.4-1",
            V::NullCharacter => "MQTT-1.5.4-2",
            V::StringTooLong | V::ControlCharacter => "MQTT-5.0 §1.5.4",
            V::EmptyTopic => "MQTT-4.7.3-1",
            V::WildcardInTopicName => "MQTT-3.3.2-2",
            V::MultiLevelWildcardNotLast => "MQTT-4.7.1-1",
            V::SingleLevelWildcardNotWholeLevel => "MQTT-4.7.1-2",
            V::EmptyShareName => "MQTT-4.8.2-1",
            V::InvalidShareName | V::SharedFilterMissing => "MQTT-4.8.2-2",
            V::UnknownProperty(_) | V::PropertyNotAllowed { .. } => "MQTT-5.0 §2.2.2.2",
            V::DuplicateProperty(_) | V::InvalidPropertyValue(_) => "MQTT-5.0 §2.2.2.2",
            V::AuthDataWithoutMethod => "MQTT-5.0 §3.1.2.11.10",
            V::ZeroPacketId => "MQTT-2.2.1-3",
            V::InvalidQoS => "MQTT-3.3.1-4",
            V::InvalidWillQoS => "MQTT-3.1.2-12",
            V::InvalidRequestedQoS => "MQTT-5.0 §3.8.3.1",
            V::DupOnQoS0 => "MQTT-3.3.1-2",
            V::ZeroTopicAlias => "MQTT-3.3.2-8",
            V::MissingTopicName => "MQTT-5.0 §3.3.2.1",
            V::InvalidSubscriptionId => "MQTT-5.0 §3.8.2.1.2",
            V::NoSubscribeFilters => "MQTT-3.8.3-2",
            V::NoUnsubscribeFilters => "MQTT-3.10.3-2",
            V::SubscriptionOptionsReserved(_) => "MQTT-3.8.3-5",
            V::InvalidRetainHandling => "MQTT-5.0 §3.8.3.1",
            V::NoLocalOnSharedSubscription => "MQTT-3.8.3-4",
            V::NoReasonCodes => "MQTT-5.0 §3.9.3, §3.11.3",
            V::InvalidProtocolName => "MQTT-3.1.2-1",
            V::ConnectReservedFlag => "MQTT-3.1.2-3",
            V::WillQoSWithoutWill => "MQTT-3.1.2-11",
            V::WillRetainWithoutWill => "MQTT-3.1.2-13",
            V::PasswordWithoutUsername => "MQTT-3.1.2-22",
            V::ConnAckReservedFlags => "MQTT-3.2.2-1",
            V::SessionPresentOnFailure => "MQTT-3.2.2-6",
            V::UnknownReasonCode(_) => "MQTT-5.0 §2.4",
            V::ReasonCodeNotAllowed { packet, .. } => match packet {
                PacketType::ConnAck => "MQTT-3.2.2-8",
                PacketType::PubAck => "MQTT-3.4.2-1",
                PacketType::PubRec => "MQTT-3.5.2-1",
                PacketType::PubRel => "MQTT-3.6.2-1",
                PacketType::PubComp => "MQTT-3.7.2-1",
                PacketType::SubAck => "MQTT-3.9.3-2",
                PacketType::UnsubAck => "MQTT-3.11.3-2",
                PacketType::Disconnect => "MQTT-3.14.2-1",
                PacketType::Auth => "MQTT-3.15.2-1",
                _ => "MQTT-5.0 §2.4",
            },
        }
    }

    /// The MQTT 3.1.1 statement where it differs from [`Violation::statement`]: its id, or
    /// its section where 3.1.1 states the rule without an id.
    #[must_use]
    pub fn statement_v311(&self) -> Option<&'static str> {
        use Violation as V;
        match self {
            V::ReservedFlags { packet, .. } => match packet {
                PacketType::PubRel
                | PacketType::Subscribe
                | PacketType::Unsubscribe
                | PacketType::Disconnect => None,
                _ => Some("MQTT-2.2.2-2"),
            },
            V::ReservedPacketType(_) | V::PacketNotInVersion(_) | V::ServerToClientOnly(_) => {
                Some("MQTT-3.1.1 §2.2.1")
            }
            V::VarIntTooLong => Some("MQTT-3.1.1 §2.2.3"),
            V::InvalidUtf8 => Some("MQTT-1.5.3-1"),
            V::NullCharacter => Some("MQTT-1.5.3-2"),
            V::ControlCharacter => Some("MQTT-3.1.1 §1.5.3"),
            V::WildcardInTopicName => None,
            V::MultiLevelWildcardNotLast => Some("MQTT-4.7.1-2"),
            V::SingleLevelWildcardNotWholeLevel => Some("MQTT-4.7.1-3"),
            V::ZeroPacketId => Some("MQTT-2.3.1-1"),
            V::InvalidWillQoS => Some("MQTT-3.1.2-14"),
            V::InvalidRequestedQoS | V::SubscriptionOptionsReserved(_) => Some("MQTT-3-8.3-4"),
            V::NoSubscribeFilters => Some("MQTT-3.8.3-3"),
            V::WillQoSWithoutWill => Some("MQTT-3.1.2-13"),
            V::WillRetainWithoutWill => Some("MQTT-3.1.2-15"),
            V::ConnAckReservedFlags => Some("MQTT-3.1.1 §3.2.2.1"),
            V::SessionPresentOnFailure => Some("MQTT-3.2.2-4"),
            V::UnknownReasonCode(_) => Some("MQTT-3.9.3-2 (SUBACK), §3.2.2.3 (CONNACK)"),
            _ => None,
        }
    }

    /// Whether MQTT 5.0 calls this a Malformed Packet or a Protocol Error.
    #[must_use]
    pub fn kind(&self) -> ViolationKind {
        use Violation as V;
        match self {
            V::DuplicateProperty(_)
            | V::InvalidPropertyValue(_)
            | V::AuthDataWithoutMethod
            | V::ZeroTopicAlias
            | V::MissingTopicName
            | V::InvalidSubscriptionId
            | V::InvalidRetainHandling
            | V::InvalidRequestedQoS
            | V::NoLocalOnSharedSubscription
            | V::NoSubscribeFilters
            | V::NoUnsubscribeFilters
            | V::InvalidProtocolName
            | V::SessionPresentOnFailure
            | V::ReasonCodeNotAllowed { .. }
            | V::PacketNotInVersion(_)
            | V::ServerToClientOnly(_) => ViolationKind::Protocol,
            _ => ViolationKind::Malformed,
        }
    }
}
