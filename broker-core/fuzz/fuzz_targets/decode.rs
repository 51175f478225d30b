//! Fuzz target `decode`: the incremental decoder on arbitrary bytes.
//!
//! Input layout:
//! - byte 0, the mode: bits 0-1 pick the decoder (`Decoder::new()`, then `with_version` 3.1,
//!   3.1.1, 5.0); bits 2-5 pick the maximum packet size from `MAX_SIZES`; bits 6-7 pick the
//!   CONNECT size limit of `Decoder::new()` from `CONNECT_SIZES` (a server's decoder, with
//!   `from_clients`, when it is set).
//! - byte 1: where the stream is split for the two-chunk run (a fraction of its length).
//! - the rest: the byte stream, as it would arrive from a client.
//!
//! Checked for every input (a failed check panics, which libFuzzer reports as a crash):
//! - no panic anywhere in the decoder or the encoder;
//! - every decoded packet re-encodes for the decoder's version (a CONNECT for its own), the
//!   returned size equals `encoded_len` and the bytes written, and the bytes decode back to an
//!   equal packet, leaving nothing behind;
//! - feeding the stream in two chunks gives the same packets, the same final error (or none)
//!   and the same unconsumed bytes as feeding it at once;
//! - the first-packet path: a decoder that does not know the version yet refuses anything but
//!   a CONNECT (`ExpectedConnect`) without touching the buffer or reserving room in it, and
//!   never reserves room past the CONNECT size limit.
#![no_main]

use broker_core::codec::{DecodeError, Decoder, Packet, MAX_PACKET_SIZE};
use broker_core::types::ProtocolVersion;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

/// Maximum packet sizes the mode byte chooses from, the protocol's own maximum included. The
/// decoder reserves at most 64 KiB ahead of the bytes it holds and inputs are at most
/// `-max_len`, so any allocation above libFuzzer's `-malloc_limit_mb=64` is a bug.
const MAX_SIZES: [u32; 16] = [
    2,
    5,
    16,
    64,
    100,
    128,
    256,
    MAX_PACKET_SIZE,
    512,
    1024,
    2048,
    4096,
    16_384,
    65_536,
    1 << 20,
    16 << 20,
];

/// CONNECT size limits bits 6-7 of the mode byte choose from for `Decoder::new()`; the first
/// is no limit beyond the packet's (and a decoder without `from_clients`).
const CONNECT_SIZES: [u32; 4] = [MAX_PACKET_SIZE, 16_384, 1024, 20];

/// What decoding a stream produced.
#[derive(Debug, PartialEq)]
struct Outcome {
    packets: Vec<Packet>,
    error: Option<DecodeError>,
    /// The bytes left in the buffer after `Ok(None)` (not compared after an error).
    leftover: Vec<u8>,
}

fn decoder_for(mode: u8) -> Decoder {
    let decoder = match mode & 0b11 {
        0 => match mode >> 6 {
            0 => Decoder::new(),
            n => Decoder::new()
                .from_clients()
                .max_connect_size(CONNECT_SIZES[usize::from(n)]),
        },
        1 => Decoder::with_version(ProtocolVersion::V3_1),
        2 => Decoder::with_version(ProtocolVersion::V3_1_1),
        _ => Decoder::with_version(ProtocolVersion::V5),
    };
    let max = MAX_SIZES[usize::from((mode >> 2) & 0x0F)];
    debug_assert!(max <= MAX_PACKET_SIZE);
    decoder.max_packet_size(max)
}

/// Decodes from `buf` until it needs more bytes or fails; checks every packet's round trip.
/// `fed` is everything fed so far; `consumed` counts the bytes of it decoded into packets.
/// Returns `false` once the stream is broken.
fn drain(
    mode: u8,
    decoder: &mut Decoder,
    buf: &mut BytesMut,
    fed: &[u8],
    consumed: &mut usize,
    out: &mut Outcome,
) -> bool {
    loop {
        let before = buf.len();
        let capacity = buf.capacity();
        let first = decoder.version().is_none();
        match decoder.decode(buf) {
            Ok(Some(packet)) => {
                assert!(buf.len() < before, "a decoded packet consumed nothing");
                *consumed += before - buf.len();
                round_trip(decoder, &packet);
                out.packets.push(packet);
            }
            Ok(None) => {
                assert_eq!(&buf[..], &fed[*consumed..], "Ok(None) touched the buffer");
                if first && buf.capacity() > capacity {
                    let limit = CONNECT_SIZES[usize::from(mode >> 6)] as usize;
                    assert!(
                        buf.capacity() <= (2 * capacity).max(limit),
                        "room for {} bytes reserved before CONNECT (limit {limit})",
                        buf.capacity()
                    );
                }
                return true;
            }
            Err(DecodeError::ExpectedConnect) => {
                assert!(first, "ExpectedConnect once the version is known");
                assert_eq!(&buf[..], &fed[*consumed..], "a refused first packet was consumed");
                assert_eq!(buf.capacity(), capacity, "room reserved for a refused first packet");
                out.error = Some(DecodeError::ExpectedConnect);
                return false;
            }
            Err(e) => {
                out.error = Some(e);
                return false;
            }
        }
    }
}

/// Encodes `packet` for the decoder's version and decodes it back.
fn round_trip(decoder: &Decoder, packet: &Packet) {
    let Some(version) = decoder.version() else {
        panic!("a packet was decoded but the decoder has no version: {packet:?}");
    };
    let version = match packet {
        Packet::Connect(c) => c.protocol,
        _ => version,
    };
    let len = match packet.encoded_len(version) {
        Ok(len) => len,
        Err(e) => panic!("decoded packet does not encode for {version}: {e}: {packet:?}"),
    };
    let mut buf = BytesMut::new();
    let written = match packet.encode(version, &mut buf) {
        Ok(n) => n,
        Err(e) => panic!("encoded_len succeeded but encode failed: {e}: {packet:?}"),
    };
    assert_eq!(
        written, len,
        "encode returned {written}, encoded_len said {len}"
    );
    assert_eq!(
        buf.len(),
        written,
        "encode wrote {} bytes, returned {written}",
        buf.len()
    );
    let encoded = buf.clone();

    let mut again = match packet {
        Packet::Connect(_) => Decoder::new(),
        _ => Decoder::with_version(version),
    };
    match again.decode(&mut buf) {
        Ok(Some(back)) => {
            assert_eq!(
                &back, packet,
                "round trip changed the packet; bytes {encoded:02x?}"
            );
        }
        Ok(None) => panic!("re-encoded packet is incomplete: {encoded:02x?} for {packet:?}"),
        Err(e) => panic!("re-encoded packet fails to decode: {e}: {encoded:02x?} for {packet:?}"),
    }
    assert!(buf.is_empty(), "re-encoded packet left {} bytes", buf.len());
}

/// Feeds `stream` to a fresh decoder for `mode`: `stream[..cut]` first, then the rest.
fn run(mode: u8, stream: &[u8], cut: usize) -> Outcome {
    let mut decoder = decoder_for(mode);
    let mut buf = BytesMut::new();
    let mut consumed = 0;
    let mut out = Outcome {
        packets: Vec::new(),
        error: None,
        leftover: Vec::new(),
    };
    for (start, end) in [(0, cut), (cut, stream.len())] {
        let Some(chunk) = stream.get(start..end) else {
            return out;
        };
        buf.extend_from_slice(chunk);
        let fed = stream.get(..end).unwrap_or_default();
        if !drain(mode, &mut decoder, &mut buf, fed, &mut consumed, &mut out) {
            return out;
        }
    }
    out.leftover = buf.to_vec();
    out
}

fuzz_target!(|data: &[u8]| {
    let [mode, split, stream @ ..] = data else {
        return;
    };
    let at_once = run(*mode, stream, stream.len());
    let cut = stream.len() * usize::from(*split) / 255;
    let chunked = run(*mode, stream, cut);
    assert_eq!(
        at_once,
        chunked,
        "split at {cut} of {} changed the outcome",
        stream.len()
    );
});
