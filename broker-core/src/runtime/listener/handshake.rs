//! The handshakes a connection does before it speaks MQTT, in the connection's own task: the
//! PROXY protocol header on a listener behind a load balancer (the client's address), the
//! TLS handshake (client certificate verified there), then the WebSocket upgrade (over TCP or
//! TLS).
//!
//! Both together are bounded by the connect timeout (the time a new connection has to send
//! its CONNECT), and given up when the broker stops. A connection that fails is closed and
//! logged; it was never an MQTT client, so the session is not involved.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpStream;

use crate::runtime::connection::serve;
use crate::runtime::listener::proxy_header;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::transport::listener::Listener;
use crate::runtime::transport::stream::{Buffered, Stream};
use crate::runtime::transport::ws::{self, UpgradeCheck, WsStream};

/// Does the handshakes of one accepted connection, then serves it until it closes.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    listener: Arc<Listener>,
    guard: TaskGuard,
) {
    // Boxed: the handshake's state is large and needed once; the connection's task should
    // not keep room for it for the connection's whole life.
    let handshake = Box::pin(handshake(&shared, tcp, peer, &listener)).await;
    if let Some((stream, peer)) = handshake {
        serve::serve(shared, stream, Some(peer), listener, guard).await;
    }
}

/// The stream after the listener's handshakes, and the client's address (the PROXY header's,
/// if the listener reads one); `None` when they failed, took longer than the connect
/// timeout, or the broker stopped meanwhile (each logged).
async fn handshake(
    shared: &Shared,
    tcp: TcpStream,
    peer: SocketAddr,
    listener: &Listener,
) -> Option<(Stream, SocketAddr)> {
    let limit = shared.session_config().connect_timeout;
    let mut run_state = shared.watch_run_state();
    tokio::select! {
        done = tokio::time::timeout(limit, handshakes(shared, tcp, peer, listener)) => match done {
            Ok(stream) => stream,
            Err(_) => {
                tracing::info!(
                    "Client connection from {}:{} failed: no {} handshake within {} s.",
                    peer.ip(),
                    peer.port(),
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

async fn handshakes(
    shared: &Shared,
    mut tcp: TcpStream,
    mut peer: SocketAddr,
    listener: &Listener,
) -> Option<(Stream, SocketAddr)> {
    if listener.config.proxy_protocol {
        match proxy_header::read(&mut tcp, peer).await {
            Ok(client) => {
                tracing::info!(
                    "Connection from {}:{} is client {}:{} (PROXY header).",
                    peer.ip(),
                    peer.port(),
                    client.ip(),
                    client.port()
                );
                peer = client;
            }
            Err(error) => {
                tracing::info!(
                    "Client connection from {}:{} failed: {error}.",
                    peer.ip(),
                    peer.port()
                );
                return None;
            }
        }
    }
    let mut stream = match listener.tls_acceptor() {
        None => Stream::Tcp(tcp),
        Some(acceptor) => match acceptor.accept(tcp).await {
            Ok(tls) => Stream::Tls(Buffered::new(tls)),
            Err(error) => {
                tracing::info!(
                    "Client connection from {}:{} failed: TLS handshake: {error}.",
                    peer.ip(),
                    peer.port()
                );
                return None;
            }
        },
    };
    if let Some(path) = listener.config.transport.websocket_path() {
        let config = ws::config(shared.session_config().decoder_limit());
        let check = UpgradeCheck { path };
        match tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)).await {
            Ok(ws) => stream = Stream::Ws(Buffered::new(WsStream::new(ws))),
            Err(error) => {
                tracing::info!(
                    "Client connection from {}:{} failed: WebSocket handshake: {error}.",
                    peer.ip(),
                    peer.port()
                );
                return None;
            }
        }
    }
    Some((stream, peer))
}
