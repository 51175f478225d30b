//! The I/O half of a connection: its socket, its read and write buffers, the decoder, and
//! its one timer. It knows bytes and packets, not sessions, hooks or the router.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::AsyncReadExt;

use crate::codec::Decoder;
use crate::runtime::connection::throttle::Throttle;
use crate::runtime::state::receive_limits::{ReceiveLimits, LARGE_PACKET};
use crate::runtime::transport::stream::Stream;

/// Bytes read from the socket at most per wake-up, so that one busy client does not starve
/// the rest of its own work (timers, mailbox).
const READ_CHUNK: usize = 64 * 1024;
/// The capacity of the first read buffer of a connection, enough for a common CONNECT.
/// Until the CONNECT exchange is done the buffer grows past it only as far as the decoder
/// reserves room for the packet it waits for, within the CONNECT's size limit.
const FIRST_READ: usize = 1024;

/// Room kept past a large packet's declared size when its buffer is made, so that the
/// reads that complete it do not grow the buffer again (a read makes room when less than
/// 4 KiB is left).
const READ_SLACK: usize = 8192;

/// How long a connection the broker closes after a last word (a DISCONNECT, a refusing
/// CONNACK) reads and discards what the client still sends, after shutting its write side
/// down: closing a socket with unread input makes the kernel send a reset, which makes the
/// client's sends fail and can discard what it has not read yet, the last word included.
/// A client that reads it and closes ends this at once.
pub(crate) const DRAIN_TIME: std::time::Duration = std::time::Duration::from_millis(250);
/// The most bytes read and discarded that way: a client that sends more after the broker's
/// last word is not listening.
pub(crate) const DRAIN_BYTES: usize = 256 * 1024;

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
    /// Whether the large packet at the front of the read buffer is charged to the receive
    /// budget ([`ReceiveLimits`]), with the size its fixed header declares.
    charged: bool,
    /// The client's rate limit, when its listener sets one.
    pub(super) throttle: Option<Box<Throttle>>,
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
    pub(super) fn new(stream: Stream, decoder: Decoder, throttle: Option<Box<Throttle>>) -> Wire {
        Wire {
            stream,
            read_buf: BytesMut::new(),
            write_buf: BytesMut::new(),
            decoder,
            timer: None,
            lost: None,
            read_open: true,
            owned: true,
            charged: false,
            throttle,
        }
    }

    /// Until when reading pauses for the client's rate limit, if it does.
    #[inline]
    pub(super) fn paused_until(&self) -> Option<std::time::Instant> {
        self.throttle
            .as_ref()
            .and_then(|throttle| throttle.paused_until())
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
                // Before CONNACK: a first buffer the size of a common CONNECT. Once it is
                // full, only the decoder makes room, for the packet it waits for (a CONNECT
                // within its size limit); bytes behind it wait in the socket.
                if self.read_buf.len() >= FIRST_READ {
                    break;
                }
                self.read_buf.reserve(FIRST_READ);
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

    /// Before the buffered packets are decoded: gives back the charge of a large packet
    /// that is now complete. One flag test per read while nothing is charged.
    #[inline]
    pub(super) fn release_if_complete(&mut self, limits: &ReceiveLimits) {
        if self.charged {
            self.release_complete(limits);
        }
    }

    #[cold]
    fn release_complete(&mut self, limits: &ReceiveLimits) {
        let declared = self.decoder.declared_len(&self.read_buf).unwrap_or(0);
        if self.read_buf.len() >= declared {
            limits.release(declared);
            self.charged = false;
        }
    }

    /// After the buffered packets are decoded: charges the packet still arriving to the
    /// receive budget once [`LARGE_PACKET`] bytes of it are held, with its declared size,
    /// and makes room for all of it at once (one copy, no doubling as it grows). Returns
    /// `false` if the budget has no room: the packet is to be refused. One comparison per
    /// read for the packets below that size.
    #[inline]
    pub(super) fn charge_if_large(&mut self, limits: &ReceiveLimits) -> bool {
        if self.read_buf.len() < LARGE_PACKET || self.charged {
            return true;
        }
        self.charge(limits)
    }

    #[cold]
    fn charge(&mut self, limits: &ReceiveLimits) -> bool {
        let Some(declared) = self.decoder.declared_len(&self.read_buf) else {
            return true;
        };
        if declared <= self.read_buf.len() {
            return true;
        }
        if !limits.try_charge(declared) {
            return false;
        }
        self.charged = true;
        if self.read_buf.capacity() < declared {
            let mut room = BytesMut::with_capacity(declared + READ_SLACK);
            room.extend_from_slice(&self.read_buf);
            self.read_buf = room;
        }
        true
    }

    /// At the connection's end: gives back what is charged.
    pub(super) fn release_all(&mut self, limits: &ReceiveLimits) {
        if std::mem::take(&mut self.charged) {
            limits.release(self.decoder.declared_len(&self.read_buf).unwrap_or(0));
        }
    }

    /// After the broker's last word and the shutdown of the write side: reads and discards
    /// what the client sends until it closes its side, for at most [`DRAIN_TIME`] and
    /// [`DRAIN_BYTES`].
    pub(super) async fn drain_input(&mut self) {
        let mut sink = [0u8; 4096];
        let mut discarded = 0;
        let deadline = tokio::time::Instant::now() + DRAIN_TIME;
        while discarded < DRAIN_BYTES {
            match tokio::time::timeout_at(deadline, self.stream.read(&mut sink)).await {
                Ok(Ok(n)) if n > 0 => discarded += n,
                _ => return,
            }
        }
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
