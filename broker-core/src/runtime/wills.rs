//! Publishing a will (or any message the broker itself originates): no publisher, so no No
//! Local and nobody to answer. Its copies go out as a publish's do ([`routing`]), and with a
//! store that keeps messages ([`SessionStore::keeps_messages`]) its QoS 1 and 2 copies for
//! persistent sessions go through the store first, like every other copy: handed to the store
//! task, which queues each once the store has it ([`routing::place_durable`]).
//!
//! # Order
//!
//! A will that a stored record held is published only once the store has the write that took
//! it out of the record ([`will_barrier`]); its copies are handed to the store's channel after
//! that, so the store never holds the will in a record and copies of it at once: a crash
//! before the copies are stored loses the will for those subscribers (the trade-off of
//! docs/persistence.md, "Wills across a crash"), one after finds it in their queues, and no
//! restart publishes it a second time.
//!
//! # What this module must never do
//!
//! Wait for the store to have the copies: no client waits for a will.
//!
//! [`SessionStore::keeps_messages`]: crate::store::SessionStore::keeps_messages
//! [`will_barrier`]: crate::runtime::state::will_barrier

use std::time::Instant;

use crate::runtime::clipped::Clipped;
use crate::runtime::queue::backlog::Backlog;
use crate::runtime::routing;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::Stats;
use crate::session::Message;
use crate::types::QoS;

/// Publishes a will: a retained will waits for room in the session store's channel, and so
/// do, with a store that keeps messages, its QoS 1 and 2 copies for persistent sessions (a
/// slot is reserved before the will is routed, so its copies take their place in the channel
/// as they are made).
pub(crate) async fn publish_will(shared: &Shared, mut message: Message, now: Instant) {
    Stats::bump(&shared.stats().wills_published);
    // The Message Expiry Interval of a will counts from its publication (MQTT 5.0 §3.1.3.2).
    message.received_at = now;
    tracing::debug!(topic = %Clipped(&message.topic), "Publishing will.");
    let persist = shared.persist();
    if message.retain {
        let slot = persist.reserve().await;
        routing::store_retained(shared, &message, slot, None, now);
    }
    let mut scratch = Vec::new();
    if message.qos == QoS::AtMostOnce || !persist.store().keeps_messages() {
        routing::route(shared, &message, None, &mut scratch, None, now);
        return;
    }
    // `None` once the store task has ended: the copies are then queued in memory only.
    let slot = persist.reserve().await;
    let mut kept = Backlog::never_waiting();
    routing::route(shared, &message, None, &mut scratch, Some(&mut kept), now);
    let copies = kept.take_durable();
    if !copies.is_empty() {
        routing::place_durable(shared, slot, copies, None, now);
    }
}
