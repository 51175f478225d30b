//! The one bounds-checked reader every packet body is parsed with.

use bytes::{Buf, Bytes};

use super::Violation;
use crate::types::{MqttString, PacketId, TopicFilter, TopicName};

/// Reads the fields of one packet body. Every read checks the bytes left first, so a short
/// or lying packet yields [`Violation::Truncated`], never a panic. Reads that return bytes
/// share the packet's buffer instead of copying.
#[derive(Debug)]
pub(crate) struct Reader {
    buf: Bytes,
}

impl Reader {
    pub(crate) fn new(buf: Bytes) -> Self {
        Reader { buf }
    }

    /// Bytes left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn need(&self, n: usize) -> Result<(), Violation> {
        if self.buf.len() < n {
            Err(Violation::Truncated)
        } else {
            Ok(())
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Violation> {
        self.need(1)?;
        Ok(self.buf.get_u8())
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Violation> {
        self.need(2)?;
        Ok(self.buf.get_u16())
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Violation> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Violation> {
        self.need(8)?;
        Ok(self.buf.get_u64())
    }

    /// A Variable Byte Integer (§1.5.5): at most four bytes, shortest form ([MQTT-1.5.5-1]).
    pub(crate) fn var_int(&mut self) -> Result<u32, Violation> {
        match super::varint::decode(&self.buf)? {
            Some((value, len)) => {
                self.buf.advance(len);
                Ok(value)
            }
            None => Err(Violation::Truncated),
        }
    }

    /// `n` bytes, shared with the packet buffer.
    pub(crate) fn take(&mut self, n: usize) -> Result<Bytes, Violation> {
        self.need(n)?;
        Ok(self.buf.split_to(n))
    }

    /// Everything left (a PUBLISH payload).
    pub(crate) fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.buf)
    }

    /// Binary Data: a two-byte length, then that many bytes (§1.5.6).
    pub(crate) fn binary(&mut self) -> Result<Bytes, Violation> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A UTF-8 Encoded String (§1.5.4).
    pub(crate) fn string(&mut self) -> Result<MqttString, Violation> {
        MqttString::from_wire(self.binary()?)
    }

    pub(crate) fn topic_name(&mut self) -> Result<TopicName, Violation> {
        TopicName::from_wire(self.binary()?)
    }

    pub(crate) fn topic_filter(&mut self) -> Result<TopicFilter, Violation> {
        TopicFilter::from_wire(self.binary()?)
    }

    pub(crate) fn packet_id(&mut self) -> Result<PacketId, Violation> {
        PacketId::new(self.u16()?)
    }

    /// A sub-reader over the next `n` bytes (a property block).
    pub(crate) fn sub(&mut self, n: usize) -> Result<Reader, Violation> {
        self.take(n).map(Reader::new)
    }

    /// Checks that the packet has been read to its end.
    pub(crate) fn finish(self) -> Result<(), Violation> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Violation::TrailingBytes(self.buf.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reads_are_truncated_not_panics() {
        let mut r = Reader::new(Bytes::from_static(&[0x00, 0x05, b'a']));
        assert_eq!(r.string(), Err(Violation::Truncated));
        let mut r = Reader::new(Bytes::from_static(&[0x01]));
        assert_eq!(r.u16(), Err(Violation::Truncated));
        assert_eq!(r.u32(), Err(Violation::Truncated));
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u8(), Err(Violation::Truncated));
    }

    #[test]
    fn finish_reports_trailing_bytes() {
        let r = Reader::new(Bytes::from_static(&[1, 2]));
        assert_eq!(r.finish(), Err(Violation::TrailingBytes(2)));
    }
}
