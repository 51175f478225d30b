//! The per-packet debug lines, in Mosquitto's words (`Received PUBLISH from c (d0, q1, r0, m1,
//! 't', ... (5 bytes))`), so that operators who grep one broker's log can grep ours.

use std::fmt;

use crate::codec::{Packet, Publish};
use crate::runtime::clipped::Clipped;
use crate::types::ProtocolVersion;

/// Which way a packet went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From the client.
    Received,
    /// To the client.
    Sending,
}

/// One per-packet log line: `Display` writes it.
pub(crate) struct PacketLine<'a> {
    /// Which way.
    pub(crate) direction: Direction,
    /// The client identifier (or the peer address before CONNECT).
    pub(crate) client: &'a dyn fmt::Display,
    /// The packet.
    pub(crate) packet: &'a Packet,
    /// The connection's protocol version, if known.
    pub(crate) version: Option<ProtocolVersion>,
}

impl PacketLine<'_> {
    /// Logs the line: at info level for a traced client, at debug otherwise.
    pub(crate) fn log(&self, traced: bool) {
        if traced {
            tracing::info!("{self}");
        } else {
            tracing::debug!("{self}");
        }
    }
}

impl fmt::Display for PacketLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (verb, prep) = match self.direction {
            Direction::Received => ("Received", "from"),
            Direction::Sending => ("Sending", "to"),
        };
        let name = self.packet.packet_type();
        write!(f, "{verb} {name} {prep} {}", self.client)?;
        let v5 = self.version.is_some_and(ProtocolVersion::is_v5);
        match self.packet {
            Packet::Publish(p) => write_publish(f, p),
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                write!(f, " (Mid: {}", a.packet_id)?;
                if v5 {
                    write!(f, ", RC:{}", a.code.get())?;
                }
                f.write_str(")")
            }
            Packet::ConnAck(c) => {
                let code = if v5 {
                    c.code.get()
                } else {
                    c.code.to_v3_connack()
                };
                write!(f, " ({code})")
            }
            Packet::Subscribe(s) => {
                for sub in &s.subscriptions {
                    write!(
                        f,
                        "\n\t{} (QoS {})",
                        Clipped(&sub.filter),
                        u8::from(sub.options.qos)
                    )?;
                }
                Ok(())
            }
            Packet::Unsubscribe(u) => {
                for filter in &u.filters {
                    write!(f, "\n\t{}", Clipped(filter))?;
                }
                Ok(())
            }
            Packet::Disconnect(d) if v5 => write!(f, " ({})", d.code.get()),
            _ => Ok(()),
        }
    }
}

/// ` (d0, q1, r0, m1, 'topic', ... (N bytes))`
fn write_publish(f: &mut fmt::Formatter<'_>, p: &Publish) -> fmt::Result {
    let topic = p.topic.as_ref().map_or("", |t| t.as_str());
    write!(
        f,
        " (d{}, q{}, r{}, m{}, '{}', ... ({} bytes))",
        u8::from(p.dup),
        u8::from(p.qos_pid.qos()),
        u8::from(p.retain),
        p.qos_pid.packet_id().map_or(0, |id| id.get()),
        Clipped(topic),
        p.payload.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Ack, QosPid};
    use crate::types::{PacketId, TopicName};

    #[test]
    fn publish_line_has_mosquittos_facts() {
        let mut p = Publish::new(TopicName::new("jiji/chat/9").unwrap(), vec![0; 396].into());
        p.qos_pid = QosPid::ExactlyOnce(PacketId::new(1).unwrap());
        let packet = Packet::Publish(p);
        let line = PacketLine {
            direction: Direction::Sending,
            client: &"zhoujing",
            packet: &packet,
            version: Some(ProtocolVersion::V3_1_1),
        };
        assert_eq!(
            line.to_string(),
            "Sending PUBLISH to zhoujing (d0, q2, r0, m1, 'jiji/chat/9', ... (396 bytes))"
        );
        let ack = Packet::PubRec(Ack::new(PacketId::new(1).unwrap()));
        let line = PacketLine {
            direction: Direction::Received,
            client: &"zhoujing",
            packet: &ack,
            version: Some(ProtocolVersion::V3_1_1),
        };
        assert_eq!(line.to_string(), "Received PUBREC from zhoujing (Mid: 1)");
    }
}
