//! MQTT 5.0 reason codes (§2.4), and the MQTT 3 return codes they map to.

use std::fmt;

use crate::codec::{PacketType, Violation};
use crate::types::QoS;

macro_rules! reason_codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal, $text:literal;)*) => {
        /// A reason code: the result of an operation, sent in CONNACK, PUBACK, PUBREC, PUBREL,
        /// PUBCOMP, SUBACK, UNSUBACK, DISCONNECT and AUTH (MQTT 5.0 §2.4).
        ///
        /// Codes below 0x80 report success, codes from 0x80 up report failure. Some values
        /// have a second name in some packets (0x00 is also "Normal disconnection" and
        /// "Granted QoS 0"): those names are associated constants.
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum ReasonCode {
            $($(#[$doc])* $name = $value,)*
        }

        impl ReasonCode {
            /// Parses a reason code byte; unassigned values are rejected.
            pub fn new(value: u8) -> Result<Self, Violation> {
                match value {
                    $($value => Ok(ReasonCode::$name),)*
                    _ => Err(Violation::UnknownReasonCode(value)),
                }
            }

            /// The specification's name of the code.
            #[must_use]
            pub fn description(self) -> &'static str {
                match self {
                    $(ReasonCode::$name => $text,)*
                }
            }

            /// Every reason code, in numeric order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$name,)*];
        }
    };
}

reason_codes! {
    /// 0x00 Success; also Normal disconnection and Granted QoS 0.
    Success = 0x00, "Success";
    /// 0x01 Granted QoS 1.
    GrantedQoS1 = 0x01, "Granted QoS 1";
    /// 0x02 Granted QoS 2.
    GrantedQoS2 = 0x02, "Granted QoS 2";
    /// 0x04 Disconnect with Will Message.
    DisconnectWithWill = 0x04, "Disconnect with Will Message";
    /// 0x10 No matching subscribers.
    NoMatchingSubscribers = 0x10, "No matching subscribers";
    /// 0x11 No subscription existed.
    NoSubscriptionExisted = 0x11, "No subscription existed";
    /// 0x18 Continue authentication.
    ContinueAuthentication = 0x18, "Continue authentication";
    /// 0x19 Re-authenticate.
    ReAuthenticate = 0x19, "Re-authenticate";
    /// 0x80 Unspecified error.
    UnspecifiedError = 0x80, "Unspecified error";
    /// 0x81 Malformed Packet.
    MalformedPacket = 0x81, "Malformed Packet";
    /// 0x82 Protocol Error.
    ProtocolError = 0x82, "Protocol Error";
    /// 0x83 Implementation specific error.
    ImplementationSpecificError = 0x83, "Implementation specific error";
    /// 0x84 Unsupported Protocol Version.
    UnsupportedProtocolVersion = 0x84, "Unsupported Protocol Version";
    /// 0x85 Client Identifier not valid.
    ClientIdentifierNotValid = 0x85, "Client Identifier not valid";
    /// 0x86 Bad User Name or Password.
    BadUserNameOrPassword = 0x86, "Bad User Name or Password";
    /// 0x87 Not authorized.
    NotAuthorized = 0x87, "Not authorized";
    /// 0x88 Server unavailable.
    ServerUnavailable = 0x88, "Server unavailable";
    /// 0x89 Server busy.
    ServerBusy = 0x89, "Server busy";
    /// 0x8A Banned.
    Banned = 0x8A, "Banned";
    /// 0x8B Server shutting down.
    ServerShuttingDown = 0x8B, "Server shutting down";
    /// 0x8C Bad authentication method.
    BadAuthenticationMethod = 0x8C, "Bad authentication method";
    /// 0x8D Keep Alive timeout.
    KeepAliveTimeout = 0x8D, "Keep Alive timeout";
    /// 0x8E Session taken over.
    SessionTakenOver = 0x8E, "Session taken over";
    /// 0x8F Topic Filter invalid.
    TopicFilterInvalid = 0x8F, "Topic Filter invalid";
    /// 0x90 Topic Name invalid.
    TopicNameInvalid = 0x90, "Topic Name invalid";
    /// 0x91 Packet Identifier in use.
    PacketIdentifierInUse = 0x91, "Packet Identifier in use";
    /// 0x92 Packet Identifier not found.
    PacketIdentifierNotFound = 0x92, "Packet Identifier not found";
    /// 0x93 Receive Maximum exceeded.
    ReceiveMaximumExceeded = 0x93, "Receive Maximum exceeded";
    /// 0x94 Topic Alias invalid.
    TopicAliasInvalid = 0x94, "Topic Alias invalid";
    /// 0x95 Packet too large.
    PacketTooLarge = 0x95, "Packet too large";
    /// 0x96 Message rate too high.
    MessageRateTooHigh = 0x96, "Message rate too high";
    /// 0x97 Quota exceeded.
    QuotaExceeded = 0x97, "Quota exceeded";
    /// 0x98 Administrative action.
    AdministrativeAction = 0x98, "Administrative action";
    /// 0x99 Payload format invalid.
    PayloadFormatInvalid = 0x99, "Payload format invalid";
    /// 0x9A Retain not supported.
    RetainNotSupported = 0x9A, "Retain not supported";
    /// 0x9B QoS not supported.
    QoSNotSupported = 0x9B, "QoS not supported";
    /// 0x9C Use another server.
    UseAnotherServer = 0x9C, "Use another server";
    /// 0x9D Server moved.
    ServerMoved = 0x9D, "Server moved";
    /// 0x9E Shared Subscriptions not supported.
    SharedSubscriptionsNotSupported = 0x9E, "Shared Subscriptions not supported";
    /// 0x9F Connection rate exceeded.
    ConnectionRateExceeded = 0x9F, "Connection rate exceeded";
    /// 0xA0 Maximum connect time.
    MaximumConnectTime = 0xA0, "Maximum connect time";
    /// 0xA1 Subscription Identifiers not supported.
    SubscriptionIdentifiersNotSupported = 0xA1, "Subscription Identifiers not supported";
    /// 0xA2 Wildcard Subscriptions not supported.
    WildcardSubscriptionsNotSupported = 0xA2, "Wildcard Subscriptions not supported";
}

impl ReasonCode {
    /// 0x00 in DISCONNECT.
    pub const NORMAL_DISCONNECTION: ReasonCode = ReasonCode::Success;
    /// 0x00 in SUBACK.
    pub const GRANTED_QOS_0: ReasonCode = ReasonCode::Success;

    /// The code's byte.
    #[must_use]
    pub fn get(self) -> u8 {
        self as u8
    }

    /// The SUBACK code granting `qos`: 0x00, 0x01 or 0x02.
    #[must_use]
    pub fn granted(qos: QoS) -> Self {
        match qos {
            QoS::AtMostOnce => ReasonCode::Success,
            QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
            QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
        }
    }

    /// Whether the code reports a failure (0x80 and above).
    #[must_use]
    pub fn is_error(self) -> bool {
        self.get() >= 0x80
    }

    /// Whether the specification allows this code in a packet of type `packet`
    /// (the tables of MQTT 5.0 §3.2.2.2, §3.4.2.1, §3.5.2.1, §3.6.2.1, §3.7.2.1, §3.9.3,
    /// §3.11.3, §3.14.2.1 and §3.15.2.1).
    #[must_use]
    pub fn allowed_in(self, packet: PacketType) -> bool {
        use ReasonCode as R;
        match packet {
            PacketType::ConnAck => matches!(
                self,
                R::Success
                    | R::UnspecifiedError
                    | R::MalformedPacket
                    | R::ProtocolError
                    | R::ImplementationSpecificError
                    | R::UnsupportedProtocolVersion
                    | R::ClientIdentifierNotValid
                    | R::BadUserNameOrPassword
                    | R::NotAuthorized
                    | R::ServerUnavailable
                    | R::ServerBusy
                    | R::Banned
                    | R::BadAuthenticationMethod
                    | R::TopicNameInvalid
                    | R::PacketTooLarge
                    | R::QuotaExceeded
                    | R::PayloadFormatInvalid
                    | R::RetainNotSupported
                    | R::QoSNotSupported
                    | R::UseAnotherServer
                    | R::ServerMoved
                    | R::ConnectionRateExceeded
            ),
            PacketType::PubAck | PacketType::PubRec => matches!(
                self,
                R::Success
                    | R::NoMatchingSubscribers
                    | R::UnspecifiedError
                    | R::ImplementationSpecificError
                    | R::NotAuthorized
                    | R::TopicNameInvalid
                    | R::PacketIdentifierInUse
                    | R::QuotaExceeded
                    | R::PayloadFormatInvalid
            ),
            PacketType::PubRel | PacketType::PubComp => {
                matches!(self, R::Success | R::PacketIdentifierNotFound)
            }
            PacketType::SubAck => matches!(
                self,
                R::Success
                    | R::GrantedQoS1
                    | R::GrantedQoS2
                    | R::UnspecifiedError
                    | R::ImplementationSpecificError
                    | R::NotAuthorized
                    | R::TopicFilterInvalid
                    | R::PacketIdentifierInUse
                    | R::QuotaExceeded
                    | R::SharedSubscriptionsNotSupported
                    | R::SubscriptionIdentifiersNotSupported
                    | R::WildcardSubscriptionsNotSupported
            ),
            PacketType::UnsubAck => matches!(
                self,
                R::Success
                    | R::NoSubscriptionExisted
                    | R::UnspecifiedError
                    | R::ImplementationSpecificError
                    | R::NotAuthorized
                    | R::TopicFilterInvalid
                    | R::PacketIdentifierInUse
            ),
            PacketType::Disconnect => matches!(
                self,
                R::Success
                    | R::DisconnectWithWill
                    | R::UnspecifiedError
                    | R::MalformedPacket
                    | R::ProtocolError
                    | R::ImplementationSpecificError
                    | R::NotAuthorized
                    | R::ServerBusy
                    | R::ServerShuttingDown
                    | R::KeepAliveTimeout
                    | R::SessionTakenOver
                    | R::TopicFilterInvalid
                    | R::TopicNameInvalid
                    | R::ReceiveMaximumExceeded
                    | R::TopicAliasInvalid
                    | R::PacketTooLarge
                    | R::MessageRateTooHigh
                    | R::QuotaExceeded
                    | R::AdministrativeAction
                    | R::PayloadFormatInvalid
                    | R::RetainNotSupported
                    | R::QoSNotSupported
                    | R::UseAnotherServer
                    | R::ServerMoved
                    | R::SharedSubscriptionsNotSupported
                    | R::ConnectionRateExceeded
                    | R::MaximumConnectTime
                    | R::SubscriptionIdentifiersNotSupported
                    | R::WildcardSubscriptionsNotSupported
            ),
            PacketType::Auth => matches!(
                self,
                R::Success | R::ContinueAuthentication | R::ReAuthenticate
            ),
            _ => false,
        }
    }

    /// The MQTT 3.1 / 3.1.1 CONNACK return code that stands for this reason code
    /// (3.1.1 §3.2.2.3): 0 accepted, 1 unacceptable protocol version, 2 identifier
    /// rejected, 3 server unavailable, 4 bad user name or password, 5 not authorized.
    /// Codes with no MQTT 3 counterpart map to the nearest: authorization failures to 5,
    /// everything else to 3.
    #[must_use]
    pub fn to_v3_connack(self) -> u8 {
        use ReasonCode as R;
        match self {
            R::Success => 0,
            R::UnsupportedProtocolVersion => 1,
            R::ClientIdentifierNotValid => 2,
            R::BadUserNameOrPassword => 4,
            R::NotAuthorized | R::Banned | R::BadAuthenticationMethod => 5,
            _ => 3,
        }
    }

    /// The reason code an MQTT 3 CONNACK return code stands for (the inverse of
    /// [`ReasonCode::to_v3_connack`] on 0..=5).
    pub fn from_v3_connack(code: u8) -> Result<Self, Violation> {
        match code {
            0 => Ok(ReasonCode::Success),
            1 => Ok(ReasonCode::UnsupportedProtocolVersion),
            2 => Ok(ReasonCode::ClientIdentifierNotValid),
            3 => Ok(ReasonCode::ServerUnavailable),
            4 => Ok(ReasonCode::BadUserNameOrPassword),
            5 => Ok(ReasonCode::NotAuthorized),
            other => Err(Violation::UnknownReasonCode(other)),
        }
    }

    /// The MQTT 3 SUBACK return code: the granted QoS, or 0x80 for any failure
    /// (3.1.1 §3.9.3).
    #[must_use]
    pub fn to_v3_suback(self) -> u8 {
        match self {
            ReasonCode::Success | ReasonCode::GrantedQoS1 | ReasonCode::GrantedQoS2 => self.get(),
            _ => 0x80,
        }
    }

    /// The reason code an MQTT 3 SUBACK return code stands for: 0, 1, 2 or 0x80.
    pub fn from_v3_suback(code: u8) -> Result<Self, Violation> {
        match code {
            0x00 => Ok(ReasonCode::Success),
            0x01 => Ok(ReasonCode::GrantedQoS1),
            0x02 => Ok(ReasonCode::GrantedQoS2),
            0x80 => Ok(ReasonCode::UnspecifiedError),
            other => Err(Violation::UnknownReasonCode(other)),
        }
    }
}

impl TryFrom<u8> for ReasonCode {
    type Error = Violation;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        ReasonCode::new(value)
    }
}

impl From<ReasonCode> for u8 {
    fn from(code: ReasonCode) -> u8 {
        code.get()
    }
}

impl fmt::Debug for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02X})", self.description(), self.get())
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_unassigned_values_are_rejected() {
        assert_eq!(ReasonCode::ALL.len(), 43);
        for value in 0..=u8::MAX {
            match ReasonCode::new(value) {
                Ok(code) => assert_eq!(code.get(), value),
                Err(e) => assert_eq!(e, Violation::UnknownReasonCode(value)),
            }
        }
    }

    #[test]
    fn v3_connack_mapping_is_a_bijection_on_0_to_5() {
        for code in 0..=5 {
            assert_eq!(
                ReasonCode::from_v3_connack(code).unwrap().to_v3_connack(),
                code
            );
        }
        assert!(ReasonCode::from_v3_connack(6).is_err());
        assert_eq!(ReasonCode::ServerBusy.to_v3_connack(), 3);
        assert_eq!(ReasonCode::Banned.to_v3_connack(), 5);
    }

    #[test]
    fn v3_suback_mapping() {
        assert_eq!(ReasonCode::NotAuthorized.to_v3_suback(), 0x80);
        assert_eq!(ReasonCode::GrantedQoS2.to_v3_suback(), 2);
        assert!(ReasonCode::from_v3_suback(3).is_err());
    }

    #[test]
    fn auth_allows_only_three_codes() {
        let allowed: Vec<_> = ReasonCode::ALL
            .iter()
            .filter(|c| c.allowed_in(PacketType::Auth))
            .collect();
        assert_eq!(allowed.len(), 3);
    }
}
