//! One round of the probe: a subscriber and a publisher connect afresh; the subscriber
//! sends SUBSCRIBE and the publisher, without waiting for the SUBACK, publishes one QoS 0
//! message to that topic. Once the SUBACK is in, the publisher sends a marker on the same
//! topic: it is published after the subscription is live, so it is delivered, and after the
//! probe message on the same connection, so a probe message that was routed arrives before
//! it. The probe message missed the subscription when the marker arrives without it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use broker_core::codec::SubscriptionOptions;
use broker_core::codec::{Packet, Publish, Subscribe, SubscribeProperties, Subscription};
use broker_core::types::{PacketId, ProtocolVersion, QoS, TopicFilter, TopicName};
use bytes::Bytes;

use crate::client::Client;

/// The payload of the message published right after the SUBSCRIBE.
const PROBE: &[u8] = b"probe";
/// The payload of the message published after the SUBACK.
const MARKER: &[u8] = b"marker";

/// What one round saw.
pub(crate) struct Outcome {
    /// The probe message did not reach the subscriber.
    pub(crate) missed: bool,
    /// From writing the SUBSCRIBE to reading its SUBACK.
    pub(crate) suback: Duration,
}

/// Plays one round against the broker at `addr`; `tag` makes its client identifiers and
/// topic unique (at most 21 characters, so that client identifiers stay within 23).
pub(crate) fn play(addr: SocketAddr, version: ProtocolVersion, tag: &str) -> Result<Outcome> {
    let mut publisher = Client::connect(addr, &format!("{tag}-p"), version)?;
    let mut subscriber = Client::connect(addr, &format!("{tag}-s"), version)?;
    let topic = format!("subscribe-race/{tag}");
    // Encoded before the clock starts: the two writes follow each other at once.
    let subscribe = subscriber.encode(&Packet::Subscribe(Subscribe {
        packet_id: PacketId::new(1)?,
        subscriptions: vec![Subscription {
            filter: TopicFilter::new(topic.as_str())?,
            options: SubscriptionOptions::qos(QoS::AtMostOnce),
        }],
        properties: SubscribeProperties::default(),
    }))?;
    let message = |payload| -> Result<Packet> {
        let topic = TopicName::new(topic.as_str())?;
        Ok(Packet::Publish(Publish::new(
            topic,
            Bytes::from_static(payload),
        )))
    };
    let probe = publisher.encode(&message(PROBE)?)?;
    let marker = publisher.encode(&message(MARKER)?)?;

    let start = Instant::now();
    subscriber.write(&subscribe)?;
    publisher.write(&probe)?;
    let mut suback = None;
    let mut got_probe = false;
    // SUBACK, the probe message if it was routed, the marker: a few packets at most.
    for _ in 0..8 {
        match subscriber.recv()? {
            Packet::SubAck(ack) => {
                if ack.codes.first().is_none_or(|code| code.is_error()) {
                    bail!("the subscription to {topic} was refused: {:?}", ack.codes);
                }
                suback.get_or_insert(start.elapsed());
                publisher.write(&marker)?;
            }
            Packet::Publish(publish) if publish.payload.as_ref() == PROBE => got_probe = true,
            Packet::Publish(publish) if publish.payload.as_ref() == MARKER => {
                publisher.close();
                subscriber.close();
                return match suback {
                    Some(suback) => Ok(Outcome {
                        missed: !got_probe,
                        suback,
                    }),
                    None => bail!("a message arrived before the SUBACK it was published after"),
                };
            }
            _ => {}
        }
    }
    bail!("no marker after eight packets")
}
