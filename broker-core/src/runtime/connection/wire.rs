//! The I/O half of a connection: its socket, its read and write buffers, the decoder, and
//! its one timer. It knows bytes and packets, not sessions, hooks or the router.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;

use crate::codec::Decoder;
use crate::runtime::transport::stream::Stream;

/// Bytes read from the socket at most per wake-up, so that one busy client does not starve
/// the rest of its own work (timers, mailbox).
const READ_CHUNK: usize = 64 * 1024;
/// The capacity of the first read buffer of a connection, enough for a common CONNECT.
const FIRST_READ: usize = 1024;

/// How a connection was lost, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lost {
    /// The client closed the connection.
    Eof,
    /// Reading or writing failed.
    Error,
}

/// A connection's socket, buffers, decoder and timer.
///
/// Dropped, it shuts the stream's write side down before the socket closes
/// ([`Stream::shut_down_now`]), unless the socket was handed on (a parked connection keeps
/// another descriptor of it).
pub(crate) struct Wire {
    /// The byte stream (TCP, TLS or WebSocket).
    pub(super) stream: Stream,
    /// Bytes read and not yet decoded.
    pub(super) read_buf: BytesMut,
    /// Bytes encoded and not yet written.
    pub(super) write_buf: BytesMut,
    /// The incremental packet decoder.
    pub(super) decoder: Decoder,
    /// The connection's one timer, made at its first deadline and kept: it is set for the
    /// earliest of the session's deadline and the park check, and moved only earlier, never
    /// later, between firings (a deadline that moves later, as the Keep Alive deadline does
    /// with every packet, costs one early wake-up instead of a timer update per packet).
    pub(super) timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// How the connection was lost, if it was.
    pub(super) lost: Option<Lost>,
    /// Whether the client may still send.
    pub(super) read_open: bool,
    /// Whether the socket is still this connection's to shut down (not handed on).
    pub(super) owned: bool,
}

impl Drop for Wire {
    fn drop(&mut self) {
        if self.owned {
            self.stream.shut_down_now();
        }
    }
}

impl Wire {
    /// The I/O half around `stream`, with empty buffers.
    pub(super) fn new(stream: Stream, decoder: Decoder) -> Wire {
        Wire {
            stream,
            read_buf: BytesMut::new(),
            write_buf: BytesMut::new(),
            decoder,
            timer: None,
            lost: None,
            read_open: true,
            owned: true,
        }
    }

    /// The byte stream.
    pub(crate) fn stream(&self) -> &Stream {
        &self.stream
    }

    /// Reads what the socket has now, up to [`READ_CHUNK`], into the read buffer. Returns how
    /// many bytes came, and how the connection was lost if it was (end of stream or error).
    /// Before the CONNECT exchange is done (`handshake_done` false) the buffer starts at the
    /// size of a common CONNECT and grows only when full.
    pub(super) fn read_some(&mut self, handshake_done: bool) -> (usize, Option<Lost>) {
        let mut read = 0;
        while read < READ_CHUNK {
            let spare = self.read_buf.capacity() - self.read_buf.len();
            if handshake_done {
                if spare < 4096 {
                    self.read_buf.reserve(8192);
                }
            } else if spare == 0 {
                // Before CONNACK: a first buffer the size of a common CONNECT, grown only
                // when it is full (a large CONNECT, or packets right behind it).
                let grow = if self.read_buf.capacity() == 0 {
                    FIRST_READ
                } else {
                    8192
                };
                self.read_buf.reserve(grow);
            }
            match self.stream.try_read_buf(&mut self.read_buf) {
                Ok(0) => return (read, Some(Lost::Eof)),
                Ok(n) => read += n,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => return (read, Some(Lost::Error)),
            }
        }
        (read, None)
    }

    /// Makes the timer fire at `at` at the latest: it is moved only earlier (see
    /// [`Wire::timer`]).
    pub(super) fn set_timer(&mut self, at: tokio::time::Instant) {
        match &mut self.timer {
            Some(timer) if timer.deadline() <= at => {}
            Some(timer) => timer.as_mut().reset(at),
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }
}

/// Polls a connection's timer (its branch is off without one). A function of the field, not
/// a method: the socket's branch of the same `select!` borrows the buffers meanwhile.
pub(super) fn poll_timer(
    timer: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    match timer {
        Some(timer) => timer.as_mut().poll(cx),
        None => Poll::Pending,
    }
}
