//! The session of a client identifier that connects on another node: this node closes the
//! connection holding it (v5 DISCONNECT 0x8E) or takes the offline session, and gives the
//! session up with its queued messages ([`surrender`]), for the other node to resume
//! (`ClusterLink::take_over` there).
//!
//! The session leaves this node whole: its subscriptions leave the router (and the peers'
//! routes, through the link), the copies it left in the store are read back into the
//! message list, and its stored record is removed with its queue. Until the new node's
//! routes reach this node, a message published here for the session is not delivered to it
//! (docs/cluster.md, "Takeover across nodes").

use std::sync::Arc;

use crate::cluster::MovedSession;
use crate::runtime::clipped::Clipped;
use crate::runtime::connection::connect::{ending_finished, take_over};
use crate::runtime::persist::read_back;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::routing;
use crate::runtime::state::control::ControlSlot;
use crate::runtime::state::registry::{NeedsSlot, NotClaimed, Prior};
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::DropCause;
use crate::session::QueuedMessage;
use crate::store::StoredSession;
use crate::types::ClientId;

/// Gives up this node's session of `client_id`, live or offline, with the messages queued for
/// it. `None` when this node holds no session of it, or when its connection did not hand the
/// session over in time (the session is ended here then, as a local takeover would).
pub(crate) async fn surrender(shared: &Shared, client_id: &ClientId) -> Option<MovedSession> {
    let registry = shared.registry();
    // Nothing to give up, and nothing claimed: most CONNECTs of a cluster ask for nobody.
    registry.with_session(client_id, |_| ())?;
    // The identifier is claimed as a connection would claim it, by a control slot no
    // connection answers: a CONNECT here meanwhile waits for it, then takes it over.
    let claimant = ControlSlot::new();
    let claim = loop {
        let claimed = registry.claim(
            client_id,
            &claimant,
            true,
            || Mailbox::new(shared.session_config().queue),
            shared.persist(),
            None,
        );
        match claimed {
            Ok(claim) => break claim,
            Err(NotClaimed::Ending) => ending_finished(registry, client_id).await,
            // Not asked for with a clean start; nothing to give up then.
            Err(NotClaimed::NeedsSlot) => return None,
        }
    };
    let mailbox = claim.mailbox;
    let session = match claim.prior {
        Prior::Nobody => {
            registry.release(client_id, &claimant);
            return None;
        }
        Prior::Online(control) => take_over(control).await,
        Prior::Offline(offline) => {
            let expiry = registry
                .with_session(client_id, |entry| entry.stored_expiry())
                .flatten()
                .unwrap_or(u32::MAX);
            // Resumed elsewhere: a will still waiting is not published ([MQTT-3.1.3-9]).
            Some(StoredSession::from_state(&offline.resume(), expiry, None))
        }
    };
    routing::remove_all_subscriptions(shared, &mailbox);
    let queued = if session.is_some() {
        take_queue(shared, client_id, &mailbox).await
    } else {
        tracing::warn!(
            "Client {}: its connection did not hand its session over in time; ended here.",
            Clipped(client_id)
        );
        mailbox.clear();
        Vec::new()
    };
    end_here(shared, client_id, &claimant).await;
    let session = session?;
    tracing::debug!(
        "Client {}: its session is given up to another node.",
        Clipped(client_id)
    );
    Some(MovedSession::new(session, queued))
}

/// Every message queued in `mailbox`, the copies it left in the store read back first.
async fn take_queue(
    shared: &Shared,
    client_id: &ClientId,
    mailbox: &Arc<Mailbox>,
) -> Vec<QueuedMessage> {
    if !mailbox.lock().all_spilled().is_empty() {
        let store = shared.persist().shared_store();
        match read_back::all(store, client_id, mailbox).await {
            Ok(missing) => shared
                .stats()
                .dropped_many(DropCause::NotInStore, missing as u64),
            Err(error) => tracing::warn!(
                "Client {}: could not read its queued messages back from the session store ({error}); they stay behind.",
                Clipped(client_id)
            ),
        }
    }
    mailbox.take_all()
}

/// Removes the session from this node: its registry entry, and its stored record with the
/// copies stored for it.
async fn end_here(shared: &Shared, client_id: &ClientId, claimant: &Arc<ControlSlot>) {
    let (registry, persist) = (shared.registry(), shared.persist());
    let mut slot = None;
    let removal = loop {
        match registry.end(client_id, claimant, persist, slot.take()) {
            Ok(removal) => break removal,
            Err(NeedsSlot) => slot = persist.reserve().await,
        }
    };
    if let Some(removal) = removal {
        // Nothing handed to other members (the session goes on elsewhere), so nothing can
        // come back to queue.
        let _nothing = removal.send(Vec::new());
    }
}
