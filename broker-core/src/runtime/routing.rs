//! Carrying a publish out: the retained store, the router match, and one push per matching
//! mailbox. Called by the publisher's own task: no task sees every message. And the other
//! side of subscriptions: a session's filters added to the router or taken out of it when
//! the session ends (its unacknowledged shared-subscription messages are handed to other
//! members by `handover`).
//!
//! A QoS 1 or 2 copy for a persistent session, with a store that keeps messages, goes to the
//! store before its mailbox, whoever makes it: a publisher's copies wait in its [`Backlog`]
//! and the publisher answers its client once the store has them ([`push_blocked`]); the copies
//! no publisher waits for (the retained messages of a new subscription, an embedder's
//! `publish_now`, a shared-subscription message handed to another member, a will's copies:
//! `wills`) are handed to the store task, which queues them once the store has them
//! ([`place_durable`]). Either way a
//! copy reaches its mailbox with its store number, so a QoS 2 exchange begun for it is
//! recorded with that number and a restart does not queue the copy a second time.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::cluster::RouteAck;
use crate::router::{Delivery, SubscriptionEntry};
use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::persist::handle::{Persist, Reply, Slot};
use crate::runtime::queue::backlog::{Backlog, WhenFull};
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey, TryPush};
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::{DropCause, Stats};
use crate::session::{DropReason, Dropped, Message, PushOutcome, QueuedMessage, SessionState};
use crate::store::StoreError;
use crate::types::{ClientId, QoS, ReasonCode, StoreSeq, TopicFilter};

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

/// [`publish`] from synchronous code, which never waits: a copy that finds an online
/// subscriber's queue full meets its overflow policy at once. A write the session store must
/// take finds a slot in its channel now or the message is refused (nothing is routed or
/// retained), never dropped: the retained change, and, with a store that keeps messages, the
/// QoS 1 and 2 copies for persistent sessions. Those are handed to the store task, which
/// queues them once the store has them ([`place_durable`]): the caller is not told when.
///
/// # Errors
///
/// [`StoreBusy`]: the store's channel is full and the message is retained, or at QoS 1 or 2
/// with a store that keeps messages.
pub(crate) fn try_publish(
    shared: &Shared,
    message: &Message,
    scratch: &mut Vec<Delivery<SubscriberKey>>,
    now: Instant,
) -> Result<bool, StoreBusy> {
    let persist = shared.persist();
    // `None` once the store task has ended: the write cannot be made at all.
    let free_slot = || match persist.try_reserve() {
        Some(slot) => Ok(Some(slot)),
        None if persist.is_closed() => Ok(None),
        None => Err(StoreBusy),
    };
    let retained = if message.retain { free_slot()? } else { None };
    // Taken before routing, so that a refusal routes nothing; given back unused when no
    // persistent session matches.
    let durable = if message.qos != QoS::AtMostOnce && persist.store().keeps_messages() {
        Some(free_slot()?)
    } else {
        None
    };
    if message.retain {
        store_retained(shared, message, retained, None, now);
    }
    let Some(slot) = durable else {
        return Ok(route(shared, message, None, scratch, None, now));
    };
    let mut kept = Backlog::never_waiting();
    let matched = route(shared, message, None, scratch, Some(&mut kept), now);
    let copies = kept.take_durable();
    if !copies.is_empty() {
        place_durable(shared, slot, copies, None, now);
    }
    Ok(matched)
}

/// A retained change from synchronous code found the session store's channel full.
#[derive(Debug)]
pub(crate) struct StoreBusy;

/// Routes `message` to every matching subscriber, without looking at its RETAIN flag.
/// `publisher` is the publishing session's key, for No Local. `scratch` is a buffer the caller
/// keeps between calls. With `blocked`, a copy for an online subscriber whose queue is full
/// joins its waiting line and is put there for the caller to wait on ([`push_blocked`]), and
/// a QoS 1 or 2 copy for a durable mailbox is kept there for the store; without it, or with a
/// backlog that never waits ([`Backlog::never_waiting`]), the queue's overflow policy acts at
/// once. The message is detached from the publisher's receive buffer once, and its copies
/// share it. Returns whether any subscription matched.
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
            Some(blocked) if blocked.when_full() == WhenFull::Wait => {
                let granted = blocked.take_slot(mailbox);
                match mailbox.try_push(copy, now, shared.queue_full_wait(), granted) {
                    TryPush::Done(outcome) => record(shared, mailbox, outcome),
                    TryPush::Wait(ticket) => blocked.add(Arc::clone(mailbox), ticket),
                }
            }
            Some(_) | None => push(shared, mailbox, copy, now),
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
            .and_then(|seqs| queue_stored(shared, Some(blocked), durable, seqs));
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
/// into their mailboxes. With `blocked`, copies meeting a full queue join its waiting line
/// (put in `blocked`); without it, the queue's overflow policy acts at once.
///
/// # Errors
///
/// The store gave another number of sequence numbers than there are copies, or numbers past
/// [`StoreSeq::MAX`]: none is queued.
pub(crate) fn queue_stored(
    shared: &Shared,
    mut blocked: Option<&mut Backlog>,
    durable: Vec<(Arc<Mailbox>, QueuedMessage)>,
    seqs: Vec<u64>,
) -> Result<(), StoreError> {
    check_seqs(&seqs, durable.len())?;
    let now = now();
    for ((mailbox, mut copy), seq) in durable.into_iter().zip(seqs) {
        copy.stored = StoreSeq::new(seq);
        let Some(blocked) = blocked.as_deref_mut() else {
            push(shared, &mailbox, copy, now);
            continue;
        };
        let granted = blocked.take_slot(&mailbox);
        match mailbox.try_push(copy, now, shared.queue_full_wait(), granted) {
            TryPush::Done(outcome) => record(shared, &mailbox, outcome),
            TryPush::Wait(ticket) => blocked.add(mailbox, ticket),
        }
    }
    Ok(())
}

/// Whether `seqs` are the store's numbers for `copies` copies: one each, within
/// [`StoreSeq::MAX`].
fn check_seqs(seqs: &[u64], copies: usize) -> Result<(), StoreError> {
    if seqs.len() != copies {
        return Err(StoreError::Backend(format!(
            "the store took {} of {copies} copies",
            seqs.len()
        )));
    }
    if seqs.iter().any(|seq| *seq > StoreSeq::MAX) {
        return Err(StoreError::Backend(
            "the store's sequence numbers ran past 2^48".to_owned(),
        ));
    }
    Ok(())
}

/// The store's queues and copies of `durable`: (client identifier, copy) for each copy. A
/// copy is kept for the store only while its mailbox is durable, which gives the mailbox its
/// owner for good: the copy goes to that client's queue even if the session stopped being
/// durable since (a reconnection with another expiry), so that every copy gets a number.
pub(crate) fn durable_copies(
    durable: &[(Arc<Mailbox>, QueuedMessage)],
) -> Vec<(ClientId, QueuedMessage)> {
    durable
        .iter()
        .filter_map(|(mailbox, copy)| Some((mailbox.owner()?.clone(), copy.clone())))
        .collect()
}

/// Hands `copies`, QoS 1 and 2 copies for durable mailboxes that no publisher waits for, to
/// the store through `slot` ([`StoreOp::Place`]): the store task queues each into its mailbox
/// with its number once the store has it ([`place_stored`]), in the order of the store's
/// channel, and then forgets `replaces` (the stored copies they take the place of; kept if the
/// store refused the new ones). So a crash finds the copy under its new owner, or still under
/// its old one, never under neither. Without a slot (the store task has ended, or its channel
/// was full for a caller that cannot wait) the copies are queued now, in memory only, and
/// `replaces` stay stored: a restart may give them to their old owner again, never lose them.
///
/// [`StoreOp::Place`]: crate::runtime::persist::handle::StoreOp::Place
pub(crate) fn place_durable(
    shared: &Shared,
    slot: Option<Slot<'_>>,
    copies: Vec<(Arc<Mailbox>, QueuedMessage)>,
    replaces: Option<(ClientId, Vec<u64>)>,
    now: Instant,
) {
    match slot {
        Some(slot) => Persist::submit_place(slot, copies, replaces),
        None => {
            if !shared.persist().is_closed() {
                tracing::warn!(
                    "The session store's channel is full: {} messages for persistent sessions are queued in memory only.",
                    copies.len()
                );
            }
            for (mailbox, copy) in copies {
                push(shared, &mailbox, copy, now);
            }
        }
    }
}

/// The store's answer to copies of [`place_durable`]: each goes into its mailbox with the
/// number the store gave it, in order, the queue's overflow policy acting at once on a full
/// queue. If the store failed, they go there without a number (in memory only, as they would
/// without a store that keeps messages), and the failure is logged: nobody is left to refuse.
pub(crate) fn place_stored(
    shared: &Shared,
    copies: Vec<(Arc<Mailbox>, QueuedMessage)>,
    answer: Result<Vec<u64>, StoreError>,
) {
    let answer = answer.and_then(|seqs| check_seqs(&seqs, copies.len()).map(|()| seqs));
    match answer {
        Ok(seqs) => {
            // The numbers were checked: nothing is left to fail.
            let _ = queue_stored(shared, None, copies, seqs);
        }
        Err(error) => {
            tracing::warn!(
                "The session store could not take {} messages for persistent sessions ({error}); they are queued in memory only.",
                copies.len()
            );
            let now = now();
            for (mailbox, copy) in copies {
                push(shared, &mailbox, copy, now);
            }
        }
    }
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
/// session store through `slot` ([`Retained::change`]); on a node with peers, the change,
/// stamped, goes to the cluster link too ([`ClusterLink::retained_changed`]).
///
/// [`Retained::change`]: crate::runtime::state::retained::Retained::change
/// [`ClusterLink::retained_changed`]: crate::cluster::ClusterLink::retained_changed
pub(crate) fn store_retained(
    shared: &Shared,
    message: &Message,
    slot: Option<Slot<'_>>,
    reply: Option<Reply<()>>,
    now: Instant,
) {
    let change = shared
        .retained()
        .change(message, shared.persist(), slot, reply, now);
    if let (Some(change), Some(cluster)) = (change, shared.cluster()) {
        cluster.link().retained_changed(&change);
    }
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
    mailbox.note_forgotten(dropped.copy.stored().map(StoreSeq::get));
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
        topic = %Clipped(dropped.copy.topic().map_or("(in the store)", |t| t.as_str())),
        "Dropped message: {reason}."
    );
}

/// Queues the retained messages matching `filter` for a new subscription with `entry`
/// (MQTT 5.0 §3.3.1.3: RETAIN set, QoS downgraded, remaining expiry). The session's copy is
/// its own: it is delivered even if the retained message is replaced meanwhile. So for a
/// durable mailbox the QoS 1 and 2 copies are not queued here but returned, for the caller to
/// hand to the store first ([`place_durable`]); the others are queued at once.
#[must_use = "the copies for a durable mailbox go to the store, then to the mailbox"]
pub(crate) fn send_retained(
    shared: &Shared,
    filter: &TopicFilter,
    entry: &SubscriptionEntry,
    mailbox: &Arc<Mailbox>,
    now: Instant,
) -> Vec<(Arc<Mailbox>, QueuedMessage)> {
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
    let durable = mailbox.durable_owner().is_some();
    let mut kept = Vec::new();
    for copy in copies {
        if durable && copy.qos != QoS::AtMostOnce {
            kept.push((Arc::clone(mailbox), copy));
        } else {
            push(shared, mailbox, copy, now);
        }
    }
    kept
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
/// the store, or moved here from another node). Returns the announcements of the filters new
/// on this node to the cluster: dropped, they are made all the same; awaited, the peers have
/// recorded them.
#[must_use = "drop the route announcements, or await them"]
pub(crate) fn add_subscriptions(
    shared: &Shared,
    state: &SessionState,
    mailbox: &Arc<Mailbox>,
) -> Vec<RouteAck> {
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
    cluster.map_or_else(Vec::new, |cluster| cluster.subscribed_all(added))
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

/// Removes every subscription held under `mailbox`, whatever the filter (a slow scan, for
/// the rare case where the session's own list is lost).
pub(crate) fn remove_all_subscriptions(shared: &Shared, mailbox: &Arc<Mailbox>) {
    let key = SubscriberKey(Arc::clone(mailbox));
    let filters = shared.router().filters_of(&key);
    unsubscribe_filters(shared, &key, &filters);
}

/// Routes a message another node forwarded to this one, to the local subscribers only, never
/// back to a peer; nothing is retained. With no `group`, to the subscribers outside shared
/// subscriptions; with one, to one local member of that group (the publishing node chose
/// this node for it: MQTT 5.0 §4.8.2, one member cluster-wide). Copies for full mailboxes go
/// to `blocked`, as a publish's do.
pub(crate) fn route_from_peer(
    shared: &Shared,
    message: &Message,
    group: Option<&TopicFilter>,
    blocked: &mut Backlog,
    now: Instant,
) {
    let cluster = shared.cluster();
    let is_local = |key: &SubscriberKey| cluster.is_none_or(|cluster| !cluster.is_outbox(key));
    let mut deliveries = Vec::new();
    match group {
        None => {
            shared
                .router()
                .route_unshared(&message.topic, message.qos, is_local, &mut deliveries)
        }
        Some(group) => {
            let picked =
                shared
                    .router()
                    .route_to_group(group, &message.topic, message.qos, |member| {
                        member.mailbox().is_online() && is_local(member)
                    });
            // Offline members are picked when no member is online (the group's rule); a peer
            // never is.
            match picked.filter(|d| is_local(&d.subscriber)) {
                Some(delivery) => deliveries.push(delivery),
                None => {
                    // Its last member here left while the message was on its way.
                    shared.stats().dropped(DropCause::NoSharedMember);
                    tracing::debug!(
                        topic = %Clipped(&message.topic),
                        "Dropped a forwarded message: no member of {} here any more.",
                        Clipped(group)
                    );
                }
            }
        }
    }
    push_copies(shared, message, deliveries.into_iter(), Some(blocked), now);
}
