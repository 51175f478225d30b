//! The byte stream under a connection: plain TCP, TLS, WebSocket (over either), or any
//! stream an embedder accepted itself ([`ServedIo`]: a Unix socket, an in-memory pipe), which
//! TLS and WebSocket may wrap as they wrap TCP.
//!
//! Plain TCP is the fast path and stays as it was: the `TcpStream` is held inline (not boxed),
//! the task waits on its readiness and reads and writes with `try_read` / `try_write`, so an
//! idle TCP connection carries nothing for the other transports but the enum's tag. TLS,
//! WebSocket and embedders' streams are boxed and driven through `AsyncRead` / `AsyncWrite`: a
//! read may have to decrypt or unframe bytes before there is anything to report, so for them
//! "readable" means "bytes were read", and a write is followed by a flush (TLS records,
//! WebSocket frames sit in the library's buffer until flushed). TLS and WebSocket sit on a
//! [`Stream`] themselves (TCP or an embedder's), so one handshake serves both
//! ([`handshake`](crate::runtime::listener::handshake)).
//!
//! This module never parses MQTT and never blocks: every operation is a poll.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use crate::runtime::transport::ws::WsStream;

/// Bytes read at most by one read of a TLS or WebSocket stream (on the stack, then copied
/// into the connection's read buffer, which stays unallocated while the client is idle).
const READ_CHUNK: usize = 8 * 1024;

/// A byte stream an embedder accepted itself and hands to the broker
/// ([`BrokerHandle::serve_stream`](crate::BrokerHandle::serve_stream)).
pub(crate) trait ServedIo: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static> ServedIo for T {}

/// A connection's byte stream.
pub(crate) enum Stream {
    /// MQTT straight over TCP.
    Tcp(TcpStream),
    /// MQTT over TLS, itself over [`Stream::Tcp`] or [`Stream::Served`].
    Tls(Box<Buffered<TlsStream<Stream>>>),
    /// MQTT over WebSocket, itself over [`Stream::Tcp`], [`Stream::Tls`] or
    /// [`Stream::Served`].
    Ws(Box<Buffered<WsStream<Stream>>>),
    /// A stream the embedder handed over: MQTT straight on it, or the stream under
    /// [`Stream::Tls`] or [`Stream::Ws`].
    Served(Box<Buffered<Box<dyn ServedIo>>>),
}

/// What [`Stream::poll_io`] saw.
#[derive(Debug)]
pub(crate) enum Io {
    /// This many bytes of the write buffer were taken (0: the peer is gone).
    Written(io::Result<usize>),
    /// There are bytes to read: for TCP the socket is readable; for TLS and WebSocket some
    /// bytes, or the end of the stream, were already read into the read buffer or noted, and
    /// [`Stream::try_read_buf`] gives the rest.
    Readable(io::Result<()>),
}

/// A TLS or WebSocket stream with the state its task needs beside it.
pub(crate) struct Buffered<S> {
    io: S,
    /// Bytes were written since the last completed flush.
    unflushed: bool,
    /// The end of the stream (`Ok(())`) or a read error, seen by a read whose bytes were
    /// reported as [`Io::Readable`]; the next [`Stream::try_read_buf`] returns it.
    read_end: Option<io::Result<()>>,
}

impl<S> Buffered<S> {
    /// Wraps a stream whose handshake is done.
    pub(crate) fn new(io: S) -> Box<Self> {
        Box::new(Buffered {
            io,
            unflushed: false,
            read_end: None,
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Buffered<S> {
    /// Writes from `write`, flushes what was written, or reads into `read_buf` (when
    /// `can_read`), whichever can go on first, in that order.
    fn poll_io(
        &mut self,
        cx: &mut Context<'_>,
        write: &[u8],
        can_read: bool,
        read_buf: &mut BytesMut,
    ) -> Poll<Io> {
        if !write.is_empty() {
            if let Poll::Ready(written) = Pin::new(&mut self.io).poll_write(cx, write) {
                self.unflushed = true;
                return Poll::Ready(Io::Written(written));
            }
        } else if self.unflushed {
            match Pin::new(&mut self.io).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                // Reported as a write that failed.
                Poll::Ready(Err(error)) => return Poll::Ready(Io::Written(Err(error))),
                Poll::Pending => {}
            }
        }
        if can_read {
            if self.read_end.is_some() {
                return Poll::Ready(Io::Readable(Ok(())));
            }
            if let Poll::Ready(read) = self.poll_read_into(cx, read_buf) {
                if !matches!(read, Ok(n) if n > 0) {
                    self.read_end = Some(read.map(|_| ()));
                }
                return Poll::Ready(Io::Readable(Ok(())));
            }
        }
        Poll::Pending
    }

    /// Reads once into `buf`: the bytes read, 0 at the end of the stream.
    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let mut chunk = [0u8; READ_CHUNK];
        let mut read = ReadBuf::new(&mut chunk);
        std::task::ready!(Pin::new(&mut self.io).poll_read(cx, &mut read))?;
        buf.extend_from_slice(read.filled());
        Poll::Ready(Ok(read.filled().len()))
    }

    /// Reads what is there now, without waiting: `WouldBlock` when nothing is.
    fn try_read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        if let Some(end) = &self.read_end {
            // The end stays: a later read sees it again.
            return match end {
                Ok(()) => Ok(0),
                Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
            };
        }
        // A waker that does nothing: a pending read is left for the task's next wait, which
        // polls the stream with the task's own waker (the readiness the read saw is kept).
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_read_into(&mut cx, buf) {
            Poll::Ready(Ok(0)) => {
                self.read_end = Some(Ok(()));
                Ok(0)
            }
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Stream {
    /// Waits for the first of: `write`'s bytes taken by the stream (when it is not empty), a
    /// flush of what was taken before (TLS and WebSocket), something to read (when
    /// `can_read`). TLS and WebSocket reads put what they read into `read_buf`.
    ///
    /// Writing is tried before reading, as the connection's `biased` wait always did.
    pub(crate) fn poll_io(
        &mut self,
        cx: &mut Context<'_>,
        write: &[u8],
        can_read: bool,
        read_buf: &mut BytesMut,
    ) -> Poll<Io> {
        match self {
            Stream::Tcp(tcp) => {
                if !write.is_empty() {
                    if let Poll::Ready(written) = poll_write_some(tcp, write, cx) {
                        return Poll::Ready(Io::Written(written));
                    }
                }
                if can_read {
                    if let Poll::Ready(ready) = tcp.poll_read_ready(cx) {
                        return Poll::Ready(Io::Readable(ready));
                    }
                }
                Poll::Pending
            }
            Stream::Tls(tls) => tls.poll_io(cx, write, can_read, read_buf),
            Stream::Ws(ws) => ws.poll_io(cx, write, can_read, read_buf),
            Stream::Served(io) => io.poll_io(cx, write, can_read, read_buf),
        }
    }

    /// Whether [`poll_io`](Self::poll_io) has a flush to finish even with nothing to write.
    pub(crate) fn unflushed(&self) -> bool {
        match self {
            Stream::Tcp(_) => false,
            Stream::Tls(tls) => tls.unflushed,
            Stream::Ws(ws) => ws.unflushed,
            Stream::Served(io) => io.unflushed,
        }
    }

    /// Reads what the stream has now into `buf`, without waiting: the bytes read, 0 at the
    /// end of the stream, `WouldBlock` when there is nothing.
    pub(crate) fn try_read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Stream::Tcp(tcp) => tcp.try_read_buf(buf),
            Stream::Tls(tls) => tls.try_read_buf(buf),
            Stream::Ws(ws) => ws.try_read_buf(buf),
            Stream::Served(io) => io.try_read_buf(buf),
        }
    }

    /// The TLS client's end-entity certificate (DER), when it presented one.
    pub(crate) fn peer_certificate(&self) -> Option<&[u8]> {
        match self {
            Stream::Tcp(_) | Stream::Served(_) => None,
            Stream::Tls(tls) => tls
                .io
                .get_ref()
                .1
                .peer_certificates()
                .and_then(<[_]>::first)
                .map(|cert| cert.as_ref()),
            Stream::Ws(ws) => ws.io.get_ref().peer_certificate(),
        }
    }

    /// The TCP socket under the stream, if it has one.
    fn tcp_mut(&mut self) -> Option<&mut TcpStream> {
        match self {
            Stream::Tcp(tcp) => Some(tcp),
            Stream::Tls(tls) => tls.io.get_mut().0.tcp_mut(),
            Stream::Ws(ws) => ws.io.get_mut().tcp_mut(),
            Stream::Served(_) => None,
        }
    }
}

/// Writes what the socket takes now of `buf`, waiting for it to be writable.
fn poll_write_some(
    stream: &TcpStream,
    buf: &[u8],
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    loop {
        std::task::ready!(stream.poll_write_ready(cx))?;
        match stream.try_write(buf) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            other => return Poll::Ready(other),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(&mut tls.io).poll_read(cx, buf),
            Stream::Ws(ws) => Pin::new(&mut ws.io).poll_read(cx, buf),
            Stream::Served(io) => Pin::new(&mut io.io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(&mut tls.io).poll_write(cx, buf),
            Stream::Ws(ws) => Pin::new(&mut ws.io).poll_write(cx, buf),
            Stream::Served(io) => Pin::new(&mut io.io).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(&mut tls.io).poll_flush(cx),
            Stream::Ws(ws) => Pin::new(&mut ws.io).poll_flush(cx),
            Stream::Served(io) => Pin::new(&mut io.io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(&mut tls.io).poll_shutdown(cx),
            Stream::Ws(ws) => Pin::new(&mut ws.io).poll_shutdown(cx),
            Stream::Served(io) => Pin::new(&mut io.io).poll_shutdown(cx),
        }
    }
}

impl Stream {
    /// Shuts the write side down at once, as the write half of a split socket does when it
    /// is dropped: the client sees the end of the stream (FIN) first. (A TLS stream first
    /// queues its close_notify, sent if the socket takes it at once.) Best effort, never
    /// waits: for a connection's end, before its socket is closed. An embedder's stream is
    /// asked to shut down once; it closes when it is dropped.
    pub(crate) fn shut_down_now(&mut self) {
        let mut cx = Context::from_waker(Waker::noop());
        if !matches!(self, Stream::Tcp(_)) {
            // Best effort: the TLS alert and WebSocket close frame go if there is room.
            let _ = Pin::new(&mut *self).poll_shutdown(&mut cx);
        }
        // A TCP socket's shutdown is immediate: this poll completes it.
        if let Some(tcp) = self.tcp_mut() {
            let _ = Pin::new(tcp).poll_shutdown(&mut cx);
        }
    }

    /// The stream of an embedder's connection.
    pub(crate) fn served(io: impl ServedIo) -> Stream {
        Stream::Served(Buffered::new(Box::new(io)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain TCP connections pay nothing for the other transports: the enum fits in the
    /// `TcpStream`'s own niche.
    #[test]
    fn a_stream_is_no_bigger_than_a_tcp_stream() {
        assert_eq!(
            std::mem::size_of::<Stream>(),
            std::mem::size_of::<TcpStream>()
        );
    }
}
