//! AUTH (MQTT 5.0 §3.15): the enhanced authentication exchange.

use bytes::{Bytes, BytesMut};

use super::disconnect::{put_short_form, short_form_sizes};
use super::property::property_set;
use super::reader::Reader;
use super::{EncodeError, PacketType, PropertyContext, Violation};
use crate::types::{MqttString, ProtocolVersion, ReasonCode, UserProperty};

property_set! {
    /// The properties of an AUTH (MQTT 5.0 §3.15.2.2).
    AuthProperties in PropertyContext::Packet(PacketType::Auth);
    once {
        /// Authentication Method.
        authentication_method: MqttString = AuthenticationMethod,
        /// Authentication Data (redacted in `Debug`).
        authentication_data: Bytes = AuthenticationData,
        /// Reason String.
        reason_string: MqttString = ReasonString,
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
    }
}

/// An AUTH packet (5.0 only): Success, Continue authentication or Re-authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// Authenticate Reason Code.
    pub code: ReasonCode,
    /// Properties.
    pub properties: AuthProperties,
}

impl Auth {
    pub(crate) fn decode(mut r: Reader, version: ProtocolVersion) -> Result<Self, Violation> {
        if !version.is_v5() {
            return Err(Violation::PacketNotInVersion(PacketType::Auth));
        }
        let mut auth = Auth {
            code: ReasonCode::Success,
            properties: AuthProperties::default(),
        };
        if !r.is_empty() {
            let code = ReasonCode::new(r.u8()?)?;
            if !code.allowed_in(PacketType::Auth) {
                return Err(Violation::ReasonCodeNotAllowed {
                    packet: PacketType::Auth,
                    code,
                });
            }
            auth.code = code;
            if !r.is_empty() {
                auth.properties = AuthProperties::read(&mut r)?;
            }
        }
        r.finish()?;
        if auth.properties.authentication_data.is_some()
            && auth.properties.authentication_method.is_none()
        {
            return Err(Violation::AuthDataWithoutMethod);
        }
        Ok(auth)
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        if !version.is_v5() {
            return Err(EncodeError::NotInVersion("AUTH", version));
        }
        short_form_sizes(version, self.code, &self.properties)
    }

    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        put_short_form(version, self.code, &self.properties, props, buf);
    }
}
