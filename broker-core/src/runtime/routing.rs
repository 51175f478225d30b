//! Carrying a publish out: the retained store, the router match, and one push per matching
//! mailbox. Called by the publisher's own task: no task sees every message. And the other
//! side of subscriptions: a session's filters added to the router or taken out of it when
//! the session ends, its unacknowledged shared-subscription messages handed to other members.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::router::{Delivery, SubscriptionEntry};
use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::persist::handle::{Reply, Slot};
use crate::runtime::queue::backlog::Backlog;
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey, TryPush};
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::{DropCause, Stats};
use crate::session::{DropReason, Dropped, Message, PushOutcome, QueuedMessage, SessionState};
use crate::store::StoreError;
use crate::types::{QoS, ReasonCode, StoreSeq, TopicFilter};

/// Routes `message` to every matching subscriber and, if its RETAIN flag is set, stores it as
/// the topic's retained message (an empty payload deletes it), waiting for room in the
/// session store's channel: the change is never dropped for lack of room. `blocked`,
/// `scratch` and the return value are as for [`route`].
pub(crate) async fn publish(
    shared: &Shared,
    message: &Message,
    scratch: &mut Vec<Delivery<SubscriberKey>>,
    blocked: Option<&mut Backlog>,
    now: Instant,
) -> bool {
    if message.retain {
        let slot = shared.persist().reserve().await;
        store_retained(shared, message, slot, None, now);
    }
    route(shared, message, None, scratch, blocked, now)
}

/// [`publish`] from synchronous code: a retained change that finds the session store's
/// channel full is refused (nothing is routed or retained), never dropped.
///
/// # Errors
///
/// [`StoreBusy`]: the message is retained and the store's channel is full.
pub(crate) fn try_publish(
    shared: &Shared,
    message: &Message,
    scratch: &mut Vec<Delivery<SubscriberKey>>,
    blocked: Option<&mut Backlog>,
    now: Instant,
) -> Result<bool, StoreBusy> {
    if message.retain {
        let slot = shared.persist().try_reserve();
        if slot.is_none() && !shared.persist().is_closed() {
            return Err(StoreBusy);
        }
        store_retained(shared, message, slot, None, now);
    }
    Ok(route(shared, message, None, scratch, blocked, now))
}

/// A retained change from synchronous code found the session store's channel full.
#[derive(Debug)]
pub(crate) struct StoreBusy;

/// Routes `message` to every matching subscriber, without looking at its RETAIN flag.
/// `publisher` is the publishing session's key, for No Local. `scratch` is a buffer the caller
/// keeps between calls. With `blocked`, a copy for an online subscriber whose queue is full
/// joins its waiting line and is put there for the caller to wait on ([`push_blocked`]);
/// without it, the queue's overflow policy acts at once. The message is detached from the
/// publisher's receive buffer once, and its copies share it. Returns whether any
/// subscription matched.
pub(crate) fn route(
    shared: &Shared,
    message: &Message,
    publisher: Option<&SubscriberKey>,
    scratch: &mut Vec<Delivery<SubscriberKey>>,
    blocked: Option<&mut Backlog>,
    now: Instant,
) -> bool {
    shared.router().route(
        &message.topic,
        message.qos,
        publisher,
        |member| member.mailbox().is_online(),
        scratch,
    );
    let matched = !scratch.is_empty();
    if matched {
        push_copies(shared, message, scratch.drain(..), blocked, now);
    }
    matched
}

/// Pushes one copy of `message` per delivery into its subscriber's mailbox. The message is
/// detached from the publisher's receive buffer once, and its copies share it. With
/// `blocked`, a copy that finds an online subscriber's queue full joins its waiting line and
/// is put there for the caller to wait on, unless a slot the publisher's last turn granted
/// takes it; without it, the queue's overflow policy acts at once.
#[inline]
fn push_copies(
    shared: &Shared,
    message: &Message,
    deliveries: impl Iterator<Item = Delivery<SubscriberKey>>,
    mut blocked: Option<&mut Backlog>,
    now: Instant,
) {
    let detached = message.detach();
    for delivery in deliveries {
        let copy = QueuedMessage::new(
            detached.clone(),
            delivery.qos,
            delivery.retain_flag(message.retain),
            delivery.subscription_ids,
        )
        .through_shared(delivery.shared);
        let mailbox = delivery.subscriber.mailbox();
        match blocked.as_deref_mut() {
            // A persistent session's QoS 1 or 2 copy: the store takes it first.
            Some(blocked) if copy.qos != QoS::AtMostOnce && mailbox.durable_owner().is_some() => {
                blocked.keep_durable(Arc::clone(mailbox), copy);
            }
            Some(blocked) => {
                let granted = blocked.take_slot(mailbox);
                match mailbox.try_push(copy, now, shared.queue_full_wait(), granted) {
                    TryPush::Done(outcome) => record(shared, mailbox, outcome),
                    TryPush::Wait(ticket) => blocked.add(Arc::clone(mailbox), ticket),
                }
            }
            None => push(shared, mailbox, copy, now),
        }
    }
}

/// Hands the copies for persistent sessions to the store and queues them once it has them
/// (each with its store number), then waits until every blocked copy is queued in its turn
/// (or its subscriber is found stalled, or goes offline, and the overflow policy acts).
///
/// # Errors
///
/// The store could not take the copies: they are not queued, and the publisher is to be
/// refused ([`refusal`]).
pub(crate) async fn push_blocked(shared: &Shared, blocked: &mut Backlog) -> Result<(), StoreError> {
    let durable = blocked.take_durable();
    let mut result = Ok(());
    if !durable.is_empty() {
        let copies = durable_copies(&durable);
        result = shared
            .persist()
            .enqueue(copies)
            .await
            .and_then(|seqs| queue_stored(shared, blocked, durable, seqs));
        if let Err(error) = &result {
            tracing::warn!("The session store could not take a message for persistent sessions ({error}); it is refused.");
        }
    }
    blocked
        .wait(shared.queue_full_wait(), |mailbox, outcome| {
            record(shared, mailbox, outcome);
        })
        .await;
    result
}

/// The copies of [`durable_copies`] with the sequence numbers the store gave them, in order,
/// into their mailboxes (copies meeting a full queue join its waiting line, in `blocked`).
///
/// # Errors
///
/// The store gave another number of sequence numbers than there are copies: none is queued.
pub(crate) fn queue_stored(
    shared: &Shared,
    blocked: &mut Backlog,
    durable: Vec<(Arc<Mailbox>, QueuedMessage)>,
    seqs: Vec<u64>,
) -> Result<(), StoreError> {
    if seqs.len() != durable.len() {
        return Err(StoreError::Backend(format!(
            "the store took {} of {} copies",
            seqs.len(),
            durable.len()
        )));
    }
    if seqs.iter().any(|seq| *seq > StoreSeq::MAX) {
        return Err(StoreError::Backend(
            "the store's sequence numbers ran past 2^48".to_owned(),
        ));
    }
    let now = now();
    for ((mailbox, mut copy), seq) in durable.into_iter().zip(seqs) {
        copy.stored = StoreSeq::new(seq);
        let granted = blocked.take_slot(&mailbox);
        match mailbox.try_push(copy, now, shared.queue_full_wait(), granted) {
            TryPush::Done(outcome) => record(shared, &mailbox, outcome),
            TryPush::Wait(ticket) => blocked.add(mailbox, ticket),
        }
    }
    Ok(())
}

/// The store's queues and copies of `durable`: (client identifier, copy) for each copy whose
/// mailbox is still durable.
pub(crate) fn durable_copies(
    durable: &[(Arc<Mailbox>, QueuedMessage)],
) -> Vec<(crate::types::ClientId, QueuedMessage)> {
    durable
        .iter()
        .filter_map(|(mailbox, copy)| Some((mailbox.durable_owner()?.clone(), copy.clone())))
        .collect()
}

/// The reason code that refuses a message the store could not take: 0x97 (Quota exceeded)
/// for a full store, 0x80 (Unspecified error) otherwise.
pub(crate) fn refusal(error: &StoreError) -> ReasonCode {
    match error {
        StoreError::Full(_) => ReasonCode::QuotaExceeded,
        _ => ReasonCode::UnspecifiedError,
    }
}

/// Sets or deletes the retained message of `message`'s topic, the change handed to the
/// session store through `slot` ([`Retained::change`]).
///
/// [`Retained::change`]: crate::runtime::state::retained::Retained::change
pub(crate) fn store_retained(
    shared: &Shared,
    message: &Message,
    slot: Option<Slot<'_>>,
    reply: Option<Reply<()>>,
    now: Instant,
) {
    shared
        .retained()
        .change(message, shared.persist(), slot, reply, now);
}

/// Pushes one copy into a mailbox; counts and logs what the queue dropped.
pub(crate) fn push(shared: &Shared, mailbox: &Mailbox, copy: QueuedMessage, now: Instant) {
    record(shared, mailbox, mailbox.push(copy, now));
}

/// Counts and logs what a push did.
fn record(shared: &Shared, mailbox: &Mailbox, outcome: PushOutcome) {
    match outcome {
        PushOutcome::Queued { evicted } => {
            Stats::bump(&shared.stats().messages_queued);
            for dropped in &evicted {
                log_drop(shared, mailbox, dropped);
            }
        }
        PushOutcome::Dropped(dropped) => log_drop(shared, mailbox, &dropped),
        PushOutcome::DisconnectRequired(message) => {
            mailbox.note_forgotten(message.stored.map(StoreSeq::get));
            shared.stats().dropped(DropCause::SlowSubscriber);
            shared.hooks().emit_dropped_message(
                mailbox,
                &message.message.topic,
                message.qos,
                DropReason::QueueFull,
            );
            tracing::debug!(
                mailbox = mailbox.id(),
                topic = %Clipped(&message.message.topic),
                "Queue full, disconnecting the slow subscriber."
            );
        }
    }
}

/// Counts and logs one dropped message; a stored copy is noted for the store to forget.
pub(crate) fn log_drop(shared: &Shared, mailbox: &Mailbox, dropped: &Dropped) {
    mailbox.note_forgotten(dropped.message.stored.map(StoreSeq::get));
    shared.stats().dropped(dropped.reason.into());
    shared.hooks().emit_dropped(mailbox, dropped);
    let reason = match dropped.reason {
        DropReason::QueueFull => "queue full",
        DropReason::TooLarge => "larger than the queue",
        DropReason::Qos0NotQueued => "QoS 0 for an offline client",
        DropReason::Expired => "expired",
        DropReason::PacketTooLarge => "larger than the client's maximum packet size",
    };
    tracing::debug!(
        mailbox = mailbox.id(),
        topic = %Clipped(&dropped.message.message.topic),
        "Dropped message: {reason}."
    );
}

/// Queues the retained messages matching `filter` for a new subscription with `entry`
/// (MQTT 5.0 §3.3.1.3: RETAIN set, QoS downgraded, remaining expiry).
pub(crate) fn send_retained(
    shared: &Shared,
    filter: &TopicFilter,
    entry: &SubscriptionEntry,
    mailbox: &Mailbox,
    now: Instant,
) {
    let secs = shared.retained().secs(now);
    let mut copies = Vec::new();
    {
        shared.retained().matching(filter, now, |retained| {
            let mut properties = retained.properties.clone();
            properties.message_expiry_interval = retained.remaining_expiry(secs);
            let message = Message::new(
                retained.topic.clone(),
                retained.payload.clone(),
                retained.qos,
                true,
                properties,
                now,
            );
            copies.push(QueuedMessage::new(
                message,
                entry.options.qos,
                true,
                entry.id.into_iter().collect(),
            ));
        });
    }
    for copy in copies {
        push(shared, mailbox, copy, now);
    }
}

/// Publishes a will (or any message the broker itself originates): no publisher, no No Local.
/// A retained will waits for room in the session store's channel.
pub(crate) async fn publish_will(shared: &Shared, mut message: Message, now: Instant) {
    Stats::bump(&shared.stats().wills_published);
    // The Message Expiry Interval of a will counts from its publication (MQTT 5.0 §3.1.3.2).
    message.received_at = now;
    tracing::debug!(topic = %Clipped(&message.topic), "Publishing will.");
    let mut scratch = Vec::new();
    publish(shared, &message, &mut scratch, None, now).await;
}

/// Takes `filters` of the subscriber `key` out of the router, and tells the cluster link of
/// each one the router held, once the router's lock is let go.
pub(crate) fn unsubscribe_filters<'a>(
    shared: &Shared,
    key: &SubscriberKey,
    filters: impl IntoIterator<Item = &'a TopicFilter>,
) {
    let cluster = shared.cluster();
    let mut removed = Vec::new();
    shared.router().unsubscribe_all(key, filters, |filter| {
        if cluster.is_some() {
            removed.push(filter);
        }
    });
    if let Some(cluster) = cluster {
        removed
            .into_iter()
            .for_each(|filter| cluster.unsubscribed(filter));
    }
}

/// Removes every subscription of `state` held under `mailbox` from the router.
pub(crate) fn remove_subscriptions(shared: &Shared, state: &SessionState, mailbox: &Arc<Mailbox>) {
    let key = SubscriberKey(Arc::clone(mailbox));
    unsubscribe_filters(
        shared,
        &key,
        state.subscriptions().map(|(filter, _)| filter),
    );
}

/// Adds every subscription of `state` to the router under `mailbox` (a session loaded from
/// the store).
pub(crate) fn add_subscriptions(shared: &Shared, state: &SessionState, mailbox: &Arc<Mailbox>) {
    let key = SubscriberKey(Arc::clone(mailbox));
    let cluster = shared.cluster();
    let mut added = Vec::new();
    shared.router().subscribe_all(
        &key,
        state
            .subscriptions()
            .map(|(filter, entry)| (filter, *entry)),
        |filter| {
            if cluster.is_some() {
                added.push(filter);
            }
        },
    );
    if let Some(cluster) = cluster {
        // Announced, not awaited: no SUBACK depends on these routes.
        for filter in added {
            drop(cluster.subscribed(filter));
        }
    }
}

/// Hands messages that `leaving` got through shared subscriptions and will never take (its
/// session ended, or it unsubscribed) to another member of each one's group, chosen as for a
/// new message (MQTT 5.0 §4.8.2: "If the Client's Session terminates before the Client
/// reconnects, the Server SHOULD send the Application Message to another Client that is
/// subscribed to the same Shared Subscription"). Each message carries the RETAIN flag it was
/// published (or first sent) with; the new member's subscription decides QoS, Retain As
/// Published and Subscription Identifier. A message whose group has no other member is
/// dropped and counted.
pub(crate) fn redeliver_shared(
    shared: &Shared,
    leaving: &SubscriberKey,
    messages: Vec<(Message, TopicFilter)>,
    now: Instant,
) {
    if messages.is_empty() {
        return;
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
    for (mailbox, copy) in copies {
        tracing::debug!(
            mailbox = mailbox.id(),
            topic = %Clipped(&copy.message.topic),
            "Redelivering a message of a shared subscription to another member."
        );
        push(shared, &mailbox, copy, now);
    }
}

/// A message the broker publishes through its handle.
pub(crate) fn local_message(
    topic: crate::types::TopicName,
    payload: Bytes,
    qos: crate::types::QoS,
    retain: bool,
    now: Instant,
) -> Message {
    Message::new(
        topic,
        payload,
        qos,
        retain,
        crate::codec::PublishProperties::default(),
        now,
    )
}

/// Ends a session whose mailbox stays with the client identifier: its subscriptions leave
/// the router and its queued messages are dropped, except the messages it got through shared
/// subscriptions and has not acknowledged (in flight without PUBACK or PUBREC, or still
/// queued): they go to another member of their group (MQTT 5.0 §4.8.2).
pub(crate) fn end_session(shared: &Shared, state: &SessionState, mailbox: &Arc<Mailbox>) {
    remove_subscriptions(shared, state, mailbox);
    let now = now();
    // The in-flight copy carries the expiry left when it was sent; it counts from now.
    let mut unacknowledged: Vec<(Message, TopicFilter)> = state
        .shared_inflight()
        .filter_map(|(publish, filter)| {
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
    redeliver_shared(shared, &key, unacknowledged, now);
}

/// Removes every subscription held under `mailbox`, whatever the filter (a slow scan, for
/// the rare case where the session's own list is lost).
pub(crate) fn remove_all_subscriptions(shared: &Shared, mailbox: &Arc<Mailbox>) {
    let key = SubscriberKey(Arc::clone(mailbox));
    let filters = shared.router().filters_of(&key);
    unsubscribe_filters(shared, &key, &filters);
}

/// Routes a message another node forwarded to this one: to the local subscribers only (a
/// shared group picks among its local members), never back to a peer; nothing is retained
/// (the cluster's store carries retained messages). Copies meeting a full queue go to
/// `blocked`, as for [`route`].
pub(crate) fn route_from_peer(
    shared: &Shared,
    message: &Message,
    blocked: &mut Backlog,
    now: Instant,
) {
    let cluster = shared.cluster();
    let is_local = |key: &SubscriberKey| cluster.is_none_or(|cluster| !cluster.is_outbox(key));
    let mut scratch = Vec::new();
    shared.router().route(
        &message.topic,
        message.qos,
        None,
        |member| member.mailbox().is_online() && is_local(member),
        &mut scratch,
    );
    let local = scratch.into_iter().filter(|d| is_local(&d.subscriber));
    push_copies(shared, message, local, Some(blocked), now);
}
