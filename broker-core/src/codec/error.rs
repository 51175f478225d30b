//! Decode and encode errors, and the one place that maps a decode error to the broker's answer.

use thiserror::Error;

use super::{PacketType, Violation, ViolationKind};
use crate::types::{ProtocolVersion, ReasonCode};

/// Why bytes from the network could not be decoded. Every variant is the peer's fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The bytes break a rule of the specification.
    #[error("[{statement}] {violation}", statement = .0.statement(), violation = .0)]
    Violation(#[from] Violation),
    /// The packet is larger than the configured maximum packet size; detected from the fixed
    /// header, before the body is buffered.
    #[error(
        "[MQTT-3.2.2-15] packet of {size} bytes exceeds the maximum packet size of {max} bytes"
    )]
    PacketTooLarge {
        /// The size the fixed header declares, fixed header included.
        size: usize,
        /// The maximum in force.
        max: u32,
    },
    /// A CONNECT with a protocol level this codec does not speak ([MQTT-3.1.2-2]).
    #[error("[MQTT-3.1.2-2] unsupported protocol level {0}")]
    UnsupportedProtocolVersion(u8),
    /// A packet other than CONNECT arrived before the protocol version was known.
    #[error("[MQTT-3.1.0-1] first packet is not CONNECT")]
    ExpectedConnect,
}

impl DecodeError {
    /// The reason code that names this error in MQTT 5.0.
    #[must_use]
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            // "A Topic Alias value of 0 … is a Protocol Error, the receiver uses DISCONNECT
            // with Reason Code of 0x94 (Topic Alias invalid)" (§3.3.4).
            DecodeError::Violation(Violation::ZeroTopicAlias) => ReasonCode::TopicAliasInvalid,
            DecodeError::Violation(v) => match v.kind() {
                ViolationKind::Malformed => ReasonCode::MalformedPacket,
                ViolationKind::Protocol => ReasonCode::ProtocolError,
            },
            DecodeError::PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            DecodeError::UnsupportedProtocolVersion(_) => ReasonCode::UnsupportedProtocolVersion,
            DecodeError::ExpectedConnect => ReasonCode::ProtocolError,
        }
    }

    /// What the broker sends before it closes the connection, given the version the
    /// connection speaks (`None` while it is unknown) and whether CONNACK was already sent.
    ///
    /// - Before CONNACK, an unsupported level gets a CONNACK that a 3.1.1 client reads as
    ///   return code 1 ([MQTT-3.1.2-2]); an MQTT 5 client gets a CONNACK with the reason code
    ///   (§4.13); an MQTT 3 client is just disconnected.
    /// - After CONNACK, an MQTT 5 client gets a DISCONNECT with the reason code
    ///   ([MQTT-4.13.1-1]); an MQTT 3 client is just disconnected.
    #[must_use]
    pub fn answer(&self, version: Option<ProtocolVersion>, connack_sent: bool) -> ErrorAnswer {
        if let DecodeError::UnsupportedProtocolVersion(_) = self {
            if !connack_sent {
                return ErrorAnswer::ConnAck {
                    version: ProtocolVersion::V3_1_1,
                    code: ReasonCode::UnsupportedProtocolVersion,
                };
            }
        }
        // Each packet allows only its own codes (CONNACK §3.2.2.2, DISCONNECT §3.14.2.1).
        // The codes one of them lacks come from Protocol Errors: 0x94 for a zero Topic Alias
        // (not a CONNACK code), 0x84 for a CONNECT on a connection whose version is known,
        // which is a second CONNECT ([MQTT-3.1.0-2]; not a DISCONNECT code).
        let code_in = |packet: PacketType| {
            let code = self.reason_code();
            if code.allowed_in(packet) {
                code
            } else {
                ReasonCode::ProtocolError
            }
        };
        match (version, connack_sent) {
            (Some(ProtocolVersion::V5), false) => ErrorAnswer::ConnAck {
                version: ProtocolVersion::V5,
                code: code_in(PacketType::ConnAck),
            },
            (Some(ProtocolVersion::V5), true) => {
                ErrorAnswer::Disconnect(code_in(PacketType::Disconnect))
            }
            _ => ErrorAnswer::Close,
        }
    }
}

/// What the broker sends in answer to a packet it could not decode, before it closes the
/// network connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAnswer {
    /// A CONNACK with this code, encoded for `version` (an MQTT 3 return code for 3.x).
    ConnAck {
        /// The version to encode the CONNACK for.
        version: ProtocolVersion,
        /// The reason code.
        code: ReasonCode,
    },
    /// An MQTT 5 DISCONNECT with this reason code.
    Disconnect(ReasonCode),
    /// Nothing: close the connection.
    Close,
}

/// Why a packet could not be encoded. Every variant is the caller's fault: the packet is not
/// representable on the wire for the chosen version.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The packet would exceed the 268,435,455-byte remaining length limit.
    #[error("packet body of {0} bytes exceeds the remaining length limit")]
    TooLarge(usize),
    /// The packet type does not exist in the target version (AUTH before 5.0).
    #[error("{0} packets do not exist in MQTT {1}")]
    NotInVersion(&'static str, ProtocolVersion),
    /// A PUBLISH without a topic name needs a topic alias, which only MQTT 5.0 has.
    #[error("PUBLISH has neither a topic name nor a topic alias")]
    MissingTopicName,
    /// A field that is invalid for the packet, such as an empty SUBSCRIBE.
    #[error("invalid packet: {0}")]
    Invalid(#[from] Violation),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_version_and_phase() {
        let malformed = DecodeError::Violation(Violation::Truncated);
        let protocol = DecodeError::Violation(Violation::NoSubscribeFilters);
        assert_eq!(
            malformed.answer(Some(ProtocolVersion::V5), false),
            ErrorAnswer::ConnAck {
                version: ProtocolVersion::V5,
                code: ReasonCode::MalformedPacket
            }
        );
        assert_eq!(
            protocol.answer(Some(ProtocolVersion::V5), true),
            ErrorAnswer::Disconnect(ReasonCode::ProtocolError)
        );
        assert_eq!(
            malformed.answer(Some(ProtocolVersion::V3_1_1), true),
            ErrorAnswer::Close
        );
        assert_eq!(malformed.answer(None, false), ErrorAnswer::Close);
        assert_eq!(
            DecodeError::UnsupportedProtocolVersion(6).answer(None, false),
            ErrorAnswer::ConnAck {
                version: ProtocolVersion::V3_1_1,
                code: ReasonCode::UnsupportedProtocolVersion
            }
        );
        // §3.3.4: a zero Topic Alias is answered with 0x94, which CONNACK does not allow.
        let alias = DecodeError::Violation(Violation::ZeroTopicAlias);
        assert_eq!(
            alias.answer(Some(ProtocolVersion::V5), true),
            ErrorAnswer::Disconnect(ReasonCode::TopicAliasInvalid)
        );
        assert_eq!(
            alias.answer(Some(ProtocolVersion::V5), false),
            ErrorAnswer::ConnAck {
                version: ProtocolVersion::V5,
                code: ReasonCode::ProtocolError
            }
        );
        let too_large = DecodeError::PacketTooLarge { size: 10, max: 5 };
        assert_eq!(
            too_large.answer(Some(ProtocolVersion::V5), true),
            ErrorAnswer::Disconnect(ReasonCode::PacketTooLarge)
        );
    }

    #[test]
    fn display_names_the_statement() {
        let e = DecodeError::Violation(Violation::InvalidQoS);
        assert_eq!(e.to_string(), "[MQTT-3.3.1-4] QoS 3");
    }
}
