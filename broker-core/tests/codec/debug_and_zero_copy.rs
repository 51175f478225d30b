//! `Debug` never shows payloads, passwords or authentication data; decoded payloads and
//! strings share the receive buffer instead of being copied.

use broker_core::codec::{Auth, Connect, Decoder, Packet, Publish, QosPid, Will};
use broker_core::types::{ClientId, MqttString, PacketId, ProtocolVersion, QoS, TopicName};
use bytes::{Bytes, BytesMut};

const SECRET: &str = "hunter2-very-secret";

fn connect_with_secrets() -> Connect {
    let mut c = Connect::new(ProtocolVersion::V5, ClientId::new("dev-1").unwrap());
    c.username = Some(MqttString::new("alice").unwrap());
    c.password = Some(Bytes::from_static(SECRET.as_bytes()));
    c.properties.authentication_method = Some(MqttString::new("SCRAM-SHA-256").unwrap());
    c.properties.authentication_data = Some(Bytes::from_static(SECRET.as_bytes()));
    c.will = Some(Will {
        topic: TopicName::new("dev/1/status").unwrap(),
        payload: Bytes::from_static(SECRET.as_bytes()),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: Default::default(),
    });
    c
}

#[test]
fn debug_redacts_password_auth_data_and_will_payload() {
    let text = format!("{:?}", Packet::Connect(Box::new(connect_with_secrets())));
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("alice"), "user names are not secret: {text}");
    assert!(text.contains("<redacted>"), "{text}");
    assert!(
        text.contains(&format!("<{} bytes>", SECRET.len())),
        "{text}"
    );
}

#[test]
fn debug_redacts_publish_payload_and_auth_data() {
    let mut p = Publish::new(
        TopicName::new("t").unwrap(),
        Bytes::from_static(SECRET.as_bytes()),
    );
    p.properties.correlation_data = Some(Bytes::from_static(SECRET.as_bytes()));
    let text = format!("{p:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("<19 bytes>"), "{text}");

    let mut auth = Auth {
        code: broker_core::types::ReasonCode::ContinueAuthentication,
        properties: Default::default(),
    };
    auth.properties.authentication_data = Some(Bytes::from_static(SECRET.as_bytes()));
    assert!(!format!("{auth:?}").contains(SECRET));
}

#[test]
fn decoded_payload_and_topic_share_the_receive_buffer() {
    let mut p = Publish::new(
        TopicName::new("zero/copy").unwrap(),
        Bytes::from(vec![0xAB; 4096]),
    );
    p.qos_pid = QosPid::AtLeastOnce(PacketId::new(9).unwrap());
    let mut buf = BytesMut::new();
    Packet::Publish(p.clone())
        .encode(ProtocolVersion::V3_1_1, &mut buf)
        .unwrap();
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();

    let mut decoder = Decoder::with_version(ProtocolVersion::V3_1_1);
    let Some(Packet::Publish(decoded)) = decoder.decode(&mut buf).unwrap() else {
        panic!("expected a PUBLISH");
    };
    assert_eq!(decoded, p);
    assert!(range.contains(&(decoded.payload.as_ptr() as usize)));
    let topic = decoded.topic.as_ref().unwrap();
    assert!(range.contains(&(topic.as_ptr() as usize)));
}
