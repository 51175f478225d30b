//! The queue a session brings from another node ([`MovedSession`]): placed in its new
//! mailbox here, through the store when the session is durable on this node.
//!
//! [`MovedSession`]: crate::cluster::MovedSession

use std::sync::Arc;

use crate::runtime::clock::now;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::routing;
use crate::runtime::state::shared::Shared;
use crate::session::QueuedMessage;
use crate::types::QoS;

/// Queues `queued`, the messages a session brought from the node that held it, in
/// `mailbox`. When the session is `durable` here, its QoS 1 and 2 copies go to the store
/// first, as every copy for a persistent session does ([`routing::place_durable`]), ahead of
/// any message routed to the session after this call; its QoS 0 copies never touch the disk
/// and are queued at once (so they may pass QoS 1 and 2 copies the store has not taken yet).
pub(crate) async fn place_queue(
    shared: &Shared,
    mailbox: &Arc<Mailbox>,
    queued: Vec<QueuedMessage>,
    durable: bool,
) {
    let now = now();
    if !durable {
        for copy in queued {
            routing::push(shared, mailbox, copy, now);
        }
        return;
    }
    let (at_most_once, stored): (Vec<_>, Vec<_>) = queued
        .into_iter()
        .partition(|copy| copy.qos == QoS::AtMostOnce);
    if !stored.is_empty() {
        let copies = stored
            .into_iter()
            .map(|copy| (Arc::clone(mailbox), copy))
            .collect();
        let slot = shared.persist().reserve().await;
        routing::place_durable(shared, slot, copies, None, now);
    }
    for copy in at_most_once {
        routing::push(shared, mailbox, copy, now);
    }
}
