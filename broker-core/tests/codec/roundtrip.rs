//! Property tests of the codec, for MQTT 3.1, 3.1.1 and 5.0:
//!
//! 1. every packet the encoder can produce for a version decodes to itself, from exactly the
//!    bytes `encoded_len` announced;
//! 2. a stream of packets decodes to the same packets however it is split into chunks;
//! 3. arbitrary bytes never make the decoder panic, and whatever it accepts re-encodes and
//!    decodes to the same packet; its errors map to answers that are valid packets;
//! 4. the same holds for valid packets with one byte changed.
//!
//! The strategies (`strategies/`) generate only packets that are valid per the
//! specification of the version, so a failure is a codec bug.

use std::collections::BTreeSet;

use broker_core::codec::{
    ConnAck, DecodeError, Decoder, Disconnect, ErrorAnswer, Packet, PacketType, QosPid,
};
use broker_core::types::{ProtocolVersion, ReasonCode};
use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestRunner;

use crate::strategies::packets::{connect, packet};
use crate::strategies::VERSIONS;

const V3_1: ProtocolVersion = ProtocolVersion::V3_1;
const V3_1_1: ProtocolVersion = ProtocolVersion::V3_1_1;
const V5: ProtocolVersion = ProtocolVersion::V5;

/// Bytes placed after an encoded packet to check that the decoder takes exactly its bytes
/// and no more (a PINGREQ and the first byte of another packet).
const SENTINEL: &[u8] = &[0xC0, 0x00, 0x30];

fn encode(packet: &Packet, version: ProtocolVersion) -> BytesMut {
    let mut buf = BytesMut::new();
    let written = packet.encode(version, &mut buf).unwrap();
    assert_eq!(written, buf.len(), "encode's count for {packet:?}");
    buf
}

/// The decoder a peer would use: a server's fresh decoder for a CONNECT, otherwise one that
/// knows the version.
fn decoder_for(packet: &Packet, version: ProtocolVersion) -> Decoder {
    match packet {
        Packet::Connect(_) => Decoder::new(),
        _ => Decoder::with_version(version),
    }
}

/// Property 1 for one packet.
fn round_trip(packet: &Packet, version: ProtocolVersion) -> Result<(), TestCaseError> {
    let mut buf = encode(packet, version);
    prop_assert_eq!(packet.encoded_len(version), Ok(buf.len()));
    buf.extend_from_slice(SENTINEL);
    let mut decoder = decoder_for(packet, version);
    prop_assert_eq!(decoder.decode(&mut buf), Ok(Some(packet.clone())));
    prop_assert_eq!(
        &buf[..],
        SENTINEL,
        "the decoder took a wrong number of bytes"
    );
    prop_assert_eq!(decoder.version(), Some(version));
    Ok(())
}

/// Re-encodes a packet that the decoder accepted from `consumed` bytes, for the version it
/// was decoded with, and checks that the bytes decode to the same packet. The encoder writes
/// the shortest form, so it never needs more bytes than the decoder took.
fn reencodes(
    packet: &Packet,
    version: ProtocolVersion,
    consumed: usize,
) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::new();
    let written = packet.encode(version, &mut buf);
    prop_assert_eq!(
        written,
        Ok(buf.len()),
        "an accepted packet must encode: {:?}",
        packet
    );
    prop_assert_eq!(packet.encoded_len(version), Ok(buf.len()));
    prop_assert!(
        buf.len() <= consumed,
        "re-encoding {:?} took {} bytes, the original {}",
        packet,
        buf.len(),
        consumed
    );
    let mut decoder = Decoder::with_version(version);
    prop_assert_eq!(decoder.decode(&mut buf), Ok(Some(packet.clone())));
    prop_assert!(buf.is_empty());
    Ok(())
}

/// A decode error must be displayable, name a statement, and map to answers that are valid
/// packets: a CONNACK code allowed in CONNACK (or a 3.x return code), a DISCONNECT code
/// allowed in DISCONNECT, each only in the phase where it can be sent.
fn error_is_consistent(
    error: &DecodeError,
    version: Option<ProtocolVersion>,
) -> Result<(), TestCaseError> {
    prop_assert!(!error.to_string().is_empty());
    if let DecodeError::Violation(v) = error {
        prop_assert!(v.statement().starts_with("MQTT-"), "{:?}", v);
        if let Some(s) = v.statement_v311() {
            prop_assert!(s.starts_with("MQTT-"), "{:?}", v);
        }
        let _ = v.kind();
    }
    prop_assert!(error.reason_code().is_error());
    for connack_sent in [false, true] {
        match error.answer(version, connack_sent) {
            ErrorAnswer::ConnAck {
                version: answer_version,
                code,
            } => {
                prop_assert!(!connack_sent, "{:?}: a second CONNACK", error);
                let connack = Packet::ConnAck(Box::new(ConnAck::new(false, code)));
                if answer_version.is_v5() {
                    prop_assert!(code.allowed_in(PacketType::ConnAck), "{:?}", error);
                    round_trip(&connack, answer_version)?;
                } else {
                    // The 3.x return code must stand for the code itself.
                    prop_assert_eq!(
                        ReasonCode::from_v3_connack(code.to_v3_connack()),
                        Ok(code),
                        "{:?}",
                        error
                    );
                    round_trip(&connack, answer_version)?;
                }
            }
            ErrorAnswer::Disconnect(code) => {
                prop_assert!(connack_sent, "{:?}: DISCONNECT before CONNACK", error);
                prop_assert_eq!(version, Some(V5));
                prop_assert!(
                    code.allowed_in(PacketType::Disconnect),
                    "{:?} answered with DISCONNECT {:?}, which DISCONNECT does not allow",
                    error,
                    code
                );
                round_trip(&Packet::Disconnect(Disconnect::new(code)), V5)?;
            }
            ErrorAnswer::Close => {}
        }
    }
    Ok(())
}

/// Decodes everything in `bytes` with `decoder` until it needs more bytes or fails, checking
/// every step: `Ok(None)` leaves the buffer untouched, `Ok(Some)` takes bytes from the front
/// and yields a packet that re-encodes, `Err` is consistent. Returns the packets decoded.
fn drain(mut decoder: Decoder, bytes: &[u8]) -> Result<Vec<Packet>, TestCaseError> {
    let mut buf = BytesMut::from(bytes);
    let mut packets = Vec::new();
    loop {
        let before = buf.clone();
        let known = decoder.version();
        match decoder.decode(&mut buf) {
            Ok(None) => {
                prop_assert_eq!(&buf[..], &before[..], "Ok(None) consumed bytes");
                prop_assert_eq!(decoder.version(), known);
                return Ok(packets);
            }
            Ok(Some(packet)) => {
                let consumed = before.len() - buf.len();
                prop_assert!(consumed >= 2, "a packet is at least 2 bytes");
                prop_assert_eq!(&before[consumed..], &buf[..], "bytes taken from the front");
                let version = match (&packet, known) {
                    (Packet::Connect(c), None) => {
                        prop_assert_eq!(decoder.version(), Some(c.protocol));
                        c.protocol
                    }
                    // A later CONNECT is decoded for its own version; the connection's stays.
                    (Packet::Connect(c), Some(_)) => c.protocol,
                    (_, None) => {
                        return Err(TestCaseError::fail(format!(
                            "{packet:?} decoded before the version was known"
                        )))
                    }
                    (_, Some(v)) => v,
                };
                if known.is_some() {
                    prop_assert_eq!(decoder.version(), known, "the version changed");
                }
                reencodes(&packet, version, consumed)?;
                packets.push(packet);
            }
            Err(error) => {
                error_is_consistent(&error, decoder.version())?;
                return Ok(packets);
            }
        }
    }
}

/// Feeds `bytes` to one decoder in chunks of the given sizes (cycled), decoding after each
/// chunk until it needs more bytes. Fails on any error or on `Ok(None)` that consumed bytes.
fn decode_in_chunks(
    mut decoder: Decoder,
    bytes: &[u8],
    chunks: &[usize],
) -> Result<Vec<Packet>, TestCaseError> {
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let mut fed = 0;
    for &size in chunks.iter().cycle() {
        if fed == bytes.len() {
            break;
        }
        let end = (fed + size).min(bytes.len());
        buf.extend_from_slice(&bytes[fed..end]);
        fed = end;
        loop {
            let before = buf.clone();
            match decoder.decode(&mut buf) {
                Ok(Some(packet)) => packets.push(packet),
                Ok(None) => {
                    prop_assert_eq!(&buf[..], &before[..], "Ok(None) consumed bytes");
                    break;
                }
                Err(e) => {
                    return Err(TestCaseError::fail(format!(
                        "error after {fed} of {} bytes: {e}",
                        bytes.len()
                    )))
                }
            }
        }
    }
    prop_assert!(buf.is_empty(), "{} bytes left undecoded", buf.len());
    Ok(packets)
}

/// A stream for `version`: 1 to 8 packets, preceded by a CONNECT when `fresh` (then decoded
/// by a decoder that learns the version from it), and the chunk sizes to split it into.
fn stream(version: ProtocolVersion) -> impl Strategy<Value = (bool, Vec<Packet>, Vec<usize>)> {
    (
        any::<bool>(),
        connect(version),
        vec(packet(version), 1..=8),
        vec(1usize..=64, 1..=16),
    )
        .prop_map(|(fresh, connect, mut packets, chunks)| {
            if fresh {
                packets.insert(0, Packet::Connect(Box::new(connect)));
            }
            (fresh, packets, chunks)
        })
}

/// Property 2 for one stream.
fn chunked(
    version: ProtocolVersion,
    fresh: bool,
    packets: &[Packet],
    chunks: &[usize],
) -> Result<(), TestCaseError> {
    let mut bytes = BytesMut::new();
    for p in packets {
        p.encode(version, &mut bytes).unwrap();
    }
    let decoder = if fresh {
        Decoder::new()
    } else {
        Decoder::with_version(version)
    };
    let decoded = decode_in_chunks(decoder, &bytes, chunks)?;
    prop_assert_eq!(decoded, packets.to_vec());
    Ok(())
}

/// Property 4 for one packet: change the byte at `index` by `xor` and decode.
fn mutated(
    packet: &Packet,
    version: ProtocolVersion,
    index: Index,
    xor: u8,
) -> Result<(), TestCaseError> {
    let mut bytes = encode(packet, version);
    let i = index.index(bytes.len());
    bytes[i] ^= xor;
    drain(Decoder::with_version(version), &bytes)?;
    if let Packet::Connect(_) = packet {
        drain(Decoder::new(), &bytes)?;
    }
    Ok(())
}

proptest! {
    // 256 cases (proptest's default; PROPTEST_CASES=n for a deeper run). Failures are not
    // persisted to a file: the cases found so far are the deterministic tests at the end.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn v3_1_packets_round_trip(p in packet(V3_1)) {
        round_trip(&p, V3_1)?;
    }

    #[test]
    fn v3_1_1_packets_round_trip(p in packet(V3_1_1)) {
        round_trip(&p, V3_1_1)?;
    }

    #[test]
    fn v5_packets_round_trip(p in packet(V5)) {
        round_trip(&p, V5)?;
    }

    #[test]
    fn v3_1_streams_decode_in_any_chunks((fresh, packets, chunks) in stream(V3_1)) {
        chunked(V3_1, fresh, &packets, &chunks)?;
    }

    #[test]
    fn v3_1_1_streams_decode_in_any_chunks((fresh, packets, chunks) in stream(V3_1_1)) {
        chunked(V3_1_1, fresh, &packets, &chunks)?;
    }

    #[test]
    fn v5_streams_decode_in_any_chunks((fresh, packets, chunks) in stream(V5)) {
        chunked(V5, fresh, &packets, &chunks)?;
    }

    #[test]
    fn garbage_never_panics(bytes in vec(any::<u8>(), 0..512)) {
        drain(Decoder::new(), &bytes)?;
        for version in VERSIONS {
            drain(Decoder::with_version(version), &bytes)?;
        }
    }

    /// Garbage after a valid CONNECT reaches the packets a fresh decoder refuses before it.
    #[test]
    fn garbage_after_connect_never_panics(
        c in prop_oneof![connect(V3_1), connect(V3_1_1), connect(V5)],
        garbage in vec(any::<u8>(), 0..512),
    ) {
        let connect = Packet::Connect(Box::new(c));
        let mut bytes = encode(&connect, V5);
        bytes.extend_from_slice(&garbage);
        let packets = drain(Decoder::new(), &bytes)?;
        prop_assert_eq!(packets.first(), Some(&connect));
    }

    #[test]
    fn v3_1_mutated_packets_never_panic(p in packet(V3_1), i in any::<Index>(), x in 1..=255u8) {
        mutated(&p, V3_1, i, x)?;
    }

    #[test]
    fn v3_1_1_mutated_packets_never_panic(p in packet(V3_1_1), i in any::<Index>(), x in 1..=255u8) {
        mutated(&p, V3_1_1, i, x)?;
    }

    #[test]
    fn v5_mutated_packets_never_panic(p in packet(V5), i in any::<Index>(), x in 1..=255u8) {
        mutated(&p, V5, i, x)?;
    }
}

/// The generators are only as good as what they reach: sample each version's packets and
/// check that every packet type and the corner cases the properties are meant to cover
/// actually occur.
#[test]
fn generators_reach_every_packet_type_and_corner() {
    for version in VERSIONS {
        let mut runner = TestRunner::deterministic();
        let strategy = packet(version);
        let mut types = BTreeSet::new();
        let mut corners = BTreeSet::new();
        for _ in 0..3000 {
            let p = strategy.new_tree(&mut runner).unwrap().current();
            types.insert(p.packet_type() as u8);
            for corner in corners_of(&p) {
                corners.insert(corner);
            }
        }
        let expected_types = if version.is_v5() { 15 } else { 14 };
        assert_eq!(types.len(), expected_types, "{version}: {types:?}");
        let mut expected = vec![
            "will",
            "username",
            "password",
            "session present",
            "qos0",
            "qos1",
            "qos2",
            "dup",
            "retain",
            "dollar topic",
            "multi-byte topic",
            "empty payload",
            "payload over 1 KiB",
            "+ filter",
            "# filter",
            "shared filter",
            "20 filters",
        ];
        if version.is_v5() {
            expected.extend([
                "alias only",
                "repeated user property",
                "several subscription ids",
                "no local",
                "password without username",
                "will properties",
                "auth data",
                "error code",
            ]);
        }
        for corner in expected {
            assert!(
                corners.contains(corner),
                "{version}: never generated {corner}"
            );
        }
    }
}

fn corners_of(p: &Packet) -> Vec<&'static str> {
    let mut corners = Vec::new();
    match p {
        Packet::Connect(c) => {
            if let Some(will) = &c.will {
                corners.push("will");
                if !will.properties.is_empty() {
                    corners.push("will properties");
                }
            }
            if c.username.is_some() {
                corners.push("username");
            }
            if c.password.is_some() {
                corners.push("password");
                if c.username.is_none() {
                    corners.push("password without username");
                }
            }
            if c.properties.authentication_data.is_some() {
                corners.push("auth data");
            }
        }
        Packet::ConnAck(c) => {
            if c.session_present {
                corners.push("session present");
            }
            if c.code.is_error() {
                corners.push("error code");
            }
        }
        Packet::Publish(p) => {
            corners.push(match p.qos_pid {
                QosPid::AtMostOnce => "qos0",
                QosPid::AtLeastOnce(_) => "qos1",
                QosPid::ExactlyOnce(_) => "qos2",
            });
            if p.dup {
                corners.push("dup");
            }
            if p.retain {
                corners.push("retain");
            }
            match &p.topic {
                None => corners.push("alias only"),
                Some(t) if t.is_dollar() => corners.push("dollar topic"),
                Some(t) if t.len() != t.chars().count() => corners.push("multi-byte topic"),
                Some(_) => {}
            }
            if p.payload.is_empty() {
                corners.push("empty payload");
            }
            if p.payload.len() > 1024 {
                corners.push("payload over 1 KiB");
            }
            let keys: BTreeSet<_> = p
                .properties
                .user_properties
                .iter()
                .map(|u| &u.key)
                .collect();
            if keys.len() < p.properties.user_properties.len() {
                corners.push("repeated user property");
            }
            if p.properties.subscription_identifiers.len() > 1 {
                corners.push("several subscription ids");
            }
        }
        Packet::Subscribe(s) => {
            if s.subscriptions.len() == 20 {
                corners.push("20 filters");
            }
            for sub in &s.subscriptions {
                let f = sub.filter.matching_filter();
                if f.split('/').any(|l| l == "+") {
                    corners.push("+ filter");
                }
                if f.ends_with('#') {
                    corners.push("# filter");
                }
                if sub.filter.is_shared() {
                    corners.push("shared filter");
                }
                if sub.options.no_local {
                    corners.push("no local");
                }
            }
        }
        _ => {}
    }
    corners
}

/// Found by `v5_mutated_packets_never_panic`: a CONNECT with an unsupported protocol level
/// on a connection already speaking 5.0 (a second CONNECT, a Protocol Error,
/// [MQTT-3.1.0-2]) was answered after CONNACK with DISCONNECT 0x84, a code DISCONNECT does
/// not allow (§3.14.2.1).
#[test]
fn second_connect_with_unsupported_level_gets_a_valid_answer() {
    let bytes = [
        0x10, 0x0D, // CONNECT, remaining length 13
        0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
        0x07, // protocol level 7
        0x02, 0x00, 0x3C, 0x00, 0x00, 0x00, // flags, keep alive, no properties, client id ''
    ];
    let mut decoder = Decoder::with_version(V5);
    let error = decoder.decode(&mut BytesMut::from(&bytes[..])).unwrap_err();
    assert_eq!(error, DecodeError::UnsupportedProtocolVersion(7));
    error_is_consistent(&error, decoder.version()).unwrap();
}

/// A zero Topic Alias is answered with 0x94 in DISCONNECT (§3.3.4), a code CONNACK does not
/// allow (§3.2.2.2): before CONNACK the answer must still be a valid CONNACK.
#[test]
fn zero_topic_alias_gets_a_valid_answer_in_either_phase() {
    let bytes = [
        0x30, 0x07, // PUBLISH QoS 0, remaining length 7
        0x00, 0x01, b'a', // topic 'a'
        0x03, 0x23, 0x00, 0x00, // properties: Topic Alias 0
    ];
    let mut decoder = Decoder::with_version(V5);
    let error = decoder.decode(&mut BytesMut::from(&bytes[..])).unwrap_err();
    assert_eq!(
        error,
        DecodeError::Violation(broker_core::codec::Violation::ZeroTopicAlias)
    );
    error_is_consistent(&error, decoder.version()).unwrap();
}

/// A Mosquitto bridge's CONNECT: protocol level 0x84 (3.1.1 with the top bit set,
/// `try_private`) or 0x83 (3.1). Not in the specifications; accepted as Mosquitto accepts it,
/// marked as a bridge, and encoded back with the same level. MQTT 5 has no such mark: 0x85 is
/// an unsupported level.
#[test]
fn a_bridge_connect_level_0x84_or_0x83_is_read_as_a_bridge_and_0x85_is_refused() {
    let connect = |name: &[u8], level: u8| {
        let mut bytes = vec![0x10, 0x00, 0x00, name.len() as u8];
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&[level, 0x02, 0x00, 0x3C, 0x00, 0x01, b'b']);
        if level & 0x7F == 5 {
            bytes.push(0x00); // no properties; where they would be
        }
        bytes[1] = (bytes.len() - 2) as u8;
        bytes
    };
    for (name, level, version) in [
        (&b"MQTT"[..], 0x84, ProtocolVersion::V3_1_1),
        (&b"MQIsdp"[..], 0x83, ProtocolVersion::V3_1),
    ] {
        let bytes = connect(name, level);
        let mut decoder = Decoder::new();
        let packet = decoder
            .decode(&mut BytesMut::from(&bytes[..]))
            .unwrap()
            .unwrap();
        let Packet::Connect(decoded) = &packet else {
            panic!("{packet:?}");
        };
        assert!(decoded.bridge, "level {level:#x}");
        assert_eq!(decoded.protocol, version);
        assert_eq!(decoder.version(), Some(version));
        let mut encoded = BytesMut::new();
        packet.encode(version, &mut encoded).unwrap();
        assert_eq!(&encoded[..], &bytes[..], "level {level:#x} encodes back");
    }
    let error = Decoder::new()
        .decode(&mut BytesMut::from(&connect(b"MQTT", 0x85)[..]))
        .unwrap_err();
    assert_eq!(error, DecodeError::UnsupportedProtocolVersion(0x85));
}
