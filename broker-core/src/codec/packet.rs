//! The control packet enum, and encoding of any packet.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use super::{
    varint, Ack, Auth, ConnAck, Connect, DecodeError, Disconnect, EncodeError, FixedHeader,
    PacketType, Publish, SubAck, Subscribe, UnsubAck, Unsubscribe,
};
use crate::types::ProtocolVersion;

/// An MQTT control packet of any version. Fields that only MQTT 5.0 has (properties, most
/// reason codes) are empty or Success for 3.x.
///
/// PUBLISH is held inline although it is the largest variant: it is the packet decoded and
/// encoded per message, and boxing it would cost an allocation each time. The rare large
/// packets, CONNECT and CONNACK, are boxed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // PUBLISH inline on purpose, see above.
pub enum Packet {
    /// CONNECT.
    Connect(Box<Connect>),
    /// CONNACK.
    ConnAck(Box<ConnAck>),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(Ack),
    /// PUBREC.
    PubRec(Ack),
    /// PUBREL.
    PubRel(Ack),
    /// PUBCOMP.
    PubComp(Ack),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    SubAck(SubAck),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    UnsubAck(UnsubAck),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// AUTH (5.0 only).
    Auth(Auth),
}

impl Packet {
    /// The packet's type.
    #[must_use]
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }

    /// Whether a string the client names things with holds a control character (U+0001 to
    /// U+001F, U+007F to U+009F; MQTT 5.0 §1.5.4): the client identifier, user name and will
    /// topic of a CONNECT, the topic name of a PUBLISH, the filters of a SUBSCRIBE or
    /// UNSUBSCRIBE. Other strings (properties, reason strings) are not looked at.
    #[must_use]
    pub fn has_control_characters(&self) -> bool {
        match self {
            Packet::Connect(c) => c.has_control_characters(),
            Packet::Publish(p) => p.topic.as_ref().is_some_and(|t| t.has_control_characters()),
            Packet::Subscribe(s) => s
                .subscriptions
                .iter()
                .any(|sub| sub.filter.has_control_characters()),
            Packet::Unsubscribe(u) => u.filters.iter().any(|f| f.has_control_characters()),
            _ => false,
        }
    }

    /// Decodes a packet body (the bytes after the fixed header). A CONNECT is decoded with
    /// the version it names itself; every other packet with `version`.
    #[inline]
    pub(crate) fn decode_body(
        header: FixedHeader,
        body: Bytes,
        version: ProtocolVersion,
    ) -> Result<Packet, DecodeError> {
        let r = Reader::new(body);
        let packet = match header.packet_type {
            PacketType::Connect => {
                let mut r = r;
                let (protocol, bridge) = Connect::read_version(&mut r)?;
                Packet::Connect(Box::new(Connect::decode_rest(protocol, bridge, r)?))
            }
            PacketType::ConnAck => Packet::ConnAck(Box::new(ConnAck::decode(r, version)?)),
            PacketType::Publish => Packet::Publish(Publish::decode(header.flags, r, version)?),
            PacketType::PubAck => Packet::PubAck(Ack::decode(PacketType::PubAck, r, version)?),
            PacketType::PubRec => Packet::PubRec(Ack::decode(PacketType::PubRec, r, version)?),
            PacketType::PubRel => Packet::PubRel(Ack::decode(PacketType::PubRel, r, version)?),
            PacketType::PubComp => Packet::PubComp(Ack::decode(PacketType::PubComp, r, version)?),
            PacketType::Subscribe => Packet::Subscribe(Subscribe::decode(r, version)?),
            PacketType::SubAck => Packet::SubAck(SubAck::decode(r, version)?),
            PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(r, version)?),
            PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::decode(r, version)?),
            PacketType::PingReq => {
                r.finish()?;
                Packet::PingReq
            }
            PacketType::PingResp => {
                r.finish()?;
                Packet::PingResp
            }
            PacketType::Disconnect => Packet::Disconnect(Disconnect::decode(r, version)?),
            PacketType::Auth => Packet::Auth(Auth::decode(r, version)?),
        };
        Ok(packet)
    }

    /// Encodes the packet for a connection speaking `version` and appends it to `buf`.
    /// Returns the number of bytes written.
    ///
    /// Fields that `version` lacks are left out (a 3.x PUBLISH carries no properties, a
    /// 3.x SUBACK maps failure codes to 0x80). A CONNECT is always encoded for its own
    /// `protocol`. Fails without writing anything if the packet cannot be represented.
    pub fn encode(
        &self,
        version: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let (first, (remaining, props)) = self.sizes(version)?;
        let remaining_u32 = u32::try_from(remaining)
            .ok()
            .filter(|&r| r <= varint::MAX_VAR_INT)
            .ok_or(EncodeError::TooLarge(remaining))?;
        let total = 1 + varint::len(remaining_u32) + remaining;
        buf.reserve(total);
        buf.put_u8(first);
        varint::put(buf, remaining_u32);
        match self {
            Packet::Connect(p) => p.put(props, buf),
            Packet::ConnAck(p) => p.put(version, props, buf),
            Packet::Publish(p) => p.put(version, props, buf),
            Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubRel(p) | Packet::PubComp(p) => {
                p.put(version, props, buf);
            }
            Packet::Subscribe(p) => p.put(version, props, buf),
            Packet::SubAck(p) => p.put(version, props, buf),
            Packet::Unsubscribe(p) => p.put(version, props, buf),
            Packet::UnsubAck(p) => p.put(version, props, buf),
            Packet::PingReq | Packet::PingResp => {}
            Packet::Disconnect(p) => p.put(version, props, buf),
            Packet::Auth(p) => p.put(version, props, buf),
        }
        Ok(total)
    }

    /// The number of bytes [`Packet::encode`] would write, to check a peer's Maximum Packet
    /// Size before sending.
    pub fn encoded_len(&self, version: ProtocolVersion) -> Result<usize, EncodeError> {
        let (_, (remaining, _)) = self.sizes(version)?;
        let remaining_u32 = u32::try_from(remaining)
            .ok()
            .filter(|&r| r <= varint::MAX_VAR_INT)
            .ok_or(EncodeError::TooLarge(remaining))?;
        Ok(1 + varint::len(remaining_u32) + remaining)
    }

    /// The first byte and the (remaining length, property body length) pair.
    #[inline]
    fn sizes(&self, version: ProtocolVersion) -> Result<(u8, (usize, usize)), EncodeError> {
        let first = match self {
            Packet::Publish(p) => p.first_byte(),
            other => other.packet_type().first_byte(),
        };
        let sizes = match self {
            Packet::Connect(p) => p.sizes()?,
            Packet::ConnAck(p) => p.sizes(version)?,
            Packet::Publish(p) => p.sizes(version)?,
            Packet::PubAck(p) | Packet::PubRec(p) | Packet::PubRel(p) | Packet::PubComp(p) => {
                p.sizes(version)?
            }
            Packet::Subscribe(p) => p.sizes(version)?,
            Packet::SubAck(p) => p.sizes(version)?,
            Packet::Unsubscribe(p) => p.sizes(version)?,
            Packet::UnsubAck(p) => p.sizes(version)?,
            Packet::PingReq | Packet::PingResp => (0, 0),
            Packet::Disconnect(p) => p.sizes(version)?,
            Packet::Auth(p) => p.sizes(version)?,
        };
        Ok((first, sizes))
    }
}
