//! An MQTT 3.1.1 client made of Skein's own codec over a [`Stream`]: CONNECT / CONNACK,
//! SUBSCRIBE / SUBACK, DISCONNECT, and a PUBLISH template that publishers fill in place
//! (packet identifier and payload stamp) instead of encoding each message.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use broker_core::codec::{
    Connect, Decoder, Disconnect, Packet, Publish, QosPid, Subscribe, SubscribeProperties,
    Subscription, SubscriptionOptions,
};
use broker_core::types::{
    ClientId, PacketId, ProtocolVersion, QoS, ReasonCode, TopicFilter, TopicName,
};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::net::Stream;
use crate::stats::STAMP_LEN;

/// The protocol every client speaks.
pub(crate) const VERSION: ProtocolVersion = ProtocolVersion::V3_1_1;

/// Keep Alive in CONNECT: longer than any run may last (runs are bounded far below it), so
/// no client needs to send PINGREQ.
const KEEP_ALIVE_S: u16 = 600;

/// Reads reserve at least this much room.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// How long a closing client waits for the broker to close first.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// One MQTT connection: the stream, the decoder and its read buffer.
pub(crate) struct Client {
    pub(crate) stream: Stream,
    pub(crate) decoder: Decoder,
    pub(crate) rbuf: BytesMut,
}

impl Client {
    /// Sends CONNECT (clean session) on `stream` and waits for a successful CONNACK.
    pub(crate) async fn connect(stream: Stream, client_id: &str) -> Result<Client> {
        let mut client = Client {
            stream,
            decoder: Decoder::with_version(VERSION),
            rbuf: BytesMut::with_capacity(4096),
        };
        let mut connect = Connect::new(VERSION, ClientId::new(client_id)?);
        connect.clean_start = true;
        connect.keep_alive = KEEP_ALIVE_S;
        client.send(&Packet::Connect(Box::new(connect))).await?;
        match client.recv().await? {
            Packet::ConnAck(ack) if ack.code == ReasonCode::Success => Ok(client),
            Packet::ConnAck(ack) => bail!("connection refused: {:?}", ack.code),
            other => bail!("expected CONNACK, got {:?}", other.packet_type()),
        }
    }

    /// Subscribes to `filter` at `qos` and waits for the SUBACK.
    pub(crate) async fn subscribe(&mut self, filter: &str, qos: QoS) -> Result<()> {
        let subscribe = Subscribe {
            packet_id: PacketId::new(1)?,
            subscriptions: vec![Subscription {
                filter: TopicFilter::new(filter)?,
                options: SubscriptionOptions::qos(qos),
            }],
            properties: SubscribeProperties::default(),
        };
        self.send(&Packet::Subscribe(subscribe)).await?;
        loop {
            if let Packet::SubAck(ack) = self.recv().await? {
                return match ack.codes.first() {
                    Some(code) if !code.is_error() => Ok(()),
                    other => bail!("subscription to {filter} refused: {other:?}"),
                };
            }
        }
    }

    /// Encodes `packet`, writes it and flushes.
    pub(crate) async fn send(&mut self, packet: &Packet) -> Result<()> {
        let mut out = BytesMut::new();
        packet.encode(VERSION, &mut out)?;
        self.stream.write_all(&out).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// The next packet; an error when the broker closes the connection.
    pub(crate) async fn recv(&mut self) -> Result<Packet> {
        loop {
            if let Some(packet) = self.decoder.decode(&mut self.rbuf)? {
                return Ok(packet);
            }
            self.rbuf.reserve(4096);
            if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                bail!("the broker closed the connection");
            }
        }
    }

    /// Sends DISCONNECT and waits (at most 2 s) for the broker to close first, so that
    /// TIME_WAIT lands on the broker's side and client ports stay reusable across runs.
    pub(crate) async fn close(mut self) {
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            self.send(&Packet::Disconnect(Disconnect::new(
                ReasonCode::NORMAL_DISCONNECTION,
            )))
            .await?;
            let mut scratch = [0u8; 512];
            while self.stream.read(&mut scratch).await? > 0 {}
            anyhow::Ok(())
        })
        .await;
    }
}

/// One encoded PUBLISH for a topic, QoS and payload size, with the places of its packet
/// identifier and payload stamp.
pub(crate) struct PublishTemplate {
    bytes: Vec<u8>,
    packet_id_at: Option<usize>,
    stamp_at: usize,
}

impl PublishTemplate {
    /// The template of a `payload`-byte message on `topic` at `qos` (0 or 1).
    pub(crate) fn new(topic: &str, qos: QoS, payload: usize) -> Result<PublishTemplate> {
        if payload < STAMP_LEN {
            bail!("the payload must have at least {STAMP_LEN} bytes for the stamp");
        }
        let mut publish = Publish::new(TopicName::new(topic)?, Bytes::from(vec![0u8; payload]));
        publish.qos_pid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(PacketId::new(1)?),
            QoS::ExactlyOnce => bail!("QoS 2 is not supported by this tool"),
        };
        let mut out = BytesMut::new();
        Packet::Publish(publish)
            .encode(VERSION, &mut out)
            .context("encoding the PUBLISH template")?;
        // MQTT 3.1.1: ... topic, packet identifier (QoS > 0), payload: the payload is last.
        let stamp_at = out.len() - payload;
        let packet_id_at = (qos == QoS::AtLeastOnce).then(|| stamp_at - 2);
        Ok(PublishTemplate {
            bytes: out.to_vec(),
            packet_id_at,
            stamp_at,
        })
    }

    /// Bytes of one message.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Appends one message with packet identifier `packet_id` (ignored at QoS 0) and `stamp`.
    pub(crate) fn write(&self, out: &mut BytesMut, packet_id: u16, stamp: &[u8; STAMP_LEN]) {
        let start = out.len();
        out.extend_from_slice(&self.bytes);
        if let Some(at) = self.packet_id_at {
            if let Some(slot) = out.get_mut(start + at..start + at + 2) {
                slot.copy_from_slice(&packet_id.to_be_bytes());
            }
        }
        let at = start + self.stamp_at;
        if let Some(slot) = out.get_mut(at..at + STAMP_LEN) {
            slot.copy_from_slice(stamp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{read_stamp, stamp};

    #[test]
    fn the_template_decodes_as_the_message_it_stands_for() {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            let template = PublishTemplate::new("a/b/7", qos, 64).unwrap();
            let mut out = BytesMut::new();
            template.write(&mut out, 513, &stamp(3, 99, 12345));
            template.write(&mut out, 514, &stamp(3, 100, 12346));
            assert_eq!(out.len(), 2 * template.len());
            let mut decoder = Decoder::with_version(VERSION);
            for (pid, seq) in [(513, 99), (514, 100)] {
                let Some(Packet::Publish(publish)) = decoder.decode(&mut out).unwrap() else {
                    panic!("not a PUBLISH");
                };
                assert_eq!(publish.topic.as_ref().map(|t| t.as_str()), Some("a/b/7"));
                assert_eq!(publish.payload.len(), 64);
                assert_eq!(
                    read_stamp(&publish.payload),
                    Some((3, seq, 12345 + seq - 99))
                );
                match qos {
                    QoS::AtMostOnce => assert_eq!(publish.qos_pid, QosPid::AtMostOnce),
                    _ => assert_eq!(
                        publish.qos_pid,
                        QosPid::AtLeastOnce(PacketId::new(pid).unwrap())
                    ),
                }
            }
            assert!(out.is_empty());
        }
    }

    #[test]
    fn a_payload_too_short_for_the_stamp_is_refused() {
        assert!(PublishTemplate::new("t", QoS::AtMostOnce, STAMP_LEN - 1).is_err());
    }
}
