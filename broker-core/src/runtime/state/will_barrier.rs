//! A will and the session store: a will that a stored record may hold is published only once
//! the store has taken the write that takes it out of the record (or removes the record), so
//! that a restart after a crash does not publish it a second time (a will leaves the session
//! state once published, [MQTT-3.1.2-10]).
//!
//! The writes themselves are decided elsewhere, under the registry's lock, and go to the
//! store in the order they were made ([`Persist`]); this module only waits for them.
//!
//! # What this module must never do
//!
//! Publish, or change the registry: its caller publishes once it returns.

use tokio::sync::oneshot;

use crate::runtime::clipped::Clipped;
use crate::runtime::persist::handle::{Persist, StoreOp, LOAD_TIMEOUT};
use crate::types::ClientId;

/// Waits until the store task has applied every write handed to it before this call, when
/// the store keeps messages (a durable store: at `sync` the disk store has them on disk by
/// then); returns at once with any other store. `client_id` is the session whose will is
/// about to be published.
///
/// The store task commits every write waiting before it answers a load, so the load of
/// `client_id`'s record is the barrier, and the seam needs no operation of its own for it.
/// Bounded by [`LOAD_TIMEOUT`]. A store that fails, does not answer in time or has stopped is
/// logged, and the caller publishes anyway: the client is gone and its will is due; only a
/// crash before the store recovers could then publish it again.
pub(crate) async fn store_caught_up(persist: &Persist, client_id: &ClientId) {
    if !persist.store().keeps_messages() {
        return;
    }
    let answered = match persist.reserve().await {
        Some(slot) => {
            let (reply, answer) = oneshot::channel();
            slot.send(StoreOp::Load(client_id.clone(), reply));
            matches!(
                tokio::time::timeout(LOAD_TIMEOUT, answer).await,
                Ok(Ok(Ok(_)))
            )
        }
        None => false,
    };
    if !answered {
        tracing::warn!(
            "Client {}: the session store did not confirm that its will is off its record; it is published anyway, and a crash before the store recovers could publish it again.",
            Clipped(client_id)
        );
    }
}
