//! MQTT 3.1.1 byte vectors from `tests/data/mqtt311-packets.json`: every packet is decoded,
//! checked field by field against its `"expect"` object, encoded back to the same bytes, and
//! decoded again one byte at a time. Every `"remaining_length"` example is checked against
//! the Variable Byte Integer codec.
//!
//! The field checks are driven by the JSON: a new vector is checked without touching this
//! file, and a vector with an unknown `"type"` or `"expect"` key fails instead of being
//! skipped.

use std::path::PathBuf;

use broker_core::codec::{varint, Connect, Decoder, FixedHeader, Packet, PacketType};
use broker_core::types::ProtocolVersion;
use bytes::BytesMut;
use serde::Deserialize;
use serde_json::{Map, Value};

const VERSION: ProtocolVersion = ProtocolVersion::V3_1_1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    about: String,
    remaining_length: Vec<VarIntVector>,
    packets: Vec<PacketVector>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VarIntVector {
    value: u32,
    hex: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PacketVector {
    name: String,
    hex: String,
    expect: Map<String, Value>,
}

impl PacketVector {
    fn bytes(&self) -> Vec<u8> {
        hex::decode(&self.hex).unwrap_or_else(|e| panic!("{}: bad hex: {e}", self.name))
    }

    fn is_connect(&self) -> bool {
        self.expect.get("type").and_then(Value::as_str) == Some("CONNECT")
    }

    /// A decoder as the vector needs it: a CONNECT teaches the decoder its version, every
    /// other packet is decoded on a connection known to speak 3.1.1.
    fn decoder(&self) -> Decoder {
        if self.is_connect() {
            Decoder::new()
        } else {
            Decoder::with_version(VERSION)
        }
    }
}

fn load() -> Vectors {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "data",
        "mqtt311-packets.json",
    ]
    .iter()
    .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let vectors: Vectors = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()));
    assert!(
        !vectors.about.is_empty(),
        "the vector file describes itself"
    );
    assert!(!vectors.packets.is_empty(), "no packet vectors");
    assert!(
        !vectors.remaining_length.is_empty(),
        "no remaining length vectors"
    );
    vectors
}

/// Decodes a whole vector; the buffer must be consumed exactly.
fn decode(v: &PacketVector) -> Packet {
    let mut buf = BytesMut::from(&v.bytes()[..]);
    let mut decoder = v.decoder();
    let packet = decoder
        .decode(&mut buf)
        .unwrap_or_else(|e| panic!("{}: decode failed: {e}", v.name))
        .unwrap_or_else(|| panic!("{}: decoder wants more bytes", v.name));
    assert!(buf.is_empty(), "{}: {} bytes left over", v.name, buf.len());
    assert_eq!(decoder.version(), Some(VERSION), "{}", v.name);
    packet
}

// ---------------------------------------------------------------------------------------
// The generic checker: one arm per "expect" key, each naming the packets it applies to.
// It returns an error instead of panicking so that its own test can mutate every expected
// value and see the check fail.
// ---------------------------------------------------------------------------------------

type Check = Result<(), String>;

fn same<T: PartialEq + std::fmt::Debug>(key: &str, decoded: T, expected: T) -> Check {
    if decoded == expected {
        Ok(())
    } else {
        Err(format!("{key}: decoded {decoded:?}, expected {expected:?}"))
    }
}

fn json_u64(key: &str, v: &Value) -> Result<u64, String> {
    v.as_u64()
        .ok_or_else(|| format!("{key}: expected an unsigned integer, got {v}"))
}

fn json_bool(key: &str, v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("{key}: expected a boolean, got {v}"))
}

fn json_str<'a>(key: &str, v: &'a Value) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{key}: expected a string, got {v}"))
}

/// A string or `null`.
fn json_opt_str<'a>(key: &str, v: &'a Value) -> Result<Option<&'a str>, String> {
    if v.is_null() {
        Ok(None)
    } else {
        json_str(key, v).map(Some)
    }
}

fn json_array<'a>(key: &str, v: &'a Value) -> Result<&'a [Value], String> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| format!("{key}: expected an array, got {v}"))
}

fn not_for(key: &str, packet: &Packet) -> String {
    format!("key {key:?} does not apply to {}", packet.packet_type())
}

fn connect<'a>(key: &str, packet: &'a Packet) -> Result<&'a Connect, String> {
    match packet {
        Packet::Connect(c) => Ok(c),
        other => Err(not_for(key, other)),
    }
}

/// The packet type named by an `"type"` string, from the codec's own names.
fn packet_type_named(name: &str) -> Result<PacketType, String> {
    (1..=15)
        .filter_map(|n| PacketType::from_nibble(n).ok())
        .find(|t| t.name() == name)
        .ok_or_else(|| format!("unknown packet type {name:?}"))
}

/// The connect flags byte (3.1.1 §3.1.2.3) rebuilt from the decoded fields.
fn connect_flags_of(c: &Connect) -> u8 {
    let mut flags = u8::from(c.clean_start) << 1;
    if let Some(will) = &c.will {
        flags |= 0b100 | u8::from(will.qos) << 3 | u8::from(will.retain) << 5;
    }
    flags | u8::from(c.password.is_some()) << 6 | u8::from(c.username.is_some()) << 7
}

/// The connect flags byte as it is on the wire: after the fixed header, the protocol name
/// (two length bytes and the name) and the protocol level.
fn connect_flags_on_wire(bytes: &[u8]) -> Result<u8, String> {
    let header = FixedHeader::parse(bytes)
        .map_err(|e| format!("fixed header: {e}"))?
        .ok_or("fixed header incomplete")?;
    let at = |i: usize| bytes.get(i).copied().ok_or("CONNECT too short");
    let name_len = usize::from(u16::from_be_bytes([
        at(header.header_len)?,
        at(header.header_len + 1)?,
    ]));
    Ok(at(header.header_len + 2 + name_len + 1)?)
}

fn check_packet_id(key: &str, packet: &Packet, expected: &Value) -> Check {
    let decoded = match packet {
        Packet::Publish(p) => p.qos_pid.packet_id(),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            Some(a.packet_id)
        }
        Packet::Subscribe(s) => Some(s.packet_id),
        Packet::SubAck(s) => Some(s.packet_id),
        Packet::Unsubscribe(u) => Some(u.packet_id),
        Packet::UnsubAck(u) => Some(u.packet_id),
        other => return Err(not_for(key, other)),
    };
    let expected = if expected.is_null() {
        None
    } else {
        Some(json_u64(key, expected)?)
    };
    same(key, decoded.map(|id| u64::from(id.get())), expected)
}

fn check_filters(key: &str, packet: &Packet, expected: &Value) -> Check {
    let expected = json_array(key, expected)?;
    match packet {
        Packet::Subscribe(s) => {
            let decoded: Vec<(&str, u64)> = s
                .subscriptions
                .iter()
                .map(|s| (s.filter.as_str(), u64::from(u8::from(s.options.qos))))
                .collect();
            let mut wanted = Vec::new();
            for entry in expected {
                let entry = entry
                    .as_object()
                    .ok_or_else(|| format!("{key}: SUBSCRIBE filters are objects, got {entry}"))?;
                if let Some(k) = entry
                    .keys()
                    .find(|k| !matches!(k.as_str(), "filter" | "qos"))
                {
                    return Err(format!("{key}: unknown filter key {k:?}"));
                }
                let field = |name: &str| {
                    entry
                        .get(name)
                        .ok_or_else(|| format!("{key}: filter without {name:?}"))
                };
                wanted.push((
                    json_str(key, field("filter")?)?,
                    json_u64(key, field("qos")?)?,
                ));
            }
            same(key, decoded, wanted)
        }
        Packet::Unsubscribe(u) => {
            let decoded: Vec<&str> = u.filters.iter().map(|f| f.as_str()).collect();
            let wanted = expected
                .iter()
                .map(|f| json_str(key, f))
                .collect::<Result<Vec<_>, _>>()?;
            same(key, decoded, wanted)
        }
        other => Err(not_for(key, other)),
    }
}

/// Checks one `"expect"` entry against the decoded packet and its bytes.
fn check_key(key: &str, expected: &Value, packet: &Packet, bytes: &[u8]) -> Check {
    match key {
        "type" => same(
            key,
            packet.packet_type(),
            packet_type_named(json_str(key, expected)?)?,
        ),
        "remaining_length" => {
            let header = FixedHeader::parse(bytes)
                .map_err(|e| format!("{key}: {e}"))?
                .ok_or_else(|| format!("{key}: fixed header incomplete"))?;
            same(
                key,
                u64::from(header.remaining_length),
                json_u64(key, expected)?,
            )?;
            same(
                "remaining_length vs. packet size",
                header.packet_len(),
                bytes.len(),
            )
        }
        "protocol_name" => same(
            key,
            connect(key, packet)?.protocol.protocol_name(),
            json_str(key, expected)?,
        ),
        "protocol_level" => same(
            key,
            u64::from(connect(key, packet)?.protocol.level()),
            json_u64(key, expected)?,
        ),
        "connect_flags" => {
            let c = connect(key, packet)?;
            let text = json_str(key, expected)?;
            let wanted = text
                .strip_prefix("0x")
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{key}: expected \"0xNN\", got {text:?}"))?;
            same(
                "connect_flags (wire)",
                connect_flags_on_wire(bytes)?,
                wanted,
            )?;
            same("connect_flags (decoded)", connect_flags_of(c), wanted)
        }
        "clean_session" => same(
            key,
            connect(key, packet)?.clean_start,
            json_bool(key, expected)?,
        ),
        "will" => same(
            key,
            connect(key, packet)?.will.is_some(),
            json_bool(key, expected)?,
        ),
        "username_flag" => same(
            key,
            connect(key, packet)?.username.is_some(),
            json_bool(key, expected)?,
        ),
        "password_flag" => same(
            key,
            connect(key, packet)?.password.is_some(),
            json_bool(key, expected)?,
        ),
        "keep_alive" => same(
            key,
            u64::from(connect(key, packet)?.keep_alive),
            json_u64(key, expected)?,
        ),
        "client_id" => same(
            key,
            connect(key, packet)?.client_id.as_str(),
            json_str(key, expected)?,
        ),
        "username" => same(
            key,
            connect(key, packet)?.username.as_ref().map(|u| u.as_str()),
            json_opt_str(key, expected)?,
        ),
        "password_utf8" => {
            let password = connect(key, packet)?
                .password
                .as_ref()
                .map(|p| std::str::from_utf8(p).map_err(|e| format!("{key}: {e}")))
                .transpose()?;
            same(key, password, json_opt_str(key, expected)?)
        }
        "packet_id" => check_packet_id(key, packet, expected),
        "filters" => check_filters(key, packet, expected),
        "return_codes" => match packet {
            Packet::SubAck(s) => {
                let decoded: Vec<u64> = s
                    .codes
                    .iter()
                    .map(|c| u64::from(c.to_v3_suback()))
                    .collect();
                let wanted = json_array(key, expected)?
                    .iter()
                    .map(|c| json_u64(key, c))
                    .collect::<Result<Vec<_>, _>>()?;
                same(key, decoded, wanted)
            }
            other => Err(not_for(key, other)),
        },
        "session_present" | "return_code" => match packet {
            Packet::ConnAck(c) if key == "session_present" => {
                same(key, c.session_present, json_bool(key, expected)?)
            }
            Packet::ConnAck(c) => same(
                key,
                u64::from(c.code.to_v3_connack()),
                json_u64(key, expected)?,
            ),
            other => Err(not_for(key, other)),
        },
        "dup" | "qos" | "retain" | "topic" | "payload_utf8" => {
            let Packet::Publish(p) = packet else {
                return Err(not_for(key, packet));
            };
            match key {
                "dup" => same(key, p.dup, json_bool(key, expected)?),
                "retain" => same(key, p.retain, json_bool(key, expected)?),
                "qos" => same(
                    key,
                    u64::from(u8::from(p.qos_pid.qos())),
                    json_u64(key, expected)?,
                ),
                "topic" => same(
                    key,
                    p.topic.as_ref().map(|t| t.as_str()),
                    json_opt_str(key, expected)?,
                ),
                _ => same(
                    key,
                    std::str::from_utf8(&p.payload).map_err(|e| format!("{key}: {e}"))?,
                    json_str(key, expected)?,
                ),
            }
        }
        other => Err(format!("unknown expect key {other:?}")),
    }
}

/// Checks every `"expect"` entry; `"type"` is required.
fn check_expect(expect: &Map<String, Value>, packet: &Packet, bytes: &[u8]) -> Check {
    if !expect.contains_key("type") {
        return Err("expect has no \"type\"".to_owned());
    }
    for (key, expected) in expect {
        check_key(key, expected, packet, bytes)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------

#[test]
fn every_packet_decodes_to_its_expected_fields() {
    for v in load().packets {
        let packet = decode(&v);
        if let Err(e) = check_expect(&v.expect, &packet, &v.bytes()) {
            panic!("{}: {e}\n{packet:?}", v.name);
        }
    }
}

#[test]
fn every_packet_encodes_back_to_its_bytes() {
    for v in load().packets {
        let bytes = v.bytes();
        let packet = decode(&v);
        let mut out = BytesMut::new();
        let written = packet
            .encode(VERSION, &mut out)
            .unwrap_or_else(|e| panic!("{}: encode failed: {e}", v.name));
        assert_eq!(hex::encode(&out), v.hex, "{}", v.name);
        assert_eq!(written, bytes.len(), "{}", v.name);
        assert_eq!(
            packet.encoded_len(VERSION).unwrap(),
            bytes.len(),
            "{}",
            v.name
        );
    }
}

#[test]
fn every_packet_decodes_one_byte_at_a_time() {
    for v in load().packets {
        let bytes = v.bytes();
        let whole = decode(&v);
        let mut decoder = v.decoder();
        let mut buf = BytesMut::new();
        for (i, &byte) in bytes.iter().enumerate() {
            buf.extend_from_slice(&[byte]);
            let result = decoder
                .decode(&mut buf)
                .unwrap_or_else(|e| panic!("{}: byte {i}: {e}", v.name));
            if i + 1 < bytes.len() {
                assert_eq!(
                    result,
                    None,
                    "{}: packet complete after {} bytes",
                    v.name,
                    i + 1
                );
                assert_eq!(buf.len(), i + 1, "{}: buffer consumed at byte {i}", v.name);
                assert_eq!(
                    &buf[..],
                    &bytes[..=i],
                    "{}: buffer changed at byte {i}",
                    v.name
                );
            } else {
                assert_eq!(result.as_ref(), Some(&whole), "{}", v.name);
                assert!(buf.is_empty(), "{}: {} bytes left", v.name, buf.len());
            }
        }
    }
}

#[test]
fn all_packets_decode_back_to_back_from_one_stream() {
    // CONNECT first, as on a real connection: the decoder learns 3.1.1 from it.
    let mut packets = load().packets;
    packets.sort_by_key(|v| !v.is_connect());
    assert!(
        packets.first().is_some_and(PacketVector::is_connect),
        "no CONNECT vector"
    );
    let mut buf = BytesMut::new();
    for v in &packets {
        buf.extend_from_slice(&v.bytes());
    }
    let mut decoder = Decoder::new();
    for v in &packets {
        let packet = decoder.decode(&mut buf).unwrap().unwrap();
        assert_eq!(packet, decode(v), "{}", v.name);
    }
    assert!(buf.is_empty());
    assert_eq!(decoder.decode(&mut buf), Ok(None));
}

#[test]
fn every_remaining_length_example_encodes_and_decodes() {
    for r in load().remaining_length {
        let bytes = hex::decode(&r.hex).unwrap();
        let mut out = Vec::new();
        varint::put(&mut out, r.value);
        assert_eq!(hex::encode(&out), r.hex, "put({})", r.value);
        assert_eq!(varint::len(r.value), bytes.len(), "len({})", r.value);
        assert_eq!(
            varint::decode(&bytes),
            Ok(Some((r.value, bytes.len()))),
            "decode({})",
            r.hex
        );
        for cut in 0..bytes.len() {
            assert_eq!(
                varint::decode(&bytes[..cut]),
                Ok(None),
                "{} cut at {cut}",
                r.hex
            );
        }
        // The same bytes as the remaining length of a fixed header.
        let mut header = vec![0x30];
        header.extend_from_slice(&bytes);
        let parsed = FixedHeader::parse(&header).unwrap().unwrap();
        assert_eq!(parsed.remaining_length, r.value, "{}", r.hex);
        assert_eq!(parsed.header_len, 1 + bytes.len(), "{}", r.hex);
    }
}

/// Variants of an expected value that must not match what was decoded.
fn mutations(v: &Value) -> Vec<Value> {
    match v {
        Value::Null => vec![Value::from(1)],
        Value::Bool(b) => vec![Value::Bool(!b)],
        Value::Number(n) => vec![Value::from(n.as_u64().unwrap() + 1)],
        Value::String(s) => {
            let mut out = vec![Value::String(format!("{s}x"))];
            // "0xNN" flag bytes: also a well-formed byte with one bit flipped.
            if let Some(byte) = s
                .strip_prefix("0x")
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(Value::String(format!("0x{:02x}", byte ^ 0x02)));
            }
            out
        }
        Value::Array(items) => {
            let mut out = vec![Value::Array(
                items[..items.len().saturating_sub(1)].to_vec(),
            )];
            let mut longer = items.clone();
            longer.extend(items.first().cloned());
            out.push(Value::Array(longer));
            for (i, item) in items.iter().enumerate() {
                for m in mutations(item) {
                    let mut changed = items.clone();
                    changed[i] = m;
                    out.push(Value::Array(changed));
                }
            }
            out
        }
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(k, field)| {
                mutations(field).into_iter().map(move |m| {
                    let mut changed = fields.clone();
                    changed.insert(k.clone(), m);
                    Value::Object(changed)
                })
            })
            .collect(),
    }
}

#[test]
fn the_checker_rejects_every_wrong_expected_value() {
    for v in load().packets {
        let bytes = v.bytes();
        let packet = decode(&v);
        for (key, value) in &v.expect {
            let wrong = if key == "type" {
                // Another real type name, and one that does not exist.
                vec![Value::from("AUTH"), Value::from("CONNECTX")]
            } else {
                mutations(value)
            };
            for m in wrong {
                let mut expect = v.expect.clone();
                expect.insert(key.clone(), m.clone());
                assert!(
                    check_expect(&expect, &packet, &bytes).is_err(),
                    "{}: {key} = {m} was accepted",
                    v.name
                );
            }
        }
    }
}

#[test]
fn the_checker_rejects_unknown_keys_and_types_and_keys_of_other_packets() {
    let connack = PacketVector {
        name: "connack".to_owned(),
        hex: "20020000".to_owned(),
        expect: Map::new(),
    };
    let packet = decode(&connack);
    let bytes = connack.bytes();
    let check = |json: &str| {
        let expect: Map<String, Value> = serde_json::from_str(json).unwrap();
        check_expect(&expect, &packet, &bytes)
    };
    assert_eq!(check(r#"{"type": "CONNACK", "return_code": 0}"#), Ok(()));
    assert!(check(r#"{"return_code": 0}"#)
        .unwrap_err()
        .contains("no \"type\""));
    assert!(check(r#"{"type": "CONNAK"}"#)
        .unwrap_err()
        .contains("unknown packet type"));
    assert!(check(r#"{"type": "CONNACK", "reason": 0}"#)
        .unwrap_err()
        .contains("unknown expect key"));
    assert!(check(r#"{"type": "CONNACK", "packet_id": 1}"#)
        .unwrap_err()
        .contains("does not apply to CONNACK"));
    assert!(check(r#"{"type": "CONNACK", "keep_alive": 1}"#)
        .unwrap_err()
        .contains("does not apply to CONNACK"));
}
