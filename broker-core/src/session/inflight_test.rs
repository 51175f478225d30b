//! Unit tests of [`OutboundInflight`].

use std::time::Instant;

use bytes::Bytes;

use super::*;
use crate::codec::QosPid;
use crate::session::{AliasUse, Message, SendOptions};
use crate::types::{StoreSeq, TopicAlias, TopicName};

fn max(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).unwrap()
}

fn message(qos: QoS) -> Message {
    let p = Publish::new(TopicName::new("t").unwrap(), Bytes::from_static(b"x"));
    let mut m = Message::from_publish(p, Instant::now()).unwrap();
    m.qos = qos;
    m
}

fn send(window: &mut OutboundInflight, qos: QoS) -> Result<Publish, InflightError> {
    let m = message(qos);
    window.insert(|id| {
        let qos_pid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(id),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(id),
        };
        m.to_publish(SendOptions::new(qos_pid), m.received_at)
    })
}

fn pid(p: &Publish) -> PacketId {
    p.qos_pid.packet_id().unwrap()
}

fn ack(id: PacketId, code: ReasonCode) -> Ack {
    Ack {
        code,
        ..Ack::new(id)
    }
}

#[test]
fn receive_maximum_bounds_the_window_mqtt_3_3_4_9() {
    // [MQTT-3.3.4-9] / [MQTT-4.9.0-2]: no more than Receive Maximum unacknowledged.
    let mut w = OutboundInflight::new(max(2));
    let a = send(&mut w, QoS::AtLeastOnce).unwrap();
    let b = send(&mut w, QoS::ExactlyOnce).unwrap();
    assert_ne!(pid(&a), pid(&b));
    assert!(!w.has_quota());
    assert_eq!(
        send(&mut w, QoS::AtLeastOnce),
        Err(InflightError::ReceiveMaximumReached)
    );
    // A PUBACK frees one slot.
    assert!(matches!(
        w.handle_puback(&Ack::new(pid(&a))),
        PubAckOutcome::Acknowledged(_)
    ));
    assert!(w.has_quota());
    send(&mut w, QoS::AtLeastOnce).unwrap();
}

#[test]
fn qos_0_and_foreign_ids_are_refused_and_release_the_id() {
    let mut w = OutboundInflight::new(max(10));
    assert_eq!(
        send(&mut w, QoS::AtMostOnce),
        Err(InflightError::NotAcknowledged)
    );
    let wrong = w.insert(|_| {
        message(QoS::AtLeastOnce).to_publish(
            SendOptions::new(QosPid::AtLeastOnce(PacketId::MAX)),
            Instant::now(),
        )
    });
    assert_eq!(wrong, Err(InflightError::NotAcknowledged));
    assert!(w.is_empty());
    let alias_only = w.insert(|id| {
        let options = SendOptions {
            alias: AliasUse::AliasOnly(TopicAlias::new(1).unwrap()),
            ..SendOptions::new(QosPid::AtLeastOnce(id))
        };
        message(QoS::AtLeastOnce).to_publish(options, Instant::now())
    });
    assert_eq!(alias_only, Err(InflightError::TopicAliasOnly));
    assert!(w.is_empty());
}

#[test]
fn qos_1_exchange_mqtt_4_3_2_3() {
    // [MQTT-4.3.2-3]: unacknowledged until the PUBACK.
    let mut w = OutboundInflight::new(max(10));
    let p = send(&mut w, QoS::AtLeastOnce).unwrap();
    assert_eq!(w.state(pid(&p)), Some(InflightState::AwaitingPubAck));
    // A PUBREC or PUBCOMP for a QoS 1 id does not complete it: it is of the wrong kind
    // (§3.5, §3.7), a Protocol Error for the session.
    assert_eq!(
        w.handle_pubcomp(&Ack::new(pid(&p))),
        PubCompOutcome::WrongKind(InflightState::AwaitingPubAck)
    );
    assert_eq!(
        w.handle_pubrec(&Ack::new(pid(&p))),
        PubRecOutcome::WrongKind(InflightState::AwaitingPubAck)
    );
    assert_eq!(w.len(), 1);
    // [MQTT-4.4.0-2]: an error code still acknowledges it.
    let outcome = w.handle_puback(&ack(pid(&p), ReasonCode::UnspecifiedError));
    assert_eq!(outcome, PubAckOutcome::Acknowledged(Box::new(p.clone())));
    assert!(w.is_empty());
    assert_eq!(w.handle_puback(&Ack::new(pid(&p))), PubAckOutcome::Unknown);
}

#[test]
fn qos_2_exchange_mqtt_4_3_3_3_to_5() {
    let mut w = OutboundInflight::new(max(10));
    let p = send(&mut w, QoS::ExactlyOnce).unwrap();
    let id = pid(&p);
    assert_eq!(w.state(id), Some(InflightState::AwaitingPubRec));
    assert_eq!(w.publish(id), Some(&p));
    // [MQTT-4.3.3-4]: PUBREC < 0x80 is answered with PUBREL carrying the same id.
    assert_eq!(
        w.handle_pubrec(&Ack::new(id)),
        PubRecOutcome::Release(Ack::new(id))
    );
    // [MQTT-4.3.3-5]: the PUBREL is unacknowledged until PUBCOMP; still counts.
    assert_eq!(w.state(id), Some(InflightState::AwaitingPubComp));
    assert_eq!(w.publish(id), None);
    assert_eq!(w.len(), 1);
    // A repeated PUBREC gets the PUBREL again.
    assert_eq!(
        w.handle_pubrec(&Ack::new(id)),
        PubRecOutcome::Release(Ack::new(id))
    );
    // A PUBACK for a QoS 2 exchange is of the wrong kind (§3.4).
    assert_eq!(
        w.handle_puback(&Ack::new(id)),
        PubAckOutcome::WrongKind(InflightState::AwaitingPubComp)
    );
    assert_eq!(w.handle_pubcomp(&Ack::new(id)), PubCompOutcome::Completed);
    assert!(w.is_empty());
    assert_eq!(w.handle_pubcomp(&Ack::new(id)), PubCompOutcome::Unknown);
}

#[test]
fn pubrec_with_error_ends_the_exchange_mqtt_4_4_0_2() {
    let mut w = OutboundInflight::new(max(1));
    let p = send(&mut w, QoS::ExactlyOnce).unwrap();
    let outcome = w.handle_pubrec(&ack(pid(&p), ReasonCode::QuotaExceeded));
    assert_eq!(outcome, PubRecOutcome::Refused(Box::new(p)));
    assert!(w.is_empty());
    assert!(w.has_quota());
    assert_eq!(w.retransmissions().count(), 0);
}

#[test]
fn failing_pubrec_without_a_pubrec_awaited_is_ignored_mqtt_4_4_0_2() {
    let mut w = OutboundInflight::new(max(2));
    // Unknown identifier: no PUBREL, not even 0x92.
    let unknown = PacketId::new(9).unwrap();
    let outcome = w.handle_pubrec(&ack(unknown, ReasonCode::UnspecifiedError));
    assert_eq!(outcome, PubRecOutcome::Ignored);
    // Released already: no second PUBREL; the exchange still awaits its PUBCOMP.
    let p = send(&mut w, QoS::ExactlyOnce).unwrap();
    let id = pid(&p);
    assert_eq!(
        w.handle_pubrec(&Ack::new(id)),
        PubRecOutcome::Release(Ack::new(id))
    );
    let outcome = w.handle_pubrec(&ack(id, ReasonCode::QuotaExceeded));
    assert_eq!(outcome, PubRecOutcome::Ignored);
    assert_eq!(w.state(id), Some(InflightState::AwaitingPubComp));
}

#[test]
fn pubcomp_before_pubrec_is_of_the_wrong_kind() {
    let mut w = OutboundInflight::new(max(2));
    let p = send(&mut w, QoS::ExactlyOnce).unwrap();
    assert_eq!(
        w.handle_pubcomp(&Ack::new(pid(&p))),
        PubCompOutcome::WrongKind(InflightState::AwaitingPubRec)
    );
    assert_eq!(
        w.handle_puback(&Ack::new(pid(&p))),
        PubAckOutcome::WrongKind(InflightState::AwaitingPubRec)
    );
    assert_eq!(w.state(pid(&p)), Some(InflightState::AwaitingPubRec));
}

#[test]
fn unknown_pubrec_is_answered_with_0x92() {
    // MQTT 5.0 §3.6.2.1: PUBREL 0x92 Packet Identifier not found.
    let mut w = OutboundInflight::new(max(1));
    let id = PacketId::new(9).unwrap();
    match w.handle_pubrec(&Ack::new(id)) {
        PubRecOutcome::Unknown(rel) => {
            assert_eq!(rel.packet_id, id);
            assert_eq!(rel.code, ReasonCode::PacketIdentifierNotFound);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn retransmission_order_and_dup_mqtt_4_4_0_1() {
    // [MQTT-4.4.0-1]: resend unacknowledged PUBLISH (DUP=1, same ids) and PUBREL;
    // [MQTT-4.6.0-1]: PUBLISH in original order; [MQTT-4.3.3-6]: no PUBLISH after PUBREL.
    let mut w = OutboundInflight::new(max(10));
    let a = send(&mut w, QoS::AtLeastOnce).unwrap();
    let b = send(&mut w, QoS::ExactlyOnce).unwrap();
    let c = send(&mut w, QoS::ExactlyOnce).unwrap();
    let d = send(&mut w, QoS::AtLeastOnce).unwrap();
    w.handle_pubrec(&Ack::new(pid(&b)));
    let sent: Vec<_> = w.retransmissions().collect();
    let expect_pub = |p: &Publish| {
        let mut p = p.clone();
        p.dup = true;
        Retransmission::Publish(Box::new(p))
    };
    assert_eq!(
        sent,
        vec![
            expect_pub(&a),
            expect_pub(&c),
            expect_pub(&d),
            Retransmission::PubRel(Ack::new(pid(&b))),
        ]
    );
    let order: Vec<_> = w.iter().map(|(id, _)| id).collect();
    assert_eq!(order, vec![pid(&a), pid(&c), pid(&d), pid(&b)]);
}

#[test]
fn stored_copy_drops_the_topic_alias() {
    let mut w = OutboundInflight::new(max(10));
    let mut p = send(&mut w, QoS::AtLeastOnce).unwrap();
    AliasUse::AliasOnly(TopicAlias::new(1).unwrap()).apply(&mut p);
    let Some(Retransmission::Publish(again)) = w.retransmissions().next() else {
        panic!("nothing to retransmit");
    };
    assert!(again.topic.is_some());
    assert_eq!(again.properties.topic_alias, None);
}

#[test]
fn restore_rebuilds_the_window_without_reusing_ids() {
    let mut w = OutboundInflight::new(max(1));
    let mut p = Publish::new(TopicName::new("t").unwrap(), Bytes::new());
    p.qos_pid = QosPid::AtLeastOnce(PacketId::MIN);
    w.restore_publish(p.clone()).unwrap();
    assert_eq!(
        w.restore_publish(p),
        Err(InflightError::PacketIdInUse(PacketId::MIN))
    );
    let two = PacketId::new(2).unwrap();
    w.restore_released(two).unwrap();
    // Over the new Receive Maximum: everything is retransmitted, nothing new is sent.
    assert_eq!(w.len(), 2);
    assert!(!w.has_quota());
    assert_eq!(w.retransmissions().count(), 2);
    w.set_receive_maximum(max(5));
    let next = send(&mut w, QoS::AtLeastOnce).unwrap();
    assert_eq!(pid(&next).get(), 3);
    assert_eq!(w.handle_pubcomp(&Ack::new(two)), PubCompOutcome::Completed);
}

fn send_stored(window: &mut OutboundInflight, qos: QoS, stored: u64) -> Publish {
    let m = message(qos);
    window
        .insert_stored(
            |id| {
                let qos_pid = match qos {
                    QoS::ExactlyOnce => QosPid::ExactlyOnce(id),
                    _ => QosPid::AtLeastOnce(id),
                };
                m.to_publish(SendOptions::new(qos_pid), m.received_at)
            },
            StoreSeq::new(stored),
        )
        .unwrap()
}

/// A stored message's number comes back once its exchange is over, and only then: at the
/// PUBACK (QoS 1), at the PUBCOMP (QoS 2, not at the PUBREC), or at a failing PUBREC.
#[test]
fn store_numbers_come_back_when_the_exchange_is_over() {
    let mut w = OutboundInflight::new(max(10));
    let a = send_stored(&mut w, QoS::AtLeastOnce, 11);
    let b = send_stored(&mut w, QoS::ExactlyOnce, 12);
    let c = send_stored(&mut w, QoS::ExactlyOnce, 13);
    let plain = send(&mut w, QoS::AtLeastOnce).unwrap();
    let mut stored: Vec<(PacketId, u64)> = w.stored().collect();
    stored.sort_unstable();
    assert_eq!(stored, vec![(pid(&a), 11), (pid(&b), 12), (pid(&c), 13)]);

    let mut done = Vec::new();
    w.handle_pubrec(&ack(pid(&b), ReasonCode::Success));
    w.take_finished_stored(&mut done);
    assert!(done.is_empty(), "released is not finished: {done:?}");
    w.handle_puback(&ack(pid(&a), ReasonCode::Success));
    w.handle_puback(&ack(pid(&plain), ReasonCode::Success));
    w.handle_pubcomp(&ack(pid(&b), ReasonCode::Success));
    w.handle_pubrec(&ack(pid(&c), ReasonCode::UnspecifiedError));
    w.take_finished_stored(&mut done);
    assert_eq!(done, vec![11, 12, 13]);
    done.clear();
    w.take_finished_stored(&mut done);
    assert!(done.is_empty());
}

/// A restored exchange gets its store number back, and only an exchange in flight can.
#[test]
fn a_restored_exchange_takes_its_store_number() {
    let mut w = OutboundInflight::new(max(10));
    let p = send(&mut w, QoS::AtLeastOnce).unwrap();
    assert!(w.set_stored(pid(&p), 5));
    assert!(!w.set_stored(PacketId::new(999).unwrap(), 6));
    w.handle_puback(&ack(pid(&p), ReasonCode::Success));
    let mut done = Vec::new();
    w.take_finished_stored(&mut done);
    assert_eq!(done, vec![5]);
}
