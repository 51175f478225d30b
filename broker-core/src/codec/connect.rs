//! CONNECT (MQTT 5.0 §3.1, 3.1.1 §3.1, 3.1 §3.1), with its will.

use std::fmt;
use std::num::{NonZeroU16, NonZeroU32};

use bytes::{BufMut, Bytes, BytesMut};

use super::property::{block_len, property_set, PropertySet};
use super::reader::Reader;
use super::writer::{check_binary, field_len, put_field};
use super::{DecodeError, EncodeError, PacketType, PropertyContext, Violation};
use crate::types::{
    ClientId, MqttString, PayloadFormat, ProtocolVersion, QoS, TopicName, UserProperty,
};

const FLAG_RESERVED: u8 = 0b0000_0001;
const FLAG_CLEAN: u8 = 0b0000_0010;
const FLAG_WILL: u8 = 0b0000_0100;
const FLAG_WILL_QOS: u8 = 0b0001_1000;
const FLAG_WILL_RETAIN: u8 = 0b0010_0000;
const FLAG_PASSWORD: u8 = 0b0100_0000;
const FLAG_USERNAME: u8 = 0b1000_0000;

property_set! {
    /// The properties of a CONNECT (MQTT 5.0 §3.1.2.11).
    ConnectProperties in PropertyContext::Packet(PacketType::Connect);
    once {
        /// Session Expiry Interval in seconds.
        session_expiry_interval: u32 = SessionExpiryInterval,
        /// Receive Maximum (not 0).
        receive_maximum: NonZeroU16 = ReceiveMaximum,
        /// Maximum Packet Size the client accepts (not 0).
        maximum_packet_size: NonZeroU32 = MaximumPacketSize,
        /// Topic Alias Maximum the client accepts.
        topic_alias_maximum: u16 = TopicAliasMaximum,
        /// Request Response Information.
        request_response_information: bool = RequestResponseInformation,
        /// Request Problem Information.
        request_problem_information: bool = RequestProblemInformation,
        /// Authentication Method for enhanced authentication.
        authentication_method: MqttString = AuthenticationMethod,
        /// Authentication Data (redacted in `Debug`).
        authentication_data: Bytes = AuthenticationData,
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
    }
}

property_set! {
    /// The Will Properties of a CONNECT payload (MQTT 5.0 §3.1.3.2).
    WillProperties in PropertyContext::Will;
    once {
        /// Will Delay Interval in seconds.
        will_delay_interval: u32 = WillDelayInterval,
        /// Payload Format Indicator.
        payload_format_indicator: PayloadFormat = PayloadFormatIndicator,
        /// Message Expiry Interval in seconds.
        message_expiry_interval: u32 = MessageExpiryInterval,
        /// Content Type.
        content_type: MqttString = ContentType,
        /// Response Topic.
        response_topic: TopicName = ResponseTopic,
        /// Correlation Data.
        correlation_data: Bytes = CorrelationData,
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
    }
}

/// The will message of a CONNECT. `Debug` shows the payload's length only.
#[derive(Clone, PartialEq, Eq)]
pub struct Will {
    /// Will Topic.
    pub topic: TopicName,
    /// Will Payload (binary).
    pub payload: Bytes,
    /// Will QoS.
    pub qos: QoS,
    /// Will Retain.
    pub retain: bool,
    /// Will Properties (empty for 3.x).
    pub properties: WillProperties,
}

impl fmt::Debug for Will {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Will")
            .field("topic", &self.topic)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .field("properties", &self.properties)
            .finish()
    }
}

/// A CONNECT packet. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol name and level.
    pub protocol: ProtocolVersion,
    /// Clean Session (3.x) or Clean Start (5.0).
    pub clean_start: bool,
    /// Keep Alive in seconds; 0 turns it off.
    pub keep_alive: u16,
    /// Client Identifier, possibly empty.
    pub client_id: ClientId,
    /// The will, if the will flag is set.
    pub will: Option<Will>,
    /// User Name.
    pub username: Option<MqttString>,
    /// Password (binary; a string in 3.1).
    pub password: Option<Bytes>,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: ConnectProperties,
    /// A bridge's CONNECT: MQTT 3.1 or 3.1.1 with the top bit of the protocol level set
    /// (0x83, 0x84), as Mosquitto's bridges send it (`try_private`). Not in the
    /// specifications; Mosquitto, EMQX and VerneMQ accept it and then neither send a bridge
    /// its own messages back nor clear the retain flag of what they forward to it.
    pub bridge: bool,
}

/// The top bit of a CONNECT's protocol level that marks a bridge.
const BRIDGE_BIT: u8 = 0x80;

impl Connect {
    /// A CONNECT with only the client identifier set: clean start, keep-alive 60 s.
    #[must_use]
    pub fn new(protocol: ProtocolVersion, client_id: ClientId) -> Self {
        Connect {
            protocol,
            clean_start: true,
            keep_alive: 60,
            client_id,
            will: None,
            username: None,
            password: None,
            properties: ConnectProperties::default(),
            bridge: false,
        }
    }

    /// Whether the client identifier, user name or will topic holds a control character
    /// (U+0001 to U+001F, U+007F to U+009F; MQTT 5.0 §1.5.4).
    #[must_use]
    pub fn has_control_characters(&self) -> bool {
        self.client_id.has_control_characters()
            || self
                .username
                .as_ref()
                .is_some_and(MqttString::has_control_characters)
            || self
                .will
                .as_ref()
                .is_some_and(|will| will.topic.has_control_characters())
    }

    /// Reads the protocol name and level, the first fields of a CONNECT: the version the
    /// rest of the packet (and connection) is decoded with, and whether the level carries
    /// a bridge's mark ([`Connect::bridge`]; MQTT 3.x only).
    pub(crate) fn read_version(r: &mut Reader) -> Result<(ProtocolVersion, bool), DecodeError> {
        let name = r.binary()?;
        let level = r.u8()?;
        let bridge = level & BRIDGE_BIT != 0;
        match (&name[..], level & !BRIDGE_BIT) {
            (b"MQTT", 4) => Ok((ProtocolVersion::V3_1_1, bridge)),
            (b"MQTT", 5) if !bridge => Ok((ProtocolVersion::V5, false)),
            (b"MQIsdp", 3) => Ok((ProtocolVersion::V3_1, bridge)),
            (b"MQTT" | b"MQIsdp", _) => Err(DecodeError::UnsupportedProtocolVersion(level)),
            _ => Err(Violation::InvalidProtocolName.into()),
        }
    }

    /// Decodes the rest of a CONNECT after [`Connect::read_version`].
    pub(crate) fn decode_rest(
        protocol: ProtocolVersion,
        bridge: bool,
        mut r: Reader,
    ) -> Result<Self, Violation> {
        let flags = r.u8()?;
        if flags & FLAG_RESERVED != 0 {
            return Err(Violation::ConnectReservedFlag);
        }
        let will_flag = flags & FLAG_WILL != 0;
        // MQTT 3.1 disregards Will QoS and Will Retain when the will flag is 0 (3.1 §3.1);
        // 3.1.1 and 5.0 require them to be 0.
        let lenient = protocol == ProtocolVersion::V3_1;
        let will_bits = if lenient && !will_flag {
            0
        } else {
            flags & (FLAG_WILL_QOS | FLAG_WILL_RETAIN)
        };
        let will_qos = QoS::try_from((will_bits & FLAG_WILL_QOS) >> 3)
            .map_err(|_| Violation::InvalidWillQoS)?;
        let will_retain = will_bits & FLAG_WILL_RETAIN != 0;
        if !will_flag && will_qos != QoS::AtMostOnce {
            return Err(Violation::WillQoSWithoutWill);
        }
        if !will_flag && will_retain {
            return Err(Violation::WillRetainWithoutWill);
        }
        let username_flag = flags & FLAG_USERNAME != 0;
        let password_flag = flags & FLAG_PASSWORD != 0;
        if !protocol.is_v5() && password_flag && !username_flag {
            return Err(Violation::PasswordWithoutUsername);
        }
        let keep_alive = r.u16()?;
        let properties = if protocol.is_v5() {
            let props = ConnectProperties::read(&mut r)?;
            if props.authentication_data.is_some() && props.authentication_method.is_none() {
                return Err(Violation::AuthDataWithoutMethod);
            }
            props
        } else {
            ConnectProperties::default()
        };
        let client_id = ClientId::from(r.string()?);
        let will = if will_flag {
            let properties = if protocol.is_v5() {
                WillProperties::read(&mut r)?
            } else {
                WillProperties::default()
            };
            Some(Will {
                topic: r.topic_name()?,
                payload: r.binary()?,
                qos: will_qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        // In 3.1 "the Remaining Length field … takes precedence over the User Name flag": a
        // user name or password flag whose field is missing is valid (3.1 §3.1).
        let username = if username_flag && !(lenient && r.is_empty()) {
            Some(r.string()?)
        } else {
            None
        };
        let password = if password_flag && !(lenient && r.is_empty()) {
            Some(r.binary()?)
        } else {
            None
        };
        r.finish()?;
        Ok(Connect {
            protocol,
            clean_start: flags & FLAG_CLEAN != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
            bridge,
        })
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.clean_start {
            flags |= FLAG_CLEAN;
        }
        if let Some(will) = &self.will {
            flags |= FLAG_WILL | (u8::from(will.qos) << 3);
            if will.retain {
                flags |= FLAG_WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= FLAG_USERNAME;
        }
        if self.password.is_some() {
            flags |= FLAG_PASSWORD;
        }
        flags
    }

    /// The remaining length and the property block's body length. The version of the
    /// packet is its own `protocol`.
    pub(crate) fn sizes(&self) -> Result<(usize, usize), EncodeError> {
        let v5 = self.protocol.is_v5();
        if !v5 && self.password.is_some() && self.username.is_none() {
            return Err(Violation::PasswordWithoutUsername.into());
        }
        let mut len = field_len(self.protocol.protocol_name().as_bytes()) + 1 + 1 + 2;
        let props = if v5 {
            let props = self.properties.body_len()?;
            len += block_len(props);
            props
        } else {
            0
        };
        len += field_len(self.client_id.as_bytes());
        if let Some(will) = &self.will {
            if v5 {
                len += block_len(will.properties.body_len()?);
            }
            check_binary(&will.payload)?;
            len += field_len(will.topic.as_bytes()) + field_len(&will.payload);
        }
        if let Some(username) = &self.username {
            len += field_len(username.as_bytes());
        }
        if let Some(password) = &self.password {
            check_binary(password)?;
            len += field_len(password);
        }
        Ok((len, props))
    }

    pub(crate) fn put(&self, props: usize, buf: &mut BytesMut) {
        let v5 = self.protocol.is_v5();
        put_field(buf, self.protocol.protocol_name().as_bytes());
        let bridge = if self.bridge && !v5 { BRIDGE_BIT } else { 0 };
        buf.put_u8(self.protocol.level() | bridge);
        buf.put_u8(self.flags());
        buf.put_u16(self.keep_alive);
        if v5 {
            self.properties.put(buf, props);
        }
        put_field(buf, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            if v5 {
                // Sized (and so validated) in `sizes`; CONNECT is rare enough to size twice.
                let will_props = will.properties.body_len().unwrap_or(0);
                will.properties.put(buf, will_props);
            }
            put_field(buf, will.topic.as_bytes());
            put_field(buf, &will.payload);
        }
        if let Some(username) = &self.username {
            put_field(buf, username.as_bytes());
        }
        if let Some(password) = &self.password {
            put_field(buf, password);
        }
    }
}

impl fmt::Debug for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connect")
            .field("protocol", &self.protocol)
            .field("clean_start", &self.clean_start)
            .field("keep_alive", &self.keep_alive)
            .field("client_id", &self.client_id)
            .field("will", &self.will)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("properties", &self.properties)
            .field("bridge", &self.bridge)
            .finish()
    }
}
