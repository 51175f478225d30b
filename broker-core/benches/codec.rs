//! Criterion benchmarks of the Skein codec against `mqttbytes` 0.6 (rumqtt's codec).
//!
//! Each group runs both implementations side by side on the same bytes and the same work:
//!
//! - `decode/*`: one packet from a `BytesMut` holding exactly that packet, prepared outside
//!   the timed loop (a clone of one buffer per iteration, `BatchSize::SmallInput`); the
//!   decoded packet and the emptied buffer are dropped outside the timed loop by criterion.
//! - `encode/*`: one packet into a `BytesMut` reused across iterations and cleared each time.
//! - `control_chars/*`: Skein alone, the scan for control characters that the session runs
//!   on every PUBLISH topic (and every filter, client id, user name) unless
//!   `allow_control_characters` is set: the cost the refusal adds per PUBLISH.
//!
//! Before any timing, `setup` checks that both codecs agree: each decoder decodes the bench
//! bytes to its own model of the packet, and each decoder decodes the other's encoding, so
//! that both sides decode and encode the same content.

// Bench code, never reachable from the network: a failed setup check should abort the run
// loudly, and criterion's macros generate undocumented items.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::num::{NonZeroU16, NonZeroU32};

use broker_core::codec::{
    Connect, ConnectProperties, Decoder, Packet, Publish, PublishProperties, QosPid,
    RetainHandling, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions, Will,
    WillProperties,
};
use broker_core::types::{
    ClientId, MqttString, PacketId, ProtocolVersion, QoS, TopicFilter, TopicName, UserProperty,
};
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mqttbytes::{v4, v5};

/// The maximum packet size both decoders are given: large enough never to matter.
const MAX_SIZE: usize = 1 << 20;

const TOPIC: &str = "sensors/building-7/floor-3/temperature";
const PACKET_ID: u16 = 4242;
const FILTERS: usize = 100;

// ---------------------------------------------------------------------------------------
// The packets, built once for each codec.
// ---------------------------------------------------------------------------------------

fn payload() -> Bytes {
    Bytes::from((0..64u8).collect::<Vec<u8>>())
}

fn skein_publish() -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos_pid: QosPid::AtLeastOnce(PacketId::new(PACKET_ID).unwrap()),
        retain: false,
        topic: Some(TopicName::new(TOPIC).unwrap()),
        payload: payload(),
        properties: PublishProperties::default(),
    })
}

fn mqttbytes_publish_v4() -> v4::Publish {
    let mut p = v4::Publish::from_bytes(TOPIC, mqttbytes::QoS::AtLeastOnce, payload());
    p.pkid = PACKET_ID;
    p
}

fn mqttbytes_publish_v5() -> v5::Publish {
    let mut p = v5::Publish::from_bytes(TOPIC, mqttbytes::QoS::AtLeastOnce, payload());
    p.pkid = PACKET_ID;
    p
}

const CLIENT_ID: &str = "sensor-gateway-0042";
const WILL_TOPIC: &str = "clients/sensor-gateway-0042/status";
const WILL_PAYLOAD: &[u8] = b"offline";
const USERNAME: &str = "gateway";
const PASSWORD: &str = "correct horse battery staple";
const AUTH_METHOD: &str = "SCRAM-SHA-256";

fn s(value: &str) -> MqttString {
    MqttString::new(value.to_owned()).unwrap()
}

/// A CONNECT with a will, a user name and a password; with `properties` (and will
/// properties) for MQTT 5.
fn skein_connect(protocol: ProtocolVersion) -> Packet {
    let v5 = protocol.is_v5();
    let properties = if v5 {
        ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: NonZeroU16::new(100),
            maximum_packet_size: NonZeroU32::new(1 << 20),
            topic_alias_maximum: Some(16),
            authentication_method: Some(s(AUTH_METHOD)),
            user_properties: vec![UserProperty::new(s("region"), s("eu-west-1"))],
            ..ConnectProperties::default()
        }
    } else {
        ConnectProperties::default()
    };
    let will_properties = if v5 {
        WillProperties {
            will_delay_interval: Some(30),
            ..WillProperties::default()
        }
    } else {
        WillProperties::default()
    };
    Packet::Connect(Box::new(Connect {
        protocol,
        clean_start: true,
        keep_alive: 30,
        client_id: ClientId::new(CLIENT_ID).unwrap(),
        will: Some(Will {
            topic: TopicName::new(WILL_TOPIC).unwrap(),
            payload: Bytes::from_static(WILL_PAYLOAD),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: will_properties,
        }),
        username: Some(s(USERNAME)),
        password: Some(Bytes::from_static(PASSWORD.as_bytes())),
        properties,
        bridge: false,
    }))
}

fn mqttbytes_connect_v4() -> v4::Connect {
    let mut c = v4::Connect::new(CLIENT_ID);
    c.keep_alive = 30;
    c.last_will = Some(v4::LastWill::new(
        WILL_TOPIC,
        WILL_PAYLOAD,
        mqttbytes::QoS::AtLeastOnce,
        true,
    ));
    c.set_login(USERNAME, PASSWORD);
    c
}

fn mqttbytes_connect_v5() -> v5::Connect {
    let mut c = v5::Connect::new(CLIENT_ID);
    c.keep_alive = 30;
    c.properties = Some(v5::ConnectProperties {
        session_expiry_interval: Some(3600),
        receive_maximum: Some(100),
        max_packet_size: Some(1 << 20),
        topic_alias_max: Some(16),
        request_response_info: None,
        request_problem_info: None,
        user_properties: vec![("region".to_owned(), "eu-west-1".to_owned())],
        authentication_method: Some(AUTH_METHOD.to_owned()),
        authentication_data: None,
    });
    let mut will = v5::LastWill::new(WILL_TOPIC, WILL_PAYLOAD, mqttbytes::QoS::AtLeastOnce, true);
    will.properties = Some(v5::WillProperties {
        delay_interval: Some(30),
        payload_format_indicator: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        user_properties: Vec::new(),
    });
    c.last_will = Some(will);
    c.set_login(USERNAME, PASSWORD);
    c
}

/// Filter `i` of the SUBSCRIBE: a mix of `+`, `#`, both, and no wildcard.
fn filter(i: usize) -> String {
    match i % 5 {
        0 => format!("sensors/building-{i}/+/temperature"),
        1 => format!("devices/{i}/#"),
        2 => format!("home/+/room-{i}/+/state"),
        3 => format!("fleet/truck-{i}/gps/position"),
        _ => format!("+/alerts/{i}/#"),
    }
}

/// The options of filter `i`: every QoS, and for MQTT 5 every option.
fn options(i: usize) -> SubscriptionOptions {
    SubscriptionOptions {
        qos: QoS::try_from(u8::try_from(i % 3).unwrap()).unwrap(),
        no_local: i.is_multiple_of(2),
        retain_as_published: i % 4 == 1,
        retain_handling: match i % 3 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendAtSubscribeIfNew,
            _ => RetainHandling::DoNotSend,
        },
    }
}

fn skein_subscribe(version: ProtocolVersion) -> Packet {
    let subscriptions = (0..FILTERS)
        .map(|i| Subscription {
            filter: TopicFilter::new(filter(i)).unwrap(),
            options: if version.is_v5() {
                options(i)
            } else {
                SubscriptionOptions::qos(options(i).qos)
            },
        })
        .collect();
    Packet::Subscribe(Subscribe {
        packet_id: PacketId::new(PACKET_ID).unwrap(),
        subscriptions,
        properties: SubscribeProperties::default(),
    })
}

fn mqttbytes_qos(qos: QoS) -> mqttbytes::QoS {
    match qos {
        QoS::AtMostOnce => mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => mqttbytes::QoS::ExactlyOnce,
    }
}

fn mqttbytes_subscribe_v4() -> v4::Subscribe {
    let mut sub = v4::Subscribe::new_many(
        (0..FILTERS).map(|i| v4::SubscribeFilter::new(filter(i), mqttbytes_qos(options(i).qos))),
    );
    sub.pkid = PACKET_ID;
    sub
}

fn mqttbytes_subscribe_v5() -> v5::Subscribe {
    let mut sub = v5::Subscribe::new_many((0..FILTERS).map(|i| {
        let o = options(i);
        let mut f = v5::SubscribeFilter::new(filter(i), mqttbytes_qos(o.qos));
        f.set_nolocal(o.no_local)
            .set_preserve_retain(o.retain_as_published)
            .set_retain_forward_rule(match o.retain_handling {
                RetainHandling::SendAtSubscribe => v5::RetainForwardRule::OnEverySubscribe,
                RetainHandling::SendAtSubscribeIfNew => v5::RetainForwardRule::OnNewSubscribe,
                RetainHandling::DoNotSend => v5::RetainForwardRule::Never,
            });
        f
    }));
    sub.pkid = PACKET_ID;
    sub
}

// ---------------------------------------------------------------------------------------
// One benchmark case: a packet as each codec models it, and the checks that they agree.
// ---------------------------------------------------------------------------------------

/// The mqttbytes side of a case: its packet model and its version of the codec.
trait MqttBytesCodec: Clone + PartialEq + std::fmt::Debug {
    type Packet: PartialEq + std::fmt::Debug;
    fn write(&self, buf: &mut BytesMut);
    fn read(buf: &mut BytesMut) -> Result<Self::Packet, mqttbytes::Error>;
    fn wrap(self) -> Self::Packet;
}

macro_rules! mqttbytes_codec {
    ($($ty:ty => $module:ident :: $variant:ident;)*) => {$(
        impl MqttBytesCodec for $ty {
            type Packet = $module::Packet;
            fn write(&self, buf: &mut BytesMut) {
                <$ty>::write(self, buf).unwrap();
            }
            fn read(buf: &mut BytesMut) -> Result<$module::Packet, mqttbytes::Error> {
                $module::read(buf, MAX_SIZE)
            }
            fn wrap(self) -> $module::Packet {
                $module::Packet::$variant(self)
            }
        }
    )*};
}

mqttbytes_codec! {
    v4::Publish => v4::Publish;
    v5::Publish => v5::Publish;
    v4::Connect => v4::Connect;
    v5::Connect => v5::Connect;
    v4::Subscribe => v4::Subscribe;
    v5::Subscribe => v5::Subscribe;
}

struct Case<M> {
    name: &'static str,
    version: ProtocolVersion,
    skein: Packet,
    mqttbytes: M,
    /// The bytes both decoders decode: Skein's encoding, which mqttbytes decodes to `mqttbytes`.
    bytes: BytesMut,
}

/// A decoder for the case's version: CONNECT is decoded by a fresh decoder, as a server
/// decodes a client's first packet; other packets by one that knows the version.
fn skein_decoder(packet: &Packet, version: ProtocolVersion) -> Decoder {
    if matches!(packet, Packet::Connect(_)) {
        Decoder::new()
    } else {
        Decoder::with_version(version)
    }
}

fn skein_encode(packet: &Packet, version: ProtocolVersion) -> BytesMut {
    let mut buf = BytesMut::new();
    let n = packet.encode(version, &mut buf).unwrap();
    assert_eq!(n, buf.len());
    assert_eq!(packet.encoded_len(version).unwrap(), n);
    buf
}

/// Checks that both codecs model the same packet; `same_bytes`: whether both encoders write
/// it byte for byte alike (MQTT 5 CONNECT: they order properties differently).
fn setup<M: MqttBytesCodec>(
    name: &'static str,
    version: ProtocolVersion,
    skein: Packet,
    mqttbytes: M,
    same_bytes: bool,
) -> Case<M> {
    let skein_bytes = skein_encode(&skein, version);
    let mut mqttbytes_bytes = BytesMut::new();
    mqttbytes.write(&mut mqttbytes_bytes);
    assert_eq!(skein_bytes.len(), mqttbytes_bytes.len(), "{name}: lengths");
    if same_bytes {
        assert_eq!(skein_bytes, mqttbytes_bytes, "{name}: encodings");
    }
    // Each decoder decodes both encodings to its own model of the packet.
    for bytes in [&skein_bytes, &mqttbytes_bytes] {
        let mut buf = bytes.clone();
        let decoded = skein_decoder(&skein, version).decode(&mut buf).unwrap();
        assert_eq!(decoded.as_ref(), Some(&skein), "{name}: skein decode");
        assert!(buf.is_empty());
        let mut buf = bytes.clone();
        assert_eq!(
            M::read(&mut buf).unwrap(),
            mqttbytes.clone().wrap(),
            "{name}: mqttbytes decode"
        );
        assert!(buf.is_empty());
    }
    Case {
        name,
        version,
        skein,
        mqttbytes,
        bytes: skein_bytes,
    }
}

fn bench_case<M: MqttBytesCodec>(c: &mut Criterion, case: &Case<M>) {
    let throughput = Throughput::Bytes(case.bytes.len() as u64);

    let mut group = c.benchmark_group(format!("decode/{}", case.name));
    group.throughput(throughput.clone());
    group.bench_function("skein", |b| {
        let mut decoder = skein_decoder(&case.skein, case.version);
        b.iter_batched_ref(
            || case.bytes.clone(),
            |buf| decoder.decode(buf),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("mqttbytes", |b| {
        b.iter_batched_ref(
            || case.bytes.clone(),
            |buf| M::read(buf),
            BatchSize::SmallInput,
        );
    });
    group.finish();

    let mut group = c.benchmark_group(format!("encode/{}", case.name));
    group.throughput(throughput);
    group.bench_function("skein", |b| {
        let mut buf = BytesMut::with_capacity(case.bytes.len());
        b.iter(|| {
            buf.clear();
            black_box(&case.skein)
                .encode(case.version, &mut buf)
                .unwrap();
            black_box(&buf);
        });
    });
    group.bench_function("mqttbytes", |b| {
        let mut buf = BytesMut::with_capacity(case.bytes.len());
        b.iter(|| {
            buf.clear();
            black_box(&case.mqttbytes).write(&mut buf);
            black_box(&buf);
        });
    });
    group.finish();
}

fn publish(c: &mut Criterion) {
    use ProtocolVersion::{V3_1_1, V5};
    let case = setup(
        "publish_64b_v4",
        V3_1_1,
        skein_publish(),
        mqttbytes_publish_v4(),
        true,
    );
    bench_case(c, &case);
    let case = setup(
        "publish_64b_v5",
        V5,
        skein_publish(),
        mqttbytes_publish_v5(),
        true,
    );
    bench_case(c, &case);
}

fn connect(c: &mut Criterion) {
    use ProtocolVersion::{V3_1_1, V5};
    let case = setup(
        "connect_v4",
        V3_1_1,
        skein_connect(V3_1_1),
        mqttbytes_connect_v4(),
        true,
    );
    bench_case(c, &case);
    let case = setup(
        "connect_v5_props",
        V5,
        skein_connect(V5),
        mqttbytes_connect_v5(),
        false,
    );
    bench_case(c, &case);
}

fn subscribe(c: &mut Criterion) {
    use ProtocolVersion::{V3_1_1, V5};
    let case = setup(
        "subscribe_100_v4",
        V3_1_1,
        skein_subscribe(V3_1_1),
        mqttbytes_subscribe_v4(),
        true,
    );
    bench_case(c, &case);
    let case = setup(
        "subscribe_100_v5",
        V5,
        skein_subscribe(V5),
        mqttbytes_subscribe_v5(),
        true,
    );
    bench_case(c, &case);
}

fn control_chars(c: &mut Criterion) {
    let mut group = c.benchmark_group("control_chars");
    let long = format!("{TOPIC}/{}", "é/x".repeat(40));
    for (name, text) in [("topic_38b", TOPIC.to_owned()), ("topic_200b_latin", long)] {
        let topic = TopicName::new(text.as_str()).unwrap();
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| black_box(&topic).has_control_characters());
        });
    }
    group.finish();
}

criterion_group!(benches, publish, connect, subscribe, control_chars);
criterion_main!(benches);
