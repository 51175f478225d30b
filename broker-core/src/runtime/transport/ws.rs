//! MQTT over WebSocket (MQTT 5.0 §6, the same for 3.1.1): the HTTP upgrade (path and
//! subprotocol checks) and [`WsStream`], which turns the binary frames of a WebSocket back
//! into the byte stream the connection's decoder reads, and its writes into frames.
//!
//! The packets and the frames are independent: a packet may span frames and a frame may hold
//! several packets [MQTT-6.0.0-2]; the decoder sees only bytes. A text frame ends the
//! connection [MQTT-6.0.0-1]. Pings are answered by tungstenite.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_core::Stream as _;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::handshake::server::{
    Callback, ErrorResponse, Request, Response,
};
use tokio_tungstenite::tungstenite::http::{header, HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// The subprotocols accepted, in order of preference: `mqtt` [MQTT-6.0.0-3], [MQTT-6.0.0-4],
/// and `mqttv3.1`, which older MQTT 3.1 clients ask for (Mosquitto accepts it too).
const SUBPROTOCOLS: [&str; 2] = ["mqtt", "mqttv3.1"];

/// The largest frame the broker sends: a write of more is split.
const MAX_FRAME_OUT: usize = 64 * 1024;

/// Room for packets that share a frame, above the largest packet the broker accepts.
const FRAME_SLACK: usize = 64 * 1024;

/// The WebSocket settings of a listener whose largest accepted MQTT packet is
/// `max_packet_size` bytes: a frame or message holds at most that plus some slack (several
/// packets may share a frame), small read buffers (idle connections stay small) and frames
/// written at once (the connection batches its packets itself).
pub(crate) fn config(max_packet_size: u32) -> WebSocketConfig {
    let limit = usize::try_from(max_packet_size)
        .unwrap_or(usize::MAX)
        .saturating_add(FRAME_SLACK);
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * MAX_FRAME_OUT)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
}

/// The check of the HTTP upgrade request: 404 for a path other than the listener's, 400
/// without an MQTT subprotocol, else the upgrade with `Sec-WebSocket-Protocol` set to the
/// subprotocol chosen.
pub(crate) struct UpgradeCheck<'a> {
    /// The listener's path.
    pub(crate) path: &'a str,
}

impl Callback for UpgradeCheck<'_> {
    fn on_request(
        self,
        request: &Request,
        mut response: Response,
    ) -> Result<Response, ErrorResponse> {
        if request.uri().path() != self.path {
            return Err(refusal(
                StatusCode::NOT_FOUND,
                format!(
                    "Not found: MQTT over WebSocket is served on {}\n",
                    self.path
                ),
            ));
        }
        let offered: Vec<&str> = request
            .headers()
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let Some(chosen) = SUBPROTOCOLS
            .iter()
            .find(|wanted| offered.iter().any(|o| o.eq_ignore_ascii_case(wanted)))
        else {
            return Err(refusal(
                StatusCode::BAD_REQUEST,
                "Bad request: MQTT over WebSocket needs the subprotocol mqtt \
                 (Sec-WebSocket-Protocol: mqtt)\n"
                    .to_owned(),
            ));
        };
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(chosen),
        );
        Ok(response)
    }
}

fn refusal(status: StatusCode, body: String) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(body));
    *response.status_mut() = status;
    response
}

/// A WebSocket as a byte stream: reads give the payloads of binary frames, writes send
/// binary frames.
pub(crate) struct WsStream<S> {
    ws: WebSocketStream<S>,
    /// What is left of the last binary frame read.
    pending: Bytes,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsStream<S> {
    /// Wraps a WebSocket whose handshake is done.
    pub(crate) fn new(ws: WebSocketStream<S>) -> Self {
        WsStream {
            ws,
            pending: Bytes::new(),
        }
    }

    /// The stream under the WebSocket.
    pub(crate) fn get_ref(&self) -> &S {
        self.ws.get_ref()
    }

    /// The stream under the WebSocket.
    pub(crate) fn get_mut(&mut self) -> &mut S {
        self.ws.get_mut()
    }
}

/// A WebSocket error as an I/O error.
fn io_error(error: WsError) -> io::Error {
    match error {
        WsError::Io(error) => error,
        WsError::ConnectionClosed | WsError::AlreadyClosed => io::ErrorKind::BrokenPipe.into(),
        other => io::Error::other(other),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for WsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(this.pending.get(..n).unwrap_or_default());
                this.pending.advance(n);
                return Poll::Ready(Ok(()));
            }
            match std::task::ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                // The end of the stream: the close handshake is done, or the peer is gone.
                None | Some(Ok(Message::Close(_))) => return Poll::Ready(Ok(())),
                Some(Ok(Message::Binary(bytes))) => this.pending = bytes,
                Some(Ok(Message::Text(_))) => {
                    tracing::debug!("A WebSocket text frame: closing [MQTT-6.0.0-1].");
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a WebSocket text frame [MQTT-6.0.0-1]",
                    )));
                }
                // Pings are answered by tungstenite; pongs and raw frames carry nothing.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(error)) => return Poll::Ready(Err(io_error(error))),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(Pin::new(&mut this.ws).poll_ready(cx)).map_err(io_error)?;
        let n = buf.len().min(MAX_FRAME_OUT);
        let frame = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
        Pin::new(&mut this.ws)
            .start_send(Message::Binary(frame))
            .map_err(io_error)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().ws)
            .poll_flush(cx)
            .map_err(io_error)
    }

    /// Sends a close frame, then shuts the stream under it down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(Pin::new(&mut this.ws).poll_close(cx)).map_err(io_error)?;
        Pin::new(this.ws.get_mut()).poll_shutdown(cx)
    }
}
