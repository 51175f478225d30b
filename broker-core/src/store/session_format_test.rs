//! The byte form of a stored session: round trips, and refusals of what is not a record.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::{StoreError, StoredInflight, StoredSession, SESSION_FORMAT_VERSION};
use crate::codec::{Publish, PublishProperties, QosPid, RetainHandling, SubscriptionOptions};
use crate::router::SubscriptionEntry;
use crate::session::{Message, WillMessage};
use crate::types::{
    ClientId, MqttString, PacketId, QoS, SubscriptionId, TopicFilter, TopicName, UserProperty,
};

fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap()
}

fn filter(f: &str) -> TopicFilter {
    TopicFilter::new(f).unwrap()
}

fn publish(qos_pid: QosPid, topic: &str, dup: bool) -> Publish {
    let mut publish = Publish::new(
        TopicName::new(topic).unwrap(),
        Bytes::from_static(b"payload"),
    );
    publish.qos_pid = qos_pid;
    publish.dup = dup;
    publish.properties.message_expiry_interval = Some(60);
    publish.properties.user_properties.push(UserProperty {
        key: MqttString::new("k").unwrap(),
        value: MqttString::new("v").unwrap(),
    });
    publish
}

/// A session with a field of every kind set.
fn full_session(now: Instant) -> StoredSession {
    let options = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
    };
    let properties = PublishProperties {
        content_type: Some(MqttString::new("text/plain").unwrap()),
        message_expiry_interval: Some(30),
        ..PublishProperties::default()
    };
    let will = Message::new(
        TopicName::new("clients/c1/status").unwrap(),
        Bytes::from_static(b"gone"),
        QoS::AtLeastOnce,
        true,
        properties,
        now.checked_sub(Duration::from_millis(1_500)).unwrap(),
    );
    StoredSession {
        client_id: ClientId::new("c1").unwrap(),
        session_expiry: 3_600,
        subscriptions: vec![
            (
                filter("$share/g/jobs/+"),
                SubscriptionEntry::new(options, None),
            ),
            (
                filter("a/#"),
                SubscriptionEntry::new(
                    SubscriptionOptions::qos(QoS::AtLeastOnce),
                    Some(SubscriptionId::new(268_435_455).unwrap()),
                ),
            ),
        ],
        outbound: vec![
            StoredInflight::Publish(Box::new(publish(QosPid::AtLeastOnce(pid(3)), "a/b", true))),
            StoredInflight::Released(pid(4)),
            StoredInflight::Publish(Box::new(publish(
                QosPid::ExactlyOnce(pid(5)),
                "jobs/1",
                false,
            ))),
        ],
        shared_outbound: vec![(pid(5), filter("$share/g/jobs/+"))],
        inbound_qos2: vec![pid(1), pid(65_535)],
        stored_outbound: vec![(pid(3), 7), (pid(5), crate::types::StoreSeq::MAX)],
        will: Some(WillMessage {
            message: will,
            delay: 120,
        }),
    }
}

fn encoded(session: &StoredSession, now: Instant) -> Bytes {
    let mut buf = BytesMut::new();
    session.encode(now, &mut buf).unwrap();
    buf.freeze()
}

fn reason(result: Result<StoredSession, StoreError>) -> String {
    match result {
        Err(StoreError::Corrupt { reason, .. }) => reason,
        other => panic!("expected a corrupt record, got {other:?}"),
    }
}

#[test]
fn every_field_survives_the_round_trip() {
    let now = Instant::now();
    let session = full_session(now);
    let back = StoredSession::decode(encoded(&session, now), now).unwrap();
    assert_eq!(back, session);
    // The record is still a valid session state.
    back.to_state().unwrap();
}

#[test]
fn an_empty_session_round_trips() {
    let now = Instant::now();
    let session = StoredSession {
        client_id: ClientId::new("").unwrap(),
        session_expiry: 0,
        subscriptions: Vec::new(),
        outbound: Vec::new(),
        shared_outbound: Vec::new(),
        inbound_qos2: Vec::new(),
        stored_outbound: Vec::new(),
        will: None,
    };
    let bytes = encoded(&session, now);
    assert_eq!(&bytes[..4], b"SKS\x02");
    assert_eq!(StoredSession::decode(bytes, now).unwrap(), session);
}

#[test]
fn the_will_keeps_its_age_across_clocks() {
    let written_at = Instant::now();
    let session = full_session(written_at);
    let bytes = encoded(&session, written_at);
    // Read on another node, ten seconds later on its clock: the will is as old as it was.
    let read_at = written_at + Duration::from_secs(10);
    let back = StoredSession::decode(bytes, read_at).unwrap();
    let will = back.will.unwrap().message;
    assert_eq!(
        read_at.duration_since(will.received_at),
        Duration::from_millis(1_500)
    );
}

#[test]
fn the_version_written_is_the_current_one() {
    let now = Instant::now();
    let bytes = encoded(&full_session(now), now);
    assert_eq!(bytes[3], SESSION_FORMAT_VERSION);
}

#[test]
fn a_later_version_is_refused_not_guessed() {
    let now = Instant::now();
    let mut bytes = BytesMut::from(encoded(&full_session(now), now).as_ref());
    bytes[3] = SESSION_FORMAT_VERSION + 1;
    let reason = reason(StoredSession::decode(bytes.freeze(), now));
    assert!(reason.contains("version 2"), "{reason}");
}

#[test]
fn a_foreign_record_is_refused() {
    let reason = reason(StoredSession::decode(
        Bytes::from_static(b"{\"json\": 1}"),
        Instant::now(),
    ));
    assert_eq!(reason, "not a session record");
}

#[test]
fn every_truncation_is_refused_and_names_the_client_once_known() {
    let now = Instant::now();
    let bytes = encoded(&full_session(now), now);
    for len in 0..bytes.len() {
        match StoredSession::decode(bytes.slice(..len), now) {
            Err(StoreError::Corrupt { client_id, .. }) => {
                // Magic, version, length and "c1": the identifier is known from byte 8 on.
                let expected = if len >= 8 { "c1" } else { "" };
                assert_eq!(client_id, expected, "prefix of {len} bytes");
            }
            other => panic!("prefix of {len} bytes decoded: {other:?}"),
        }
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let now = Instant::now();
    let mut bytes = BytesMut::from(encoded(&full_session(now), now).as_ref());
    bytes.extend_from_slice(&[0]);
    let reason = reason(StoredSession::decode(bytes.freeze(), now));
    assert!(reason.contains("trailing"), "{reason}");
}

#[test]
fn an_invalid_field_is_refused() {
    let now = Instant::now();
    let session = StoredSession {
        subscriptions: vec![(filter("a/+"), SubscriptionEntry::default())],
        ..full_session(now)
    };
    let mut bytes = BytesMut::from(encoded(&session, now).as_ref());
    // The first subscription's filter, "a/+" after magic, version, client id and expiry:
    // make it "a+/" (a wildcard that is not a whole level).
    let at = 4 + 2 + 2 + 4 + 4 + 2;
    assert_eq!(&bytes[at..at + 3], b"a/+");
    bytes[at..at + 3].copy_from_slice(b"a+/");
    StoredSession::decode(bytes.freeze(), now).unwrap_err();
}

proptest! {
    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut record = b"SKS\x01".to_vec();
        record.extend_from_slice(&bytes);
        let _ = StoredSession::decode(Bytes::from(record), Instant::now());
        let _ = StoredSession::decode(Bytes::from(bytes), Instant::now());
    }

    #[test]
    fn any_flipped_byte_is_refused_or_decodes_to_a_record_that_encodes_again(
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let now = Instant::now();
        let mut bytes = BytesMut::from(encoded(&full_session(now), now).as_ref());
        let at = at.index(bytes.len());
        bytes[at] = value;
        if let Ok(session) = StoredSession::decode(bytes.freeze(), now) {
            let again = encoded(&session, now);
            prop_assert_eq!(StoredSession::decode(again, now).unwrap(), session);
        }
    }
}

/// A version 1 record (before the `stored` section) still reads, with no stored exchanges.
#[test]
fn a_version_1_record_reads_with_no_stored_exchanges() {
    let now = Instant::now();
    let mut session = full_session(now);
    session.stored_outbound.clear();
    let bytes = encoded(&session, now);
    // Version 1 is version 2 without the stored section's count (0, four bytes), before the
    // will: rebuild it from the version 2 bytes.
    let mut v1 = bytes.to_vec();
    v1[3] = 1;
    let will_at = v1.len() - will_len(&session, now);
    v1.drain(will_at - 4..will_at);
    let back = StoredSession::decode(Bytes::from(v1), now).unwrap();
    assert_eq!(back.stored_outbound, Vec::new());
    assert_eq!(back.subscriptions, session.subscriptions);
    assert_eq!(back.inbound_qos2, session.inbound_qos2);
}

/// The length of the will's part at the end of `session`'s record.
fn will_len(session: &StoredSession, now: Instant) -> usize {
    let mut without = session.clone();
    without.will = None;
    encoded(session, now).len() - encoded(&without, now).len() + 1
}
