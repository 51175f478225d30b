//! One task per peer: keeps this node's route stream to the peer open. Each connection says
//! hello (the peer checks the cluster id and its name, this node checks the answer), opens
//! the stream, sends what the peer's cursor lacks (changes, or a snapshot), then each change
//! as it happens, while a reader records the peer's acknowledgements in its
//! [`PeerStatus`]. A lost or refused connection is retried with a growing backoff until the
//! node stops (or discovery drops the peer), and its error kept for `skein cluster status`.

use std::sync::Arc;
use std::time::Duration;

use broker_core::BrokerHandle;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::Streaming;

use broker_core::clock::{Clock as _, TokioClock};

use crate::cursor::{Change, Cursor, RouteOp};
use crate::incarnation::Incarnation;
use crate::link_state::LinkState;
use crate::own_routes::CatchUp;
use crate::peer::{Attempt, Peer};
use crate::peer_status::{PeerStatus, StreamState};
use crate::proto::cluster_client::ClusterClient;
use crate::proto::route_delta::Op;
use crate::proto::route_frame::Frame;
use crate::proto::route_reply::Reply;
use crate::proto::{HelloRequest, RetainedDelta, RouteDelta, RouteFrame, RouteReply};
use crate::snapshot_parts::{snapshot_parts, PART_BYTES};
use crate::wire_retained::retained_to_wire;

/// The first wait before a new attempt, doubled after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Frames sent ahead of the peer's reading.
const FRAME_BUFFER: usize = 64;

/// Why a connection to a peer ended.
#[derive(Debug, Error)]
enum StreamError {
    /// The RPC failed or was refused.
    #[error("{0}")]
    Rpc(#[from] tonic::Status),
    /// Someone else answered at the peer's address.
    #[error("the node at this address is {0:?}, not the configured peer")]
    WrongNode(String),
    /// The peer broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// The peer stopped reading.
    #[error("the peer closed the stream")]
    Closed,
}

/// Keeps the route stream to `peer` open until the node stops or discovery drops the peer,
/// and tells the broker (`handle`) whether the peer is reachable: a shared subscription's
/// group picks a member on a peer only while its stream is up.
pub(crate) async fn run(state: Arc<LinkState>, peer: Arc<Peer>, handle: BrokerHandle) {
    let name = &peer.config.name;
    let reachable = |up: bool| handle.set_peer_reachable(&name.to_peer(), up);
    reachable(false);
    let mut shutdown = state.shutdown.subscribe();
    let mut removed = peer.removed.subscribe();
    let mut backoff = FIRST_BACKOFF;
    let mut last_error = String::new();
    let connected = metrics::gauge!("skein_cluster_peer_connected", "peer" => name.to_string());
    while !state.is_shut_down() && !peer.is_removed() {
        let outcome = tokio::select! {
            outcome = connect(&state, &peer, peer.client(), &reachable) => outcome,
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = removed.wait_for(|gone| *gone) => return,
        };
        let synced = peer.status.send_replace(PeerStatus::DOWN).state == StreamState::InSync;
        reachable(false);
        connected.set(0.0);
        let (error, refused) = match outcome {
            Ok(()) => ("the peer ended the stream".to_owned(), false),
            Err(error) => (error.to_string(), error.is_refusal()),
        };
        peer.set_attempt(if refused {
            Attempt::Refused(error.clone())
        } else {
            Attempt::Failed(error.clone())
        });
        if state.config.discovery.is_some() {
            // The peer may have moved or left: discovery looks again.
            state.resolve_now.notify_one();
        }
        if synced {
            tracing::warn!(peer = %name, %error, "Lost the route stream to a peer node; reconnecting.");
            backoff = FIRST_BACKOFF;
        } else if error != last_error {
            tracing::warn!(peer = %name, address = %peer.config.address, %error, "Cannot reach a peer node; retrying.");
        } else {
            tracing::debug!(peer = %name, %error, "Still cannot reach a peer node.");
        }
        last_error = error;
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
            _ = removed.wait_for(|gone| *gone) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection: hello, open, catch up, then follow this node's changes.
async fn connect(
    state: &LinkState,
    peer: &Peer,
    mut client: ClusterClient<Channel>,
    reachable: &impl Fn(bool) -> bool,
) -> Result<(), StreamError> {
    let name = &peer.config.name;
    let header = state.membership.header(name);
    let hello = client
        .hello(HelloRequest {
            header: Some(header.clone()),
        })
        .await?
        .into_inner();
    if hello.node != name.as_str() {
        return Err(StreamError::WrongNode(hello.node));
    }
    peer.set_incarnation(hello.incarnation);
    let (frames, outgoing) = mpsc::channel(FRAME_BUFFER);
    let open = RouteFrame {
        frame: Some(Frame::Open(header)),
    };
    frames.send(open).await.map_err(|_| StreamError::Closed)?;
    let mut replies = client
        .routes(ReceiverStream::new(outgoing))
        .await?
        .into_inner();
    let mine = state.membership.incarnation();
    let recorded = match replies.message().await? {
        Some(RouteReply {
            reply: Some(Reply::Recorded(cursor)),
        }) => Some(Cursor {
            incarnation: Incarnation::from_wire(cursor.incarnation),
            seq: cursor.seq,
        })
        .filter(|c| c.incarnation == mine && c.seq > 0),
        _ => return Err(StreamError::Protocol("no cursor in answer to open")),
    };
    let mut own = state.watch_own();
    own.mark_unchanged();
    let (catch_up, target) = state.catch_up(recorded);
    let acked = recorded.map_or(0, |c| c.seq);
    peer.status.send_replace(PeerStatus {
        state: state_for(acked, target),
        acked,
    });
    send(&frames, mine, catch_up).await?;
    reachable(true);
    tracing::info!(peer = %name, incarnation = hello.incarnation, "Connected to a peer node; streaming routes.");
    metrics::gauge!("skein_cluster_peer_connected", "peer" => name.to_string()).set(1.0);
    let mut reader = tokio::spawn(read_acks(replies, peer.status.clone(), mine, target));
    let mut sent = target;
    loop {
        tokio::select! {
            changed = own.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                let (next, now) = state.catch_up(Some(Cursor { incarnation: mine, seq: sent }));
                send(&frames, mine, next).await?;
                sent = now;
            }
            read = &mut reader => {
                return match read {
                    Ok(outcome) => outcome,
                    Err(_) => Err(StreamError::Closed),
                };
            }
        }
    }
}

impl StreamError {
    /// Whether the peer refused this node (another cluster, another name) rather than
    /// failing to answer.
    fn is_refusal(&self) -> bool {
        match self {
            StreamError::Rpc(status) => matches!(
                status.code(),
                tonic::Code::PermissionDenied | tonic::Code::FailedPrecondition
            ),
            StreamError::WrongNode(_) => true,
            StreamError::Protocol(_) | StreamError::Closed => false,
        }
    }
}

/// In sync once the peer has acknowledged `target`.
fn state_for(acked: u64, target: u64) -> StreamState {
    if acked >= target {
        StreamState::InSync
    } else {
        StreamState::CatchingUp
    }
}

/// Sends `catch_up` as frames of run `mine` (a snapshot in parts of bounded size). A retained message that expired meanwhile (so
/// did the peers' copies) is left out of a snapshot, and its delta carries no entry: the peer
/// only moves its cursor.
async fn send(
    frames: &mpsc::Sender<RouteFrame>,
    mine: Incarnation,
    catch_up: CatchUp,
) -> Result<(), StreamError> {
    let now = TokioClock.now();
    let out: Vec<Frame> = match catch_up {
        CatchUp::Snapshot {
            seq,
            filters,
            retained,
        } => snapshot_parts(
            mine.get(),
            seq,
            filters,
            retained
                .iter()
                .filter_map(|change| retained_to_wire(change, now))
                .collect(),
            PART_BYTES,
        )
        .into_iter()
        .map(Frame::Snapshot)
        .collect(),
        CatchUp::Changes(changes) => changes
            .into_iter()
            .map(|change| match change {
                Change::Route(change) => {
                    let op = match change.op {
                        RouteOp::Add => Op::Add,
                        RouteOp::Remove => Op::Remove,
                    };
                    Frame::Delta(RouteDelta {
                        incarnation: mine.get(),
                        seq: change.seq,
                        op: op.into(),
                        filter: change.filter,
                    })
                }
                Change::Retained(entry) => Frame::Retained(RetainedDelta {
                    incarnation: mine.get(),
                    seq: entry.seq,
                    entry: entry
                        .change
                        .as_ref()
                        .and_then(|change| retained_to_wire(change, now)),
                }),
            })
            .collect(),
    };
    for frame in out {
        frames
            .send(RouteFrame { frame: Some(frame) })
            .await
            .map_err(|_| StreamError::Closed)?;
    }
    Ok(())
}

/// Records the peer's acknowledgements in `status` until the stream ends; in sync from the
/// acknowledgement of `target` on.
async fn read_acks(
    mut replies: Streaming<RouteReply>,
    status: watch::Sender<PeerStatus>,
    mine: Incarnation,
    target: u64,
) -> Result<(), StreamError> {
    loop {
        match replies.message().await? {
            Some(RouteReply {
                reply: Some(Reply::Ack(cursor)),
            }) if cursor.incarnation == mine.get() => {
                status.send_modify(|s| {
                    s.acked = s.acked.max(cursor.seq);
                    if s.acked >= target {
                        s.state = StreamState::InSync;
                    }
                });
            }
            Some(_) => return Err(StreamError::Protocol("unexpected route reply")),
            None => return Ok(()),
        }
    }
}
