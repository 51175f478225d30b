//! The handshakes a connection does before it speaks MQTT, in the connection's own task: the
//! PROXY protocol header on a listener behind a load balancer (the client's address), the
//! TLS handshake (client certificate verified there), then the WebSocket upgrade (over TCP or
//! TLS). The same for a TCP connection the broker accepted and for a stream an embedder
//! handed over ([`BrokerHandle::serve_stream`](crate::BrokerHandle::serve_stream)): each
//! starts as the [`Stream`] it is, and TLS and WebSocket wrap it.
//!
//! Both together are bounded by the connect timeout (the time a new connection has to send
//! its CONNECT), and given up when the broker stops. A connection that fails is closed and
//! logged; it was never an MQTT client, so the session is not involved.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::runtime::connection::serve;
use crate::runtime::listener::proxy_header;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::transport::listener::Listener;
use crate::runtime::transport::stream::{Buffered, Stream};
use crate::runtime::transport::ws::{self, UpgradeCheck, WsStream};

/// Does the handshakes of one new connection (`stream`: a TCP connection or an embedder's
/// stream, from `peer` if it has an address), then serves it until it closes.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: Stream,
    peer: Option<SocketAddr>,
    listener: Arc<Listener>,
    guard: TaskGuard,
) {
    // Boxed: the handshake's state is large and needed once; the connection's task should
    // not keep room for it for the connection's whole life.
    let handshake = Box::pin(handshake(&shared, stream, peer, &listener)).await;
    if let Some((stream, peer)) = handshake {
        serve::serve(shared, stream, peer, listener, guard).await;
    }
}

/// The stream after the listener's handshakes, and the client's address (the PROXY header's,
/// if the listener reads one); `None` when they failed, took longer than the connect
/// timeout, or the broker stopped meanwhile (each logged).
async fn handshake(
    shared: &Shared,
    stream: Stream,
    peer: Option<SocketAddr>,
    listener: &Listener,
) -> Option<(Stream, Option<SocketAddr>)> {
    let limit = shared.session_config().connect_timeout;
    let mut run_state = shared.watch_run_state();
    tokio::select! {
        done = tokio::time::timeout(limit, handshakes(shared, stream, peer, listener)) => match done {
            Ok(stream) => stream,
            Err(_) => {
                tracing::info!(
                    "Client connection {} failed: no {} handshake within {} s.",
                    Origin(peer, listener),
                    what(listener),
                    limit.as_secs()
                );
                None
            }
        },
        _ = run_state.wait_for(|state| *state != RunState::Running) => None,
    }
}

/// "TLS", "WebSocket", "TLS and WebSocket" or "PROXY", for the log.
fn what(listener: &Listener) -> &'static str {
    match (
        listener.has_tls(),
        listener.config.transport.websocket_path(),
    ) {
        (true, Some(_)) => "TLS and WebSocket",
        (true, None) => "TLS",
        (false, Some(_)) => "WebSocket",
        (false, None) => "PROXY",
    }
}

/// Where a connection comes from, for the log: `from 192.0.2.7:50000`, or for an embedder's
/// stream without an address `on listener local`.
struct Origin<'a>(Option<SocketAddr>, &'a Listener);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(peer) => write!(f, "from {}:{}", peer.ip(), peer.port()),
            None => write!(f, "on listener {}", self.1.name),
        }
    }
}

async fn handshakes(
    shared: &Shared,
    mut stream: Stream,
    mut peer: Option<SocketAddr>,
    listener: &Listener,
) -> Option<(Stream, Option<SocketAddr>)> {
    if listener.config.proxy_protocol {
        match proxy_header::read(&mut stream).await {
            Ok(Some(client)) => {
                tracing::info!(
                    "Connection {} is client {}:{} (PROXY header).",
                    Origin(peer, listener),
                    client.ip(),
                    client.port()
                );
                peer = Some(client);
            }
            // The header names no client: the connection's own address stands.
            Ok(None) => {}
            Err(error) => {
                tracing::info!(
                    "Client connection {} failed: {error}.",
                    Origin(peer, listener)
                );
                return None;
            }
        }
    }
    if let Some(acceptor) = listener.tls_acceptor() {
        match acceptor.accept(stream).await {
            Ok(tls) => stream = Stream::Tls(Buffered::new(tls)),
            Err(error) => {
                tracing::info!(
                    "Client connection {} failed: TLS handshake: {error}.",
                    Origin(peer, listener)
                );
                return None;
            }
        }
    }
    if let Some(path) = listener.config.transport.websocket_path() {
        let config = ws::config(shared.session_config().decoder_limit());
        let check = UpgradeCheck { path };
        match tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await {
            Ok(ws) => stream = Stream::Ws(Buffered::new(WsStream::new(ws))),
            Err(error) => {
                tracing::info!(
                    "Client connection {} failed: WebSocket handshake: {error}.",
                    Origin(peer, listener)
                );
                return None;
            }
        }
    }
    Some((stream, peer))
}
