//! DISCONNECT (MQTT 5.0 §3.14, 3.1.1 §3.14).

use bytes::{BufMut, BytesMut};

use super::property::{block_len, property_set, PropertySet};
use super::reader::Reader;
use super::{EncodeError, PacketType, PropertyContext, Violation};
use crate::types::{MqttString, ProtocolVersion, ReasonCode, UserProperty};

property_set! {
    /// The properties of a DISCONNECT (MQTT 5.0 §3.14.2.2).
    DisconnectProperties in PropertyContext::Packet(PacketType::Disconnect);
    once {
        /// Session Expiry Interval (client to server only).
        session_expiry_interval: u32 = SessionExpiryInterval,
        /// Reason String.
        reason_string: MqttString = ReasonString,
        /// Server Reference.
        server_reference: MqttString = ServerReference,
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
    }
}

/// A DISCONNECT packet. 3.x has no body: the code is Normal disconnection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// Disconnect Reason Code.
    pub code: ReasonCode,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: DisconnectProperties,
}

impl Disconnect {
    /// A DISCONNECT with this reason code and no properties.
    #[must_use]
    pub fn new(code: ReasonCode) -> Self {
        Disconnect {
            code,
            properties: DisconnectProperties::default(),
        }
    }

    pub(crate) fn decode(mut r: Reader, version: ProtocolVersion) -> Result<Self, Violation> {
        let mut disconnect = Disconnect::new(ReasonCode::NORMAL_DISCONNECTION);
        if version.is_v5() && !r.is_empty() {
            let code = ReasonCode::new(r.u8()?)?;
            if !code.allowed_in(PacketType::Disconnect) {
                return Err(Violation::ReasonCodeNotAllowed {
                    packet: PacketType::Disconnect,
                    code,
                });
            }
            disconnect.code = code;
            if !r.is_empty() {
                disconnect.properties = DisconnectProperties::read(&mut r)?;
            }
        }
        r.finish()?;
        Ok(disconnect)
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        short_form_sizes(version, self.code, &self.properties)
    }

    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        put_short_form(version, self.code, &self.properties, props, buf);
    }
}

/// Sizes a body of reason code and properties that may be shortened: nothing when the code
/// is Success and there are no properties, the code alone when there are no properties
/// (DISCONNECT §3.14.2.1, AUTH §3.15.2.1). 3.x bodies are empty.
pub(crate) fn short_form_sizes(
    version: ProtocolVersion,
    code: ReasonCode,
    properties: &impl PropertySet,
) -> Result<(usize, usize), EncodeError> {
    if !version.is_v5() {
        return Ok((0, 0));
    }
    let props = properties.body_len()?;
    if props > 0 {
        Ok((1 + block_len(props), props))
    } else if code == ReasonCode::Success {
        Ok((0, 0))
    } else {
        Ok((1, 0))
    }
}

/// Writes a body sized by [`short_form_sizes`].
pub(crate) fn put_short_form(
    version: ProtocolVersion,
    code: ReasonCode,
    properties: &impl PropertySet,
    props: usize,
    buf: &mut BytesMut,
) {
    if !version.is_v5() {
        return;
    }
    if props > 0 {
        buf.put_u8(code.get());
        properties.put(buf, props);
    } else if code != ReasonCode::Success {
        buf.put_u8(code.get());
    }
}
