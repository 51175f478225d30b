//! [`ClusterService`]: the gRPC server a node runs for its peers. It checks every request's
//! header ([`Membership::check`](crate::membership::Membership::check)), records the
//! peers' routes in the local router through the broker's handle, offers their retained
//! changes to the local retained store (which keeps the newer ones), and delivers their
//! forwarded messages to the local subscribers.
//!
//! It never sends anything to a peer on its own: what goes out is the per-peer tasks' work.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Instant;

use broker_core::clock::{Clock as _, TokioClock};
use broker_core::cluster::Forwarded;
use broker_core::cluster::RetainedChange;
use broker_core::types::{ClientId, TopicFilter};
use broker_core::BrokerHandle;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::cursor::{Change, RetainedEntry, RouteChange, RouteOp};
use crate::incarnation::Incarnation;
use crate::link_state::{Copies, LinkState};
use crate::membership::Sender;
use crate::node_name::NodeName;
use crate::peer_routes::{PeerRoutes, RouteStreamError, RouterChanges};
use crate::proto::cluster_server::Cluster;
use crate::proto::route_delta::Op;
use crate::proto::route_frame::Frame;
use crate::proto::route_reply::Reply;
use crate::proto::{
    Cursor as WireCursor, ForwardAck, ForwardBatch, HelloReply, HelloRequest,
    RetainedEntry as WireRetained, RouteFrame, RouteReply, TakeOverReply, TakeOverRequest,
};
use crate::wire_message::{from_wire, shared_group_from_wire};
use crate::wire_retained::retained_from_wire;
use crate::wire_session;

/// Replies a route stream buffers before its reader waits for the peer to take them.
const REPLY_BUFFER: usize = 64;

/// The server side of the cluster protocol.
#[derive(Debug)]
pub(crate) struct ClusterService {
    state: Arc<LinkState>,
    handle: BrokerHandle,
    copies: Copies,
}

impl ClusterService {
    pub(crate) fn new(state: Arc<LinkState>, handle: BrokerHandle) -> Self {
        ClusterService {
            copies: Arc::clone(&state.copies),
            state,
            handle,
        }
    }
}

fn lock(copies: &Copies) -> MutexGuard<'_, HashMap<NodeName, PeerRoutes>> {
    copies.lock().unwrap_or_else(PoisonError::into_inner)
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn hello(&self, request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let header = request.into_inner().header;
        self.state.membership.check_hello(header.as_ref())?;
        Ok(Response::new(HelloReply {
            node: self.state.membership.node().as_str().to_owned(),
            incarnation: self.state.membership.incarnation().get(),
        }))
    }

    type RoutesStream = ReceiverStream<Result<RouteReply, Status>>;

    async fn routes(
        &self,
        request: Request<Streaming<RouteFrame>>,
    ) -> Result<Response<Self::RoutesStream>, Status> {
        let mut frames = request.into_inner();
        let Some(Frame::Open(header)) = frames.message().await?.and_then(|f| f.frame) else {
            return Err(Status::invalid_argument(
                "a route stream opens with a header",
            ));
        };
        let sender = self.state.membership.check("Routes", Some(&header))?;
        let recorded = {
            let mut copies = lock(&self.copies);
            let copy = copies.entry(sender.node.clone()).or_default();
            let (recorded, dropped) = copy
                .open(sender.incarnation)
                .map_err(|error| refuse_stream(&sender, &error))?;
            if !dropped.remove.is_empty() {
                tracing::info!(
                    peer = %sender.node,
                    incarnation = %sender.incarnation,
                    routes = dropped.remove.len(),
                    "A peer restarted: the routes of its previous run are dropped."
                );
            }
            apply(&self.handle, &sender.node, dropped);
            recorded
        };
        let (replies, rx) = mpsc::channel(REPLY_BUFFER);
        let opened = RouteReply {
            reply: Some(Reply::Recorded(WireCursor {
                incarnation: sender.incarnation.get(),
                seq: recorded.map_or(0, |c| c.seq),
            })),
        };
        if replies.try_send(Ok(opened)).is_err() {
            return Err(Status::internal("route stream reply lost"));
        }
        let state = Arc::clone(&self.state);
        let handle = self.handle.clone();
        let mut stopping = self.state.shutdown.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                () = record_routes(state, handle, sender, frames, replies) => {}
                _ = stopping.wait_for(|stop| *stop) => {}
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    type ForwardStream = ReceiverStream<Result<ForwardAck, Status>>;

    async fn forward(
        &self,
        request: Request<Streaming<ForwardBatch>>,
    ) -> Result<Response<Self::ForwardStream>, Status> {
        let batches = request.into_inner();
        // Room for the answers of a sender's whole credit.
        let (answers, rx) = mpsc::channel(crate::forward_stream::CREDIT + 1);
        let (state, handle) = (Arc::clone(&self.state), self.handle.clone());
        let mut stopping = self.state.shutdown.subscribe();
        tokio::spawn(async move {
            tokio::select! {
                () = deliver_batches(&state, &handle, batches, answers) => {}
                _ = stopping.wait_for(|stop| *stop) => {}
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn take_over(
        &self,
        request: Request<TakeOverRequest>,
    ) -> Result<Response<TakeOverReply>, Status> {
        let request = request.into_inner();
        let sender = self
            .state
            .membership
            .check("TakeOver", request.header.as_ref())?;
        let client_id = ClientId::new(&request.client_id)
            .map_err(|error| Status::invalid_argument(format!("invalid client id: {error}")))?;
        let moved = self
            .handle
            .hand_over_session(&client_id)
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        let Some(moved) = moved else {
            return Ok(Response::new(TakeOverReply { session: None }));
        };
        tracing::info!(
            peer = %sender.node,
            "Client {} connected to node {}: its session moves there.",
            client_id.as_str().escape_debug(),
            sender.node
        );
        match wire_session::to_wire(&moved, TokioClock.now()) {
            Ok(wire) => {
                metrics::counter!("skein_cluster_sessions_handed_over_total", "peer" => sender.node.to_string())
                    .increment(1);
                Ok(Response::new(TakeOverReply {
                    session: Some(wire),
                }))
            }
            Err(error) => {
                // Given up here and not sendable: the session is lost, and said so.
                tracing::warn!(
                    peer = %sender.node,
                    %error,
                    "Client {}: its session could not be encoded for the node it moved to; it starts afresh there.",
                    client_id.as_str().escape_debug()
                );
                Ok(Response::new(TakeOverReply { session: None }))
            }
        }
    }
}

/// Delivers the batches of a peer's forward stream in order, answering each once its
/// messages are in the local subscribers' queues, until the stream ends or a batch is refused
/// (a header that does not check, the broker shutting down): the stream then ends with that
/// status, and the peer counts what it had in flight as lost.
async fn deliver_batches(
    state: &LinkState,
    handle: &BrokerHandle,
    mut batches: Streaming<ForwardBatch>,
    answers: mpsc::Sender<Result<ForwardAck, Status>>,
) {
    loop {
        let batch = match batches.message().await {
            Ok(Some(batch)) => batch,
            Ok(None) | Err(_) => return,
        };
        let answer = deliver(state, handle, batch).await;
        let failed = answer.is_err();
        if answers.send(answer).await.is_err() || failed {
            return;
        }
    }
}

/// Delivers one batch of forwarded messages to the local subscribers; invalid messages are
/// dropped and counted.
async fn deliver(
    state: &LinkState,
    handle: &BrokerHandle,
    batch: ForwardBatch,
) -> Result<ForwardAck, Status> {
    let sender = state.membership.check("Forward", batch.header.as_ref())?;
    let now = TokioClock.now();
    let mut valid = Vec::with_capacity(batch.messages.len());
    for mut wire in batch.messages {
        let group = shared_group_from_wire(wire.shared_group.take());
        match group.and_then(|group| Ok((from_wire(wire, now)?, group))) {
            Ok((message, None)) => valid.push(Forwarded::new(message)),
            Ok((message, Some(group))) => valid.push(Forwarded::for_group(message, group)),
            Err(error) => {
                tracing::warn!(peer = %sender.node, %error, "Dropped a forwarded message.");
                metrics::counter!("skein_cluster_received_invalid_total", "peer" => sender.node.to_string())
                    .increment(1);
            }
        }
    }
    handle
        .publish_from_peer(&valid)
        .await
        .map_err(|error| Status::unavailable(error.to_string()))?;
    let accepted = u32::try_from(valid.len()).unwrap_or(u32::MAX);
    metrics::counter!("skein_cluster_received_messages_total", "peer" => sender.node.to_string())
        .increment(u64::from(accepted));
    Ok(ForwardAck { accepted })
}

/// Records what a peer's route stream brings, acknowledging each frame once its routes are
/// in the router and its retained changes offered to the retained store, until it ends.
async fn record_routes(
    state: Arc<LinkState>,
    handle: BrokerHandle,
    sender: Sender,
    mut frames: Streaming<RouteFrame>,
    replies: mpsc::Sender<Result<RouteReply, Status>>,
) {
    let copies = &state.copies;
    loop {
        let frame = match frames.message().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return,
            Err(status) => {
                tracing::debug!(peer = %sender.node, %status, "A peer's route stream ended.");
                return;
            }
        };
        let ack = match record(copies, &handle, &sender, frame) {
            Ok((recorded, retained)) => {
                if apply_retained(&state, &handle, &sender, retained)
                    .await
                    .is_err()
                {
                    return;
                }
                RouteReply {
                    reply: Some(Reply::Ack(recorded)),
                }
            }
            Err(status) => {
                let _ = replies.send(Err(status)).await;
                return;
            }
        };
        if replies.send(Ok(ack)).await.is_err() {
            return;
        }
    }
}

/// Records one frame of `sender`'s route stream in its copy and the local router; returns
/// where the copy stands now and the retained changes it brought (checked as a client's
/// PUBLISH would be; an invalid one is dropped and counted), or the status that ends the
/// stream.
fn record(
    copies: &Copies,
    handle: &BrokerHandle,
    sender: &Sender,
    frame: RouteFrame,
) -> Result<(WireCursor, Vec<RetainedChange>), Status> {
    let now = TokioClock.now();
    let mut copies = lock(copies);
    let copy = copies.entry(sender.node.clone()).or_default();
    let outcome = match frame.frame {
        Some(Frame::Snapshot(snapshot)) => {
            let incarnation = Incarnation::from_wire(snapshot.incarnation);
            let retained = snapshot
                .retained
                .into_iter()
                .filter_map(|entry| checked(sender, entry, now))
                .collect();
            if snapshot.continued {
                copy.snapshot_part(incarnation, snapshot.seq, retained)
            } else {
                copy.snapshot(incarnation, snapshot.seq, snapshot.filters, retained)
            }
        }
        Some(Frame::Retained(delta)) => {
            let entry = RetainedEntry {
                seq: delta.seq,
                change: delta.entry.and_then(|entry| checked(sender, entry, now)),
            };
            copy.change(
                Incarnation::from_wire(delta.incarnation),
                Change::Retained(Box::new(entry)),
            )
        }
        Some(Frame::Delta(delta)) => {
            let op = match delta.op() {
                Op::Add => RouteOp::Add,
                Op::Remove => RouteOp::Remove,
            };
            let change = RouteChange {
                seq: delta.seq,
                op,
                filter: delta.filter,
            };
            copy.change(
                Incarnation::from_wire(delta.incarnation),
                Change::Route(change),
            )
        }
        Some(Frame::Open(_)) | None => {
            return Err(Status::invalid_argument("unexpected route frame"));
        }
    };
    let mut changes = outcome.map_err(|error| refuse_stream(sender, &error))?;
    let retained = std::mem::take(&mut changes.retained);
    apply(handle, &sender.node, changes);
    let recorded = copy.recorded();
    let cursor = WireCursor {
        incarnation: recorded.map_or(0, |c| c.incarnation.get()),
        seq: recorded.map_or(0, |c| c.seq),
    };
    Ok((cursor, retained))
}

/// The retained change `entry` carries, or `None` (logged and counted) if a client's PUBLISH
/// like it would be refused.
fn checked(sender: &Sender, entry: WireRetained, now: Instant) -> Option<RetainedChange> {
    retained_from_wire(entry, now)
        .map_err(|error| {
            tracing::warn!(peer = %sender.node, %error, "Dropped a peer's retained change.");
            count_retained(sender, "invalid", 1);
        })
        .ok()
}

/// Offers `sender`'s retained changes to the local retained store, which keeps those newer
/// than what it holds; counts what became of them. `Err` once the broker shuts down.
async fn apply_retained(
    state: &LinkState,
    handle: &BrokerHandle,
    sender: &Sender,
    retained: Vec<RetainedChange>,
) -> Result<(), ()> {
    let (mut applied, mut outdated) = (0, 0);
    for change in retained {
        let (topic, stamp) = (change.topic.clone(), change.stamp.clone());
        match handle.apply_peer_retained(change).await {
            Ok(true) => {
                state.retained_superseded(&topic, &stamp);
                applied += 1;
            }
            Ok(false) => outdated += 1,
            Err(error) => {
                tracing::debug!(peer = %sender.node, %error, "A peer's retained change not applied.");
                return Err(());
            }
        }
    }
    count_retained(sender, "applied", applied);
    count_retained(sender, "outdated", outdated);
    Ok(())
}

/// Counts `count` retained changes from `sender` that met `outcome`.
fn count_retained(sender: &Sender, outcome: &'static str, count: u64) {
    if count > 0 {
        metrics::counter!(
            "skein_cluster_retained_received_total",
            "peer" => sender.node.to_string(),
            "outcome" => outcome
        )
        .increment(count);
    }
}

/// Logs a route stream refused for `error`, and the status that ends it.
fn refuse_stream(sender: &Sender, error: &RouteStreamError) -> Status {
    tracing::warn!(
        peer = %sender.node,
        incarnation = %sender.incarnation,
        %error,
        "Refused a peer's route stream."
    );
    Status::failed_precondition(error.to_string())
}

/// Adds and removes `changes` of `peer`'s routes in the local router.
fn apply(handle: &BrokerHandle, peer: &NodeName, changes: RouterChanges) {
    let name = peer.to_peer();
    for filter in changes.add.iter().filter_map(|f| parse(peer, f)) {
        handle.add_peer_route(&name, &filter);
    }
    for filter in changes.remove.iter().filter_map(|f| parse(peer, f)) {
        handle.remove_peer_route(&name, &filter);
    }
}

fn parse(peer: &NodeName, filter: &str) -> Option<TopicFilter> {
    TopicFilter::new(filter)
        .map_err(|error| tracing::warn!(%peer, filter, %error, "Ignored an invalid route."))
        .ok()
}
