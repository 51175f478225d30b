//! Random packet sequences against one session: whatever a client sends, the session never
//! panics, never has two messages in flight under one packet identifier ([MQTT-2.2.1-4]),
//! never exceeds the client's Receive Maximum ([MQTT-3.3.4-9]), and holds exactly the
//! subscriptions the client asked for and did not remove.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU16;
use std::time::Duration;

use broker_core::codec::{
    Ack, Disconnect, Packet, QosPid, Subscribe, Subscription, SubscriptionOptions, Unsubscribe,
};
use broker_core::session::{
    Command, DeliverOutcome, FilterOutcome, Message, PublishOutcome, QueuedMessage, SessionConfig,
};
use broker_core::types::{PacketId, ProtocolVersion, QoS, ReasonCode, TopicFilter};
use proptest::prelude::*;

use crate::harness::{publish, topic, Harness};

const FILTERS: [&str; 4] = ["a", "a/+", "#", "$share/g/a"];
const RECEIVE_MAXIMUM: u16 = 3;

#[derive(Debug, Clone)]
enum Op {
    Publish(u8, u16),
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe(u16, usize),
    Unsubscribe(u16, usize),
    Ping,
    Deliver(u8),
    Advance(u64),
    Disconnect,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 1u16..6;
    prop_oneof![
        (0u8..3, id.clone()).prop_map(|(q, i)| Op::Publish(q, i)),
        id.clone().prop_map(Op::PubAck),
        id.clone().prop_map(Op::PubRec),
        id.clone().prop_map(Op::PubRel),
        id.clone().prop_map(Op::PubComp),
        (id.clone(), 0..FILTERS.len()).prop_map(|(i, f)| Op::Subscribe(i, f)),
        (id, 0..FILTERS.len()).prop_map(|(i, f)| Op::Unsubscribe(i, f)),
        Just(Op::Ping),
        (0u8..3).prop_map(Op::Deliver),
        (0u64..40).prop_map(Op::Advance),
        Just(Op::Disconnect),
    ]
}

fn qos(q: u8) -> QoS {
    QoS::try_from(q).unwrap()
}

fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap()
}

/// What the client's side of the wire knows: the server's messages in flight by packet id.
#[derive(Default)]
struct Wire {
    /// id -> (QoS, released by PUBREC)
    in_flight: HashMap<PacketId, (QoS, bool)>,
}

impl Wire {
    fn server_sent(&mut self, packet: &Packet) {
        if let Packet::Publish(p) = packet {
            if let Some(id) = p.qos_pid.packet_id() {
                let previous = self.in_flight.insert(id, (p.qos_pid.qos(), false));
                assert!(
                    previous.is_none() || p.dup,
                    "packet id {id:?} reused while in flight [MQTT-2.2.1-4]"
                );
            }
        }
    }

    fn client_sent(&mut self, op: &Op) {
        match *op {
            Op::PubAck(id) => {
                if let Some((QoS::AtLeastOnce, _)) = self.in_flight.get(&pid(id)) {
                    self.in_flight.remove(&pid(id));
                }
            }
            Op::PubRec(id) => {
                if let Some((QoS::ExactlyOnce, released)) = self.in_flight.get_mut(&pid(id)) {
                    *released = true;
                }
            }
            Op::PubComp(id) => {
                if let Some((QoS::ExactlyOnce, true)) = self.in_flight.get(&pid(id)) {
                    self.in_flight.remove(&pid(id));
                }
            }
            _ => {}
        }
    }
}

fn run(version: ProtocolVersion, ops: &[Op]) {
    // 3.x clients have no Receive Maximum: the server's own limit applies.
    let mut config = SessionConfig::default();
    config.max_inflight_v3 = NonZeroU16::new(RECEIVE_MAXIMUM).unwrap();
    let mut h = Harness::with_config(version, config);
    let mut connect = h.connect_packet("prop");
    connect.keep_alive = 30;
    connect.properties.receive_maximum = NonZeroU16::new(RECEIVE_MAXIMUM);
    h.connect_with(connect, None);
    let mut wire = Wire::default();
    let mut subscribed = BTreeSet::new();
    for op in ops {
        if h.session.is_closed() {
            break;
        }
        wire.client_sent(op);
        match *op {
            Op::Publish(q, id) => {
                let qos_pid = match q {
                    0 => QosPid::AtMostOnce,
                    1 => QosPid::AtLeastOnce(pid(id)),
                    _ => QosPid::ExactlyOnce(pid(id)),
                };
                h.send(Packet::Publish(publish("a", "p", qos_pid)));
            }
            Op::PubAck(id) => h.send(Packet::PubAck(Ack::new(pid(id)))),
            Op::PubRec(id) => h.send(Packet::PubRec(Ack::new(pid(id)))),
            Op::PubRel(id) => h.send(Packet::PubRel(Ack::new(pid(id)))),
            Op::PubComp(id) => h.send(Packet::PubComp(Ack::new(pid(id)))),
            Op::Subscribe(id, f) => {
                h.send(Packet::Subscribe(Subscribe {
                    packet_id: pid(id),
                    subscriptions: vec![Subscription {
                        filter: TopicFilter::new(FILTERS[f]).unwrap(),
                        options: SubscriptionOptions::qos(QoS::ExactlyOnce),
                    }],
                    properties: Default::default(),
                }));
                subscribed.insert(FILTERS[f]);
            }
            Op::Unsubscribe(id, f) => {
                h.send(Packet::Unsubscribe(Unsubscribe {
                    packet_id: pid(id),
                    filters: vec![TopicFilter::new(FILTERS[f]).unwrap()],
                    properties: Default::default(),
                }));
                subscribed.remove(FILTERS[f]);
            }
            Op::Ping => h.send(Packet::PingReq),
            Op::Deliver(q) => {
                let message = Message::new(
                    topic("a"),
                    "d".into(),
                    qos(q),
                    false,
                    Default::default(),
                    h.now,
                );
                let queued = QueuedMessage::new(message, QoS::ExactlyOnce, false, Vec::new());
                let could = h.session.can_deliver(queued.qos);
                match h.session.deliver(queued, h.now) {
                    DeliverOutcome::Sent => assert!(could),
                    DeliverOutcome::Blocked(_) => assert!(!could),
                    DeliverOutcome::Dropped(d) => panic!("dropped {d:?}"),
                }
            }
            Op::Advance(secs) => h.advance(Duration::from_secs(secs)),
            Op::Disconnect => h.send(Packet::Disconnect(Disconnect::new(ReasonCode::Success))),
        }
        // Play the runtime: route everything, grant every filter.
        for command in h.commands() {
            match command {
                Command::Publish(request) => {
                    if let Some(ack) = request.ack {
                        h.session
                            .complete_publish(ack, PublishOutcome::Routed { matched: true });
                    }
                }
                Command::Subscribe(request) => {
                    let outcomes: Vec<_> = request
                        .filters
                        .iter()
                        .map(|f| FilterOutcome::Granted(f.entry.options.qos))
                        .collect();
                    h.session.complete_subscribe(request.packet_id, &outcomes);
                }
                Command::Connect(_)
                | Command::Authenticate(_)
                | Command::Unsubscribe(_)
                | Command::Close(_) => {}
            }
        }
        for packet in h.sent() {
            wire.server_sent(&packet);
        }
        let outbound = h.session.state().outbound();
        assert!(
            outbound.len() <= usize::from(RECEIVE_MAXIMUM),
            "Receive Maximum exceeded"
        );
        assert_eq!(
            outbound.len(),
            wire.in_flight.len(),
            "session and wire disagree"
        );
        if !h.session.is_closed() {
            let held: BTreeSet<&str> = h
                .session
                .state()
                .subscriptions()
                .map(|(f, _)| f.as_str())
                .collect();
            assert_eq!(held, subscribed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_sequences_keep_the_invariants_v5(ops in proptest::collection::vec(op(), 1..80)) {
        run(ProtocolVersion::V5, &ops);
    }

    #[test]
    fn random_sequences_keep_the_invariants_v311(ops in proptest::collection::vec(op(), 1..80)) {
        run(ProtocolVersion::V3_1_1, &ops);
    }
}
