//! Property tests of the session building blocks against simple models: the packet id
//! allocator, the outbound in-flight window, the QoS 2 receive state and both topic alias maps.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU16;
use std::time::Instant;

use broker_core::codec::{Ack, Publish, QosPid};
use broker_core::session::{
    AliasUse, InboundAliases, InboundQos2, InboundQos2Publish, InflightState, Message,
    OutboundAliases, OutboundInflight, PacketIdAllocator, PubAckOutcome, PubCompOutcome,
    PubRecOutcome, Retransmission, SendOptions,
};
use broker_core::types::{PacketId, QoS, ReasonCode, TopicAlias, TopicName};
use bytes::Bytes;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum IdOp {
    Allocate,
    /// Release the n-th id in use (modulo), or a random id.
    Release(usize),
    ReleaseAny(u16),
}

fn id_op() -> impl Strategy<Value = IdOp> {
    prop_oneof![
        3 => Just(IdOp::Allocate),
        2 => any::<usize>().prop_map(IdOp::Release),
        1 => (1..=u16::MAX).prop_map(IdOp::ReleaseAny),
    ]
}

proptest! {
    /// [MQTT-2.2.1-4]: every allocated id is non-zero and not in use.
    #[test]
    fn allocator_never_returns_an_id_in_use(ops in prop::collection::vec(id_op(), 1..400)) {
        let mut ids = PacketIdAllocator::new();
        let mut model: HashSet<u16> = HashSet::new();
        for op in ops {
            match op {
                IdOp::Allocate => {
                    let id = ids.allocate().unwrap().get();
                    prop_assert!(id != 0);
                    prop_assert!(model.insert(id), "id {} handed out twice", id);
                }
                IdOp::Release(n) => {
                    if let Some(&id) = model.iter().nth(n % model.len().max(1)) {
                        prop_assert!(ids.release(PacketId::new(id).unwrap()));
                        model.remove(&id);
                    }
                }
                IdOp::ReleaseAny(id) => {
                    let released = ids.release(PacketId::new(id).unwrap());
                    prop_assert_eq!(released, model.remove(&id));
                }
            }
            prop_assert_eq!(ids.in_use(), model.len());
        }
    }
}

#[derive(Debug, Clone)]
enum WindowOp {
    Send(QoS),
    PubAck(usize),
    PubRec(usize, bool),
    PubComp(usize),
    Reconnect(u16),
}

fn window_op() -> impl Strategy<Value = WindowOp> {
    prop_oneof![
        4 => prop_oneof![Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)].prop_map(WindowOp::Send),
        2 => any::<usize>().prop_map(WindowOp::PubAck),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(n, e)| WindowOp::PubRec(n, e)),
        2 => any::<usize>().prop_map(WindowOp::PubComp),
        1 => (1..8u16).prop_map(WindowOp::Reconnect),
    ]
}

fn message(qos: QoS) -> Message {
    let p = Publish::new(TopicName::new("t").unwrap(), Bytes::from_static(b"x"));
    let mut m = Message::from_publish(p, Instant::now()).unwrap();
    m.qos = qos;
    m
}

proptest! {
    /// [MQTT-3.3.4-9]: never more than Receive Maximum new PUBLISH packets unacknowledged;
    /// ids unique; every entry is retransmitted exactly once, PUBLISH with DUP set.
    #[test]
    fn inflight_respects_receive_maximum(
        maximum in 1..8u16,
        ops in prop::collection::vec(window_op(), 1..200),
    ) {
        let mut w = OutboundInflight::new(NonZeroU16::new(maximum).unwrap());
        let mut model: HashMap<PacketId, InflightState> = HashMap::new();
        let mut current_max = usize::from(maximum);
        for op in ops {
            let pick = |n: usize| {
                let mut ids: Vec<_> = model.keys().copied().collect();
                ids.sort();
                ids.get(n % ids.len().max(1)).copied()
            };
            match op {
                WindowOp::Send(qos) => {
                    let before = w.len();
                    let m = message(qos);
                    let sent = w.insert(|id| {
                        let qos_pid = if qos == QoS::ExactlyOnce {
                            QosPid::ExactlyOnce(id)
                        } else {
                            QosPid::AtLeastOnce(id)
                        };
                        m.to_publish(SendOptions::new(qos_pid), m.received_at)
                    });
                    match sent {
                        Ok(p) => {
                            prop_assert!(before < current_max);
                            let id = p.qos_pid.packet_id().unwrap();
                            let state = if qos == QoS::ExactlyOnce {
                                InflightState::AwaitingPubRec
                            } else {
                                InflightState::AwaitingPubAck
                            };
                            prop_assert!(model.insert(id, state).is_none());
                        }
                        Err(_) => prop_assert!(before >= current_max),
                    }
                }
                WindowOp::PubAck(n) => {
                    if let Some(id) = pick(n) {
                        let outcome = w.handle_puback(&Ack::new(id));
                        let done = matches!(outcome, PubAckOutcome::Acknowledged(_));
                        prop_assert_eq!(done, model[&id] == InflightState::AwaitingPubAck);
                        if done {
                            model.remove(&id);
                        }
                    }
                }
                WindowOp::PubRec(n, error) => {
                    if let Some(id) = pick(n) {
                        let code = if error {
                            ReasonCode::UnspecifiedError
                        } else {
                            ReasonCode::Success
                        };
                        let outcome = w.handle_pubrec(&Ack { code, ..Ack::new(id) });
                        match (model[&id], outcome) {
                            (InflightState::AwaitingPubRec, PubRecOutcome::Refused(_)) if error => {
                                model.remove(&id);
                            }
                            (InflightState::AwaitingPubRec, PubRecOutcome::Release(rel))
                                if !error =>
                            {
                                prop_assert_eq!(rel.packet_id, id);
                                model.insert(id, InflightState::AwaitingPubComp);
                            }
                            // A repeated PUBREC is answered again; a failing one after the
                            // PUBREL ends nothing and is not answered ([MQTT-4.4.0-2]).
                            (InflightState::AwaitingPubComp, PubRecOutcome::Release(_))
                                if !error => {}
                            (InflightState::AwaitingPubComp, PubRecOutcome::Ignored) if error => {}
                            // A PUBREC for a QoS 1 PUBLISH is a Protocol Error (§3.5).
                            (
                                InflightState::AwaitingPubAck,
                                PubRecOutcome::WrongKind(InflightState::AwaitingPubAck),
                            ) => {}
                            (state, outcome) => {
                                prop_assert!(false, "{:?} then {:?}", state, outcome)
                            }
                        }
                    }
                }
                WindowOp::PubComp(n) => {
                    if let Some(id) = pick(n) {
                        let done = w.handle_pubcomp(&Ack::new(id)) == PubCompOutcome::Completed;
                        prop_assert_eq!(done, model[&id] == InflightState::AwaitingPubComp);
                        if done {
                            model.remove(&id);
                        }
                    }
                }
                WindowOp::Reconnect(new_max) => {
                    w.set_receive_maximum(NonZeroU16::new(new_max).unwrap());
                    current_max = usize::from(new_max);
                    let mut seen = HashSet::new();
                    for r in w.retransmissions() {
                        let id = match r {
                            Retransmission::Publish(p) => {
                                prop_assert!(p.dup);
                                p.qos_pid.packet_id().unwrap()
                            }
                            Retransmission::PubRel(rel) => {
                                let state = model[&rel.packet_id];
                                prop_assert_eq!(state, InflightState::AwaitingPubComp);
                                rel.packet_id
                            }
                        };
                        prop_assert!(seen.insert(id));
                    }
                    prop_assert_eq!(seen.len(), model.len());
                }
            }
            prop_assert_eq!(w.len(), model.len());
            for (id, state) in &model {
                prop_assert_eq!(w.state(*id), Some(*state));
            }
        }
    }

    /// [MQTT-4.3.3-10]: a message is delivered once per PUBLISH..PUBREL exchange, and the
    /// pending set never grows past the Receive Maximum.
    #[test]
    fn inbound_qos2_delivers_once(
        maximum in 1..6u16,
        ops in prop::collection::vec((any::<bool>(), 1..10u16), 1..200),
    ) {
        let mut q = InboundQos2::new(NonZeroU16::new(maximum).unwrap());
        let mut pending: HashSet<u16> = HashSet::new();
        for (is_publish, raw) in ops {
            let id = PacketId::new(raw).unwrap();
            if is_publish {
                match q.handle_publish(id) {
                    Ok(InboundQos2Publish::New) => prop_assert!(pending.insert(raw)),
                    Ok(InboundQos2Publish::Duplicate) => prop_assert!(pending.contains(&raw)),
                    Err(_) => {
                        prop_assert!(pending.len() >= usize::from(maximum));
                        prop_assert!(!pending.contains(&raw));
                    }
                }
            } else {
                let comp = q.handle_pubrel(&Ack::new(id));
                let expected = if pending.remove(&raw) {
                    ReasonCode::Success
                } else {
                    ReasonCode::PacketIdentifierNotFound
                };
                prop_assert_eq!(comp.code, expected);
            }
            prop_assert!(q.len() <= usize::from(maximum));
        }
    }

    /// [MQTT-3.3.2-11]: the server's aliases stay within the client's maximum, and the
    /// client's view of the aliases (built only from what it receives) always resolves an
    /// alias-only PUBLISH to the right topic.
    #[test]
    fn outbound_aliases_stay_bounded_and_consistent(
        maximum in 0..5u16,
        topics in prop::collection::vec(0..12u8, 1..300),
    ) {
        let mut map = OutboundAliases::new(maximum);
        let mut client: HashMap<TopicAlias, TopicName> = HashMap::new();
        for t in topics {
            let topic = TopicName::new(format!("topic/{t}")).unwrap();
            match map.choose(&topic) {
                AliasUse::NameOnly => prop_assert_eq!(maximum, 0),
                AliasUse::NameAndAlias(a) => {
                    prop_assert!(a.get() <= maximum);
                    client.insert(a, topic);
                }
                AliasUse::AliasOnly(a) => {
                    prop_assert!(a.get() <= maximum);
                    prop_assert_eq!(client.get(&a), Some(&topic));
                }
            }
            prop_assert!(map.len() <= usize::from(maximum));
        }
    }

    /// [MQTT-3.3.2-12]: every alias up to the maximum is accepted, none above; the map stays
    /// bounded and an alias-only PUBLISH resolves to the last name sent with that alias.
    #[test]
    fn inbound_aliases_stay_bounded(
        maximum in 0..5u16,
        ops in prop::collection::vec((1..8u16, prop::option::of(0..6u8)), 1..200),
    ) {
        let mut map = InboundAliases::new(maximum);
        let mut model: HashMap<u16, TopicName> = HashMap::new();
        for (alias, name) in ops {
            let topic = name.map(|n| TopicName::new(format!("n/{n}")).unwrap());
            let mut p = Publish::new(TopicName::new("x").unwrap(), Bytes::new());
            p.topic = topic.clone();
            p.properties.topic_alias = Some(TopicAlias::new(alias).unwrap());
            let result = map.resolve(&mut p);
            if alias > maximum {
                prop_assert_eq!(result.unwrap_err().reason_code(), ReasonCode::TopicAliasInvalid);
                continue;
            }
            match topic {
                Some(t) => {
                    prop_assert!(result.is_ok());
                    model.insert(alias, t);
                }
                None => match model.get(&alias) {
                    Some(t) => {
                        prop_assert!(result.is_ok());
                        prop_assert_eq!(p.topic.as_ref(), Some(t));
                    }
                    None => {
                        let code = result.unwrap_err().reason_code();
                        prop_assert_eq!(code, ReasonCode::ProtocolError);
                    }
                },
            }
            prop_assert!(map.len() <= usize::from(maximum));
        }
    }
}
