//! Takeover of a client identifier across nodes, the asking side: a client connects here with
//! an identifier no connection of this node holds, so every peer whose stream is up is asked,
//! at once, to give up its session of it (the `TakeOver` RPC); the one holding it closes its
//! connection and sends the session with its queue.
//!
//! A peer that cannot be reached is not waited for (a node that is down holds no live
//! connection; its sessions are lost with it until the replicated store exists), and a peer
//! that does not answer within [`TAKEOVER_WAIT`] is given up on: the client then starts
//! afresh here, as it would on a lone node whose store lost the session.

use std::time::Duration;

use broker_core::clock::{Clock as _, TokioClock};
use broker_core::cluster::{ClusterError, MovedSession};
use broker_core::types::ClientId;
use tokio::task::JoinSet;

use crate::link_state::LinkState;
use crate::node_name::NodeName;
use crate::peer_status::StreamState;
use crate::proto::TakeOverRequest;
use crate::wire_session;

/// How long a peer has to give a session up: its connection has 5 s to hand the session
/// over (broker-core's hand-over bound), plus the round trip.
pub(crate) const TAKEOVER_WAIT: Duration = Duration::from_secs(6);

/// Asks every reachable peer for its session of `client_id`; the session given up, if any.
pub(crate) async fn ask_peers(
    state: &LinkState,
    client_id: &ClientId,
) -> Result<Option<MovedSession>, ClusterError> {
    let mut asks = JoinSet::new();
    for peer in state.peers() {
        if peer.is_removed() || peer.status.borrow().state == StreamState::Down {
            continue;
        }
        let client = peer.client();
        let name = peer.config.name.clone();
        let request = TakeOverRequest {
            header: Some(state.membership.header(&name)),
            client_id: client_id.as_str().to_owned(),
        };
        asks.spawn(async move {
            let mut client = client;
            let answer = tokio::time::timeout(TAKEOVER_WAIT, client.take_over(request)).await;
            (name, answer)
        });
    }
    let mut found: Option<(NodeName, MovedSession)> = None;
    while let Some(joined) = asks.join_next().await {
        let Ok((peer, answer)) = joined else {
            continue;
        };
        let wire = match answer {
            Ok(Ok(reply)) => reply.into_inner().session,
            Ok(Err(status)) => {
                tracing::warn!(%peer, %status, "Client {}: a peer did not answer the takeover.", clipped(client_id));
                continue;
            }
            Err(_) => {
                tracing::warn!(%peer, "Client {}: a peer did not answer the takeover in time.", clipped(client_id));
                continue;
            }
        };
        let Some(wire) = wire else {
            continue;
        };
        let moved = match wire_session::from_wire(wire, TokioClock.now()) {
            Ok(moved) => moved,
            Err(error) => {
                tracing::warn!(%peer, %error, "Client {}: the session a peer gave up is unusable; it starts afresh.", clipped(client_id));
                continue;
            }
        };
        metrics::counter!("skein_cluster_sessions_taken_over_total", "peer" => peer.to_string())
            .increment(1);
        if let Some((first, _)) = &found {
            // Two nodes held the identifier (connected to both while they were cut off):
            // the first answer wins, and the other session is dropped, said so.
            tracing::warn!(
                %peer,
                "Client {}: node {first} held its session too; the one from {peer} is dropped.",
                clipped(client_id)
            );
            continue;
        }
        found = Some((peer, moved));
    }
    Ok(found.map(|(_, moved)| moved))
}

/// A client identifier as a log line shows it: control characters escaped.
fn clipped(client_id: &ClientId) -> impl std::fmt::Display + '_ {
    client_id.as_str().escape_debug()
}
