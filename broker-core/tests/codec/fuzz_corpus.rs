//! Replays the fuzz corpus (`broker-core/fuzz/corpus/decode`) on the stable toolchain, so the
//! inputs the fuzzer found interesting keep being checked by `cargo test`: no panic, and every
//! packet decoded from them round-trips through the encoder; a first packet that is not a
//! CONNECT is refused without being consumed or having room reserved.
//!
//! The fuzz target itself (nightly, libFuzzer) checks more; see docs/fuzzing.md.

use std::fs;
use std::path::PathBuf;

use broker_core::codec::{Decoder, Packet};
use broker_core::types::ProtocolVersion;
use bytes::BytesMut;

fn decoders() -> [Decoder; 5] {
    [
        Decoder::new(),
        // A server's decoder for a connection that has not sent CONNECT yet.
        Decoder::new().from_clients().max_connect_size(1024),
        Decoder::with_version(ProtocolVersion::V3_1),
        Decoder::with_version(ProtocolVersion::V3_1_1),
        Decoder::with_version(ProtocolVersion::V5),
    ]
}

fn round_trip(packet: &Packet, version: ProtocolVersion) {
    let mut out = BytesMut::new();
    let written = packet.encode(version, &mut out).unwrap();
    assert_eq!(written, out.len());
    assert_eq!(packet.encoded_len(version).unwrap(), written);
    let mut decoder = match packet {
        Packet::Connect(_) => Decoder::new(),
        _ => Decoder::with_version(version),
    };
    assert_eq!(decoder.decode(&mut out).unwrap().as_ref(), Some(packet));
    assert!(out.is_empty());
}

#[test]
fn every_corpus_input_decodes_without_panic_and_round_trips() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode");
    let mut files = 0;
    let mut packets = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        // The target reads two header bytes before the stream; replay both ways.
        for stream in [&bytes[..], bytes.get(2..).unwrap_or_default()] {
            for mut decoder in decoders() {
                let mut buf = BytesMut::from(stream);
                if decoder.version().is_none() && stream.first().is_some_and(|b| b >> 4 != 1) {
                    // Not a CONNECT: refused from the first byte, nothing consumed or reserved.
                    let capacity = buf.capacity();
                    assert!(decoder.decode(&mut buf).is_err());
                    assert_eq!((&buf[..], buf.capacity()), (stream, capacity));
                    continue;
                }
                while let Ok(Some(packet)) = decoder.decode(&mut buf) {
                    let version = match &packet {
                        Packet::Connect(c) => c.protocol,
                        _ => decoder.version().unwrap(),
                    };
                    round_trip(&packet, version);
                    packets += 1;
                }
            }
        }
    }
    assert!(
        files > 50,
        "corpus missing or nearly empty: {files} files in {dir:?}"
    );
    assert!(packets > 100, "the corpus yielded only {packets} packets");
}
