//! One task per peer: drains the peer's outbox into [`ClusterLink::forward`], in order, off
//! the publish path. While the link waits, the outbox fills up to its bound and its overflow
//! policy acts, as for a slow client.

use std::sync::Arc;

use tokio::sync::watch;

use crate::cluster::{ClusterLink, Forwarded};
use crate::runtime::clock::now;
use crate::runtime::cluster::node_link::NewOutbox;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::routing;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;

/// Messages handed to the link per call at most.
const BATCH: usize = 64;

/// Starts the task that drains `outbox` into `link`.
pub(crate) fn spawn(shared: &Arc<Shared>, link: &Arc<dyn ClusterLink>, outbox: NewOutbox) {
    let guard = shared.background_tasks().guard();
    tokio::spawn(run(Arc::clone(shared), Arc::clone(link), outbox, guard));
}

/// Forwards what the outbox receives to its peer until the broker stops or the peer is
/// removed (what the outbox still holds then is dropped).
async fn run(
    shared: Arc<Shared>,
    link: Arc<dyn ClusterLink>,
    outbox: NewOutbox,
    _guard: TaskGuard,
) {
    let NewOutbox {
        peer,
        mailbox: outbox,
        mut removed,
    } = outbox;
    let mut run_state = shared.watch_run_state();
    let mut expired = Vec::new();
    loop {
        if *run_state.borrow() == RunState::Stopped {
            return;
        }
        if *removed.borrow() {
            outbox.clear();
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
                () = wait_removed(&mut removed) => {
                    outbox.clear();
                    return;
                }
            }
            continue;
        }
        if let Err(error) = link.forward(&peer, batch).await {
            tracing::warn!(%peer, %error, "Could not forward messages to a peer node.");
        }
    }
}

/// Resolves once the peer is removed (or its node link is gone, which removes it too).
async fn wait_removed(removed: &mut watch::Receiver<bool>) {
    let _ = removed.wait_for(|gone| *gone).await;
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
