//! CONNACK (MQTT 5.0 §3.2, 3.1.1 §3.2).

use std::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes, BytesMut};

use super::property::{block_len, property_set, PropertySet};
use super::reader::Reader;
use super::{EncodeError, PacketType, PropertyContext, Violation};
use crate::types::{ClientId, MqttString, ProtocolVersion, QoS, ReasonCode, UserProperty};

property_set! {
    /// The properties of a CONNACK (MQTT 5.0 §3.2.2.3).
    ConnAckProperties in PropertyContext::Packet(PacketType::ConnAck);
    once {
        /// Session Expiry Interval the server imposes.
        session_expiry_interval: u32 = SessionExpiryInterval,
        /// Receive Maximum of the server (not 0).
        receive_maximum: NonZeroU16 = ReceiveMaximum,
        /// Maximum QoS: 0 or 1; absent means 2.
        maximum_qos: QoS = MaximumQoS,
        /// Retain Available.
        retain_available: bool = RetainAvailable,
        /// Maximum Packet Size the server accepts (not 0).
        maximum_packet_size: NonZeroU32 = MaximumPacketSize,
        /// Assigned Client Identifier.
        assigned_client_identifier: ClientId = AssignedClientIdentifier,
        /// Topic Alias Maximum the server accepts.
        topic_alias_maximum: u16 = TopicAliasMaximum,
        /// Reason String.
        reason_string: MqttString = ReasonString,
        /// Wildcard Subscription Available.
        wildcard_subscription_available: bool = WildcardSubscriptionAvailable,
        /// Subscription Identifiers Available.
        subscription_identifiers_available: bool = SubscriptionIdentifierAvailable,
        /// Shared Subscription Available.
        shared_subscription_available: bool = SharedSubscriptionAvailable,
        /// Server Keep Alive.
        server_keep_alive: u16 = ServerKeepAlive,
        /// Response Information.
        response_information: MqttString = ResponseInformation,
        /// Server Reference.
        server_reference: MqttString = ServerReference,
        /// Authentication Method.
        authentication_method: MqttString = AuthenticationMethod,
        /// Authentication Data (redacted in `Debug`).
        authentication_data: Bytes = AuthenticationData,
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
    }
}

/// A CONNACK packet. For 3.x the code is the reason code that stands for the return code
/// (see [`ReasonCode::to_v3_connack`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    /// Session Present.
    pub session_present: bool,
    /// Connect Reason Code (5.0) or the return code's reason code (3.x).
    pub code: ReasonCode,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: ConnAckProperties,
}

impl ConnAck {
    /// A CONNACK with this code and no properties.
    #[must_use]
    pub fn new(session_present: bool, code: ReasonCode) -> Self {
        ConnAck {
            session_present,
            code,
            properties: ConnAckProperties::default(),
        }
    }

    pub(crate) fn decode(mut r: Reader, version: ProtocolVersion) -> Result<Self, Violation> {
        let flags = r.u8()?;
        if flags & 0b1111_1110 != 0 {
            return Err(Violation::ConnAckReservedFlags);
        }
        let session_present = flags & 1 != 0;
        let code = r.u8()?;
        let (code, properties) = if version.is_v5() {
            let code = ReasonCode::new(code)?;
            if !code.allowed_in(PacketType::ConnAck) {
                return Err(Violation::ReasonCodeNotAllowed {
                    packet: PacketType::ConnAck,
                    code,
                });
            }
            (code, ConnAckProperties::read(&mut r)?)
        } else {
            (
                ReasonCode::from_v3_connack(code)?,
                ConnAckProperties::default(),
            )
        };
        r.finish()?;
        if session_present && code.is_error() {
            return Err(Violation::SessionPresentOnFailure);
        }
        Ok(ConnAck {
            session_present,
            code,
            properties,
        })
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        if version.is_v5() {
            let props = self.properties.body_len()?;
            Ok((2 + block_len(props), props))
        } else {
            Ok((2, 0))
        }
    }

    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        buf.put_u8(u8::from(self.session_present));
        if version.is_v5() {
            buf.put_u8(self.code.get());
            self.properties.put(buf, props);
        } else {
            buf.put_u8(self.code.to_v3_connack());
        }
    }
}
