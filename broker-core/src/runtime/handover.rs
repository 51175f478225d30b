//! A session's end, and the messages a member of a shared subscription lets go: they are
//! handed to another member of each one's group (MQTT 5.0 §4.8.2), as a new message would be.
//!
//! # Order with the store
//!
//! With a store that keeps messages, a QoS 1 or 2 copy for a persistent member goes to the
//! store before its mailbox, like every other copy, and before what it replaces goes:
//!
//! - a member that unsubscribes keeps its session: its stored copies of the messages handed
//!   over are forgotten once the store has the new ones ([`redeliver_shared`]);
//! - a member whose session ends loses its record and its stored copies with it: the session's
//!   end ([`end_session`]) gives the copies for persistent members back to the caller, which
//!   sends them with the removal of the record, ahead of it in one operation of the store's
//!   channel (the registry's `RecordRemoval`, `Registry::forget_stored`). A crash between the
//!   two writes finds the messages under their new member (and the ended session's record
//!   still there: a duplicate, never a loss).
//!
//! # What this module must never do
//!
//! Wait: a hand-over is carried out by whoever let the messages go, from synchronous code.

use std::sync::Arc;
use std::time::Instant;

use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::persist::handle::Copies;
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey};
use crate::runtime::routing::{self, push};
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::DropCause;
use crate::session::{Message, QueuedMessage, SessionState};
use crate::types::{ClientId, QoS, TopicFilter};

/// Hands messages that `leaving` got through shared subscriptions and will never take (it
/// unsubscribed) to another member of each one's group ([`hand_over`]).
///
/// `replaces` are the store numbers of `leaving`'s stored copies of these messages, with its
/// client identifier. A QoS 1 or 2 copy for a persistent member goes to the store first, and
/// those are forgotten after it ([`routing::place_durable`]); with no such copy they are
/// forgotten lazily, through `leaving`'s mailbox.
pub(crate) fn redeliver_shared(
    shared: &Shared,
    leaving: &SubscriberKey,
    messages: Vec<(Message, TopicFilter)>,
    replaces: Option<(ClientId, Vec<u64>)>,
    now: Instant,
) {
    let durable = hand_over(shared, leaving, messages, now);
    if !durable.is_empty() {
        routing::place_durable(
            shared,
            shared.persist().try_reserve(),
            durable,
            replaces,
            now,
        );
    } else if let Some((_, seqs)) = replaces {
        // No copy went to the store: nothing to order the forgetting after.
        leaving.mailbox().note_forgotten(seqs);
    }
}

/// Ends a session whose mailbox stays with the client identifier: its subscriptions leave
/// the router and its queued messages are dropped, except the messages it got through shared
/// subscriptions and has not acknowledged (in flight at QoS 1 without PUBACK, or still
/// queued): they go to another member of their group (MQTT 5.0 §4.8.2). A QoS 2 message
/// whose PUBLISH went out goes to nobody else ([MQTT-4.8.2-5]): its exchange began, and the
/// client may have delivered it.
///
/// Returns the QoS 1 and 2 copies for persistent members, not queued yet: the caller sends
/// them to the store with the removal of the session's record, ahead of it (the registry's
/// `RecordRemoval`, `Registry::forget_stored`), or, when the store held no record, queues them
/// with [`place_handed_over`].
#[must_use = "the copies for persistent members go to the store, ahead of the session's record"]
pub(crate) fn end_session(shared: &Shared, state: &SessionState, mailbox: &Arc<Mailbox>) -> Copies {
    routing::remove_subscriptions(shared, state, mailbox);
    let now = now();
    // The in-flight copy carries the expiry left when it was sent; it counts from now.
    let mut unacknowledged: Vec<(Message, TopicFilter)> = state
        .shared_inflight()
        .filter_map(|(publish, filter)| {
            if publish.qos_pid.qos() == QoS::ExactlyOnce {
                shared.stats().dropped(DropCause::NoSharedMember);
                tracing::debug!(
                    "Dropped message: its QoS 2 exchange through {} began with the member that left.",
                    Clipped(filter)
                );
                return None;
            }
            let message = Message::from_publish(publish.clone(), now).ok()?;
            Some((message, filter.clone()))
        })
        .collect();
    unacknowledged.extend(
        mailbox
            .take_all()
            .into_iter()
            .filter_map(|queued| Some((queued.message, queued.shared?))),
    );
    let key = SubscriberKey(Arc::clone(mailbox));
    hand_over(shared, &key, unacknowledged, now)
}

/// Queues `copies`, handed over by a session the store held no record of (or given back by
/// a removal that could not be sent): through the store, which queues them once it has them
/// ([`routing::place_durable`]), or in memory only when its channel is full.
pub(crate) fn place_handed_over(shared: &Shared, copies: Copies) {
    if !copies.is_empty() {
        let slot = shared.persist().try_reserve();
        routing::place_durable(shared, slot, copies, None, now());
    }
}

/// Hands `messages` that `leaving` will never take to another member of each one's group,
/// chosen as for a new message (MQTT 5.0 §4.8.2: "If the Client's Session terminates before
/// the Client reconnects, the Server SHOULD send the Application Message to another Client
/// that is subscribed to the same Shared Subscription"). Each message carries the RETAIN flag
/// it was published (or first sent) with; the new member's subscription decides QoS, Retain
/// As Published and Subscription Identifier. A message whose group has no other member is
/// dropped and counted. The copies are queued now, but for the QoS 1 and 2 copies for
/// durable mailboxes, which are returned: the store takes them first.
fn hand_over(
    shared: &Shared,
    leaving: &SubscriberKey,
    messages: Vec<(Message, TopicFilter)>,
    now: Instant,
) -> Copies {
    if messages.is_empty() {
        return Vec::new();
    }
    let mut copies = Vec::with_capacity(messages.len());
    shared
        .router()
        .pick_other_members(leaving, messages, |message, filter, member| {
            let Some((member, entry)) = member else {
                shared.stats().dropped(DropCause::NoSharedMember);
                tracing::debug!(
                    topic = %Clipped(&message.topic),
                    "Dropped message: no other member of {} to take it.",
                    Clipped(&filter)
                );
                return;
            };
            let retain = message.retain && entry.options.retain_as_published;
            let copy = QueuedMessage::new(
                message,
                entry.options.qos,
                retain,
                entry.id.into_iter().collect(),
            )
            .through_shared(Some(filter));
            copies.push((Arc::clone(member.mailbox()), copy));
        });
    let mut durable = Vec::new();
    for (mailbox, copy) in copies {
        tracing::debug!(
            mailbox = mailbox.id(),
            topic = %Clipped(&copy.message.topic),
            "Redelivering a message of a shared subscription to another member."
        );
        if copy.qos != QoS::AtMostOnce && mailbox.durable_owner().is_some() {
            durable.push((mailbox, copy));
        } else {
            push(shared, &mailbox, copy, now);
        }
    }
    durable
}
