//! One task per peer: drains the peer's outbox into [`ClusterLink::forward`], in order, off
//! the publish path. While the link waits, the outbox fills up to its bound and its overflow
//! policy acts, as for a slow client.

use std::sync::Arc;

use crate::cluster::{ClusterLink, Forwarded, PeerName};
use crate::runtime::clock::now;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::routing;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;

/// Messages handed to the link per call at most.
const BATCH: usize = 64;

/// Forwards what `outbox` receives to `peer` until the broker stops.
pub(crate) async fn run(
    shared: Arc<Shared>,
    link: Arc<dyn ClusterLink>,
    peer: PeerName,
    outbox: Arc<Mailbox>,
    _guard: TaskGuard,
) {
    let mut run_state = shared.watch_run_state();
    let mut expired = Vec::new();
    loop {
        if *run_state.borrow() == RunState::Stopped {
            return;
        }
        let batch = take_batch(&outbox, &mut expired);
        for dropped in expired.drain(..) {
            routing::log_drop(&shared, &outbox, &dropped);
        }
        if batch.is_empty() {
            tokio::select! {
                () = outbox.notified() => {}
                changed = run_state.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            continue;
        }
        if let Err(error) = link.forward(&peer, batch).await {
            tracing::warn!(%peer, %error, "Could not forward messages to a peer node.");
        }
    }
}

/// Up to [`BATCH`] messages out of `outbox`, each with the QoS and RETAIN flag of its copy and
/// the shared subscription it was chosen for; copies waiting for room are admitted in their
/// place.
fn take_batch(outbox: &Arc<Mailbox>, expired: &mut Vec<crate::session::Dropped>) -> Vec<Forwarded> {
    let mut batch = Vec::new();
    let mut queue = outbox.lock();
    let now = now();
    while batch.len() < BATCH {
        let Some(queued) = queue.pop(now, expired) else {
            break;
        };
        let mut message = queued.message;
        message.qos = queued.qos;
        message.retain = queued.retain;
        batch.push(match queued.shared {
            Some(group) => Forwarded::for_group(message, group),
            None => Forwarded::new(message),
        });
    }
    if !batch.is_empty() {
        queue.took(now, outbox);
    }
    batch
}
