//! The conformance suite every [`SessionStore`] runs: the durability contract of the
//! [`store`](super) module as executable checks.
//!
//! ```
//! # async fn example() {
//! use broker_core::store::{conformance, MemoryStore};
//! let result = conformance::check_all(|| MemoryStore::new()).await;
//! assert!(result.is_ok(), "{result:?}");
//! # }
//! ```
//!
//! Each check runs on a fresh store from the factory, so a store backed by files should give
//! a new directory each time. Checks return errors instead of panicking, so the suite can be
//! driven from any test harness and executor.

use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use bytes::Bytes;
use thiserror::Error;

use crate::codec::{PublishProperties, QosPid, SubscriptionOptions};
use crate::router::{RetainedMessage, SubscriptionEntry};
use crate::session::{Message, OutboundInflight, QueuedMessage, SendOptions, WillMessage};
use crate::types::{ClientId, PacketId, QoS, SubscriptionId, TopicFilter, TopicName};

use super::{SessionStore, StoreError, StoreWrite, StoredInflight, StoredSession, WriteOutcome};

/// A check of the suite that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("store conformance check `{check}` failed: {detail}")]
pub struct ConformanceError {
    /// The check's name.
    pub check: &'static str,
    /// What was expected and what happened.
    pub detail: String,
}

type Check = Result<(), ConformanceError>;

/// Runs every check, each on a fresh store from `make`; stops at the first failure.
pub async fn check_all<S, F>(make: F) -> Check
where
    S: SessionStore,
    F: Fn() -> S,
{
    missing_session_is_none(&make()).await?;
    save_then_load_round_trips(&make()).await?;
    save_replaces(&make()).await?;
    remove_removes_session_and_queue(&make()).await?;
    sessions_lists_every_client(&make()).await?;
    queue_keeps_order_and_growing_sequence(&make()).await?;
    ack_removes_up_to_and_never_reuses(&make()).await?;
    save_leaves_queue_alone(&make()).await?;
    queues_are_per_client(&make()).await?;
    retained_set_replace_remove(&make()).await?;
    a_batch_applies_in_order_and_answers_each(&make()).await?;
    forget_removes_one_message_by_number(&make()).await?;
    queued_from_and_queued_seqs_read_part_of_a_queue(&make()).await?;
    Ok(())
}

fn fail(check: &'static str, detail: impl Into<String>) -> ConformanceError {
    ConformanceError {
        check,
        detail: detail.into(),
    }
}

fn backend(check: &'static str) -> impl Fn(StoreError) -> ConformanceError {
    move |e| fail(check, format!("store error: {e}"))
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(check: &'static str, got: T, want: T) -> Check {
    if got == want {
        Ok(())
    } else {
        Err(fail(check, format!("expected {want:?}, got {got:?}")))
    }
}

/// How far a stored will's receive time may move: a durable store keeps it to the
/// millisecond, as an age or a wall-clock time, and the read may count the time between the
/// write and the read.
const INSTANT_SLACK: Duration = Duration::from_secs(1);

/// `got` equals `want`, but for the will's receive time, which may be up to
/// [`INSTANT_SLACK`] later or a millisecond earlier.
fn expect_same_session(
    check: &'static str,
    got: Option<StoredSession>,
    want: Option<StoredSession>,
) -> Check {
    let mut got = got;
    if let (Some(got), Some(want)) = (got.as_mut(), want.as_ref()) {
        if let (Some(g), Some(w)) = (got.will.as_mut(), want.will.as_ref()) {
            let (stored, original) = (g.message.received_at, w.message.received_at);
            let later = stored.saturating_duration_since(original);
            let earlier = original.saturating_duration_since(stored);
            if later > INSTANT_SLACK || earlier > Duration::from_millis(1) {
                return Err(fail(
                    check,
                    format!("the will's receive time moved by +{later:?} / -{earlier:?}"),
                ));
            }
            g.message.received_at = original;
        }
    }
    expect_eq(check, got, want)
}

/// Enqueues one message per payload for `c`; gives their sequence numbers, in order.
async fn enqueue_each(
    store: &impl SessionStore,
    check: &'static str,
    c: &ClientId,
    payloads: &[&'static str],
) -> Result<Vec<u64>, ConformanceError> {
    let mut seqs = Vec::with_capacity(payloads.len());
    for payload in payloads {
        seqs.push(
            store
                .enqueue(c, &queued(payload)?)
                .await
                .map_err(backend(check))?,
        );
    }
    Ok(seqs)
}

fn client(name: &str) -> Result<ClientId, ConformanceError> {
    ClientId::new(name).map_err(|e| fail("fixture", e.to_string()))
}

fn topic(name: &str) -> Result<TopicName, ConformanceError> {
    TopicName::new(name).map_err(|e| fail("fixture", e.to_string()))
}

fn message(name: &str, payload: &'static str) -> Result<Message, ConformanceError> {
    let properties = PublishProperties {
        message_expiry_interval: Some(300),
        content_type: crate::types::MqttString::new("text/plain").ok(),
        ..PublishProperties::default()
    };
    Ok(Message::new(
        topic(name)?,
        Bytes::from_static(payload.as_bytes()),
        QoS::ExactlyOnce,
        false,
        properties,
        Instant::now(),
    ))
}

fn queued(payload: &'static str) -> Result<QueuedMessage, ConformanceError> {
    let id = SubscriptionId::new(7).map_err(|e| fail("fixture", e.to_string()))?;
    Ok(QueuedMessage::new(
        message("q/t", payload)?,
        QoS::AtLeastOnce,
        true,
        vec![id],
    ))
}

/// A session using every field: subscriptions, both kinds of in-flight entry, inbound QoS 2
/// identifiers, a will.
fn rich_session(name: &str) -> Result<StoredSession, ConformanceError> {
    let f = "fixture";
    let mut window = OutboundInflight::new(NonZeroU16::MAX);
    let m = message("out/t", "in flight")?;
    let mut outbound = Vec::new();
    let mut shared_outbound = Vec::new();
    let group = TopicFilter::new("$share/g/out/t").map_err(|e| fail(f, e.to_string()))?;
    for qos_pid in [QosPid::AtLeastOnce, QosPid::ExactlyOnce] {
        let publish = window
            .insert(|id| m.to_publish(SendOptions::new(qos_pid(id)), m.received_at))
            .map_err(|e| fail(f, e.to_string()))?;
        if let Some(id) = publish
            .qos_pid
            .packet_id()
            .filter(|_| shared_outbound.is_empty())
        {
            shared_outbound.push((id, group.clone()));
        }
        outbound.push(StoredInflight::Publish(Box::new(publish)));
    }
    let released = PacketId::new(40).map_err(|e| fail(f, e.to_string()))?;
    outbound.push(StoredInflight::Released(released));
    let filter = |s: &str| TopicFilter::new(s).map_err(|e| fail(f, e.to_string()));
    let id = SubscriptionId::new(3).map_err(|e| fail(f, e.to_string()))?;
    Ok(StoredSession {
        client_id: client(name)?,
        session_expiry: 3600,
        subscriptions: vec![
            (
                filter("$share/g/a/+")?,
                SubscriptionEntry::new(SubscriptionOptions::qos(QoS::AtLeastOnce), None),
            ),
            (
                filter("a/#")?,
                SubscriptionEntry::new(SubscriptionOptions::qos(QoS::ExactlyOnce), Some(id)),
            ),
        ],
        stored_outbound: shared_outbound.iter().map(|(id, _)| (*id, 42)).collect(),
        outbound,
        shared_outbound,
        inbound_qos2: vec![
            PacketId::new(5).map_err(|e| fail(f, e.to_string()))?,
            PacketId::new(9).map_err(|e| fail(f, e.to_string()))?,
        ],
        will: Some(WillMessage {
            message: message("wills/x", "bye")?,
            delay: 30,
        }),
    })
}

async fn missing_session_is_none(store: &impl SessionStore) -> Check {
    const C: &str = "missing_session_is_none";
    let got = store.load(&client("nobody")?).await.map_err(backend(C))?;
    expect_eq(C, got, None)?;
    expect_eq(
        C,
        store
            .queued(&client("nobody")?)
            .await
            .map_err(backend(C))?
            .len(),
        0,
    )
}

async fn save_then_load_round_trips(store: &impl SessionStore) -> Check {
    const C: &str = "save_then_load_round_trips";
    let session = rich_session("c1")?;
    store.save(&session).await.map_err(backend(C))?;
    let loaded = store.load(&session.client_id).await.map_err(backend(C))?;
    expect_same_session(C, loaded, Some(session.clone()))?;
    // The record still describes a valid session state.
    let state = session.to_state().map_err(backend(C))?;
    let again = StoredSession::from_state(&state, session.session_expiry, session.will.clone());
    expect_eq(C, again, session)
}

async fn save_replaces(store: &impl SessionStore) -> Check {
    const C: &str = "save_replaces";
    let mut session = rich_session("c1")?;
    store.save(&session).await.map_err(backend(C))?;
    session.subscriptions.clear();
    session.session_expiry = 10;
    store.save(&session).await.map_err(backend(C))?;
    let loaded = store.load(&session.client_id).await.map_err(backend(C))?;
    expect_same_session(C, loaded, Some(session))
}

async fn remove_removes_session_and_queue(store: &impl SessionStore) -> Check {
    const C: &str = "remove_removes_session_and_queue";
    let session = rich_session("c1")?;
    store.save(&session).await.map_err(backend(C))?;
    store
        .enqueue(&session.client_id, &queued("a")?)
        .await
        .map_err(backend(C))?;
    expect_eq(
        C,
        store.remove(&session.client_id).await.map_err(backend(C))?,
        true,
    )?;
    expect_eq(
        C,
        store.remove(&session.client_id).await.map_err(backend(C))?,
        false,
    )?;
    expect_eq(
        C,
        store.load(&session.client_id).await.map_err(backend(C))?,
        None,
    )?;
    expect_eq(
        C,
        store
            .queued(&session.client_id)
            .await
            .map_err(backend(C))?
            .len(),
        0,
    )
}

async fn sessions_lists_every_client(store: &impl SessionStore) -> Check {
    const C: &str = "sessions_lists_every_client";
    for name in ["a", "b", "c"] {
        store.save(&rich_session(name)?).await.map_err(backend(C))?;
    }
    store.remove(&client("b")?).await.map_err(backend(C))?;
    let mut ids: Vec<String> = store
        .sessions()
        .await
        .map_err(backend(C))?
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    ids.sort();
    expect_eq(C, ids, vec!["a".to_owned(), "c".to_owned()])
}

async fn queue_keeps_order_and_growing_sequence(store: &impl SessionStore) -> Check {
    const C: &str = "queue_keeps_order_and_growing_sequence";
    let c = client("c1")?;
    let seqs = enqueue_each(store, C, &c, &["1", "2", "3"]).await?;
    if !seqs.windows(2).all(|w| w.first() < w.get(1)) {
        return Err(fail(C, format!("sequence numbers not growing: {seqs:?}")));
    }
    let got = store.queued(&c).await.map_err(backend(C))?;
    let payloads: Vec<&[u8]> = got.iter().map(|(_, q)| &q.message.payload[..]).collect();
    expect_eq(C, payloads, vec![&b"1"[..], b"2", b"3"])?;
    expect_eq(C, got.iter().map(|(s, _)| *s).collect::<Vec<_>>(), seqs)?;
    // Every field of the queued copy survives.
    let first = got.first().map(|(_, q)| q.clone());
    let want = queued("1")?;
    expect_eq(
        C,
        first
            .as_ref()
            .map(|q| (q.qos, q.retain, &q.subscription_ids)),
        Some((want.qos, want.retain, &want.subscription_ids)),
    )?;
    expect_eq(
        C,
        first.map(|q| q.message.properties),
        Some(want.message.properties),
    )
}

async fn ack_removes_up_to_and_never_reuses(store: &impl SessionStore) -> Check {
    const C: &str = "ack_removes_up_to_and_never_reuses";
    let c = client("c1")?;
    let enqueue = |payload| async move {
        store
            .enqueue(&client("c1")?, &queued(payload)?)
            .await
            .map_err(backend(C))
    };
    enqueue("1").await?;
    let second = enqueue("2").await?;
    let third = enqueue("3").await?;
    store.ack_queued(&c, second).await.map_err(backend(C))?;
    let left: Vec<u64> = store
        .queued(&c)
        .await
        .map_err(backend(C))?
        .iter()
        .map(|(s, _)| *s)
        .collect();
    expect_eq(C, left, vec![third])?;
    store.ack_queued(&c, third).await.map_err(backend(C))?;
    let next = enqueue("4").await?;
    if next <= third {
        return Err(fail(
            C,
            format!("sequence {next} reused after ack of {third}"),
        ));
    }
    Ok(())
}

async fn save_leaves_queue_alone(store: &impl SessionStore) -> Check {
    const C: &str = "save_leaves_queue_alone";
    let session = rich_session("c1")?;
    store
        .enqueue(&session.client_id, &queued("1")?)
        .await
        .map_err(backend(C))?;
    store.save(&session).await.map_err(backend(C))?;
    expect_eq(
        C,
        store
            .queued(&session.client_id)
            .await
            .map_err(backend(C))?
            .len(),
        1,
    )
}

async fn queues_are_per_client(store: &impl SessionStore) -> Check {
    const C: &str = "queues_are_per_client";
    let (a, b) = (client("a")?, client("b")?);
    let sa = store.enqueue(&a, &queued("a")?).await.map_err(backend(C))?;
    store.enqueue(&b, &queued("b")?).await.map_err(backend(C))?;
    store.ack_queued(&a, sa).await.map_err(backend(C))?;
    expect_eq(C, store.queued(&a).await.map_err(backend(C))?.len(), 0)?;
    expect_eq(C, store.queued(&b).await.map_err(backend(C))?.len(), 1)
}

async fn retained_set_replace_remove(store: &impl SessionStore) -> Check {
    const C: &str = "retained_set_replace_remove";
    let make = |payload: &'static str| -> Result<RetainedMessage, ConformanceError> {
        Ok(RetainedMessage::new(
            topic("r/t")?,
            Bytes::from_static(payload.as_bytes()),
            QoS::AtLeastOnce,
            PublishProperties::default(),
            12,
        ))
    };
    store.set_retained(&make("1")?).await.map_err(backend(C))?;
    store.set_retained(&make("2")?).await.map_err(backend(C))?;
    let all = store.retained().await.map_err(backend(C))?;
    expect_eq(C, all, vec![make("2")?])?;
    expect_eq(
        C,
        store
            .remove_retained(&topic("r/t")?)
            .await
            .map_err(backend(C))?,
        true,
    )?;
    expect_eq(
        C,
        store
            .remove_retained(&topic("r/t")?)
            .await
            .map_err(backend(C))?,
        false,
    )?;
    expect_eq(C, store.retained().await.map_err(backend(C))?.len(), 0)
}

async fn a_batch_applies_in_order_and_answers_each(store: &impl SessionStore) -> Check {
    const C: &str = "a_batch_applies_in_order_and_answers_each";
    let (a, b) = (client("a")?, client("b")?);
    let retained = RetainedMessage::new(
        topic("r/t")?,
        Bytes::from_static(b"kept"),
        QoS::AtLeastOnce,
        PublishProperties::default(),
        12,
    );
    let outcomes = store
        .write_batch(vec![
            StoreWrite::Save(rich_session("a")?),
            StoreWrite::Enqueue(a.clone(), queued("1")?),
            StoreWrite::Enqueue(a.clone(), queued("2")?),
            StoreWrite::Remove(b.clone()),
            StoreWrite::SetRetained(retained.clone()),
            StoreWrite::RemoveRetained(topic("r/t")?),
            StoreWrite::SetRetained(retained.clone()),
        ])
        .await;
    let outcomes: Vec<WriteOutcome> = outcomes
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(backend(C))?;
    let (first, second) = match outcomes.get(1..3) {
        Some([WriteOutcome::Seq(first), WriteOutcome::Seq(second)]) if first < second => {
            (*first, *second)
        }
        other => return Err(fail(C, format!("enqueues answered {other:?}"))),
    };
    expect_eq(
        C,
        outcomes,
        vec![
            WriteOutcome::Done,
            WriteOutcome::Seq(first),
            WriteOutcome::Seq(second),
            WriteOutcome::Existed(false),
            WriteOutcome::Done,
            WriteOutcome::Existed(true),
            WriteOutcome::Done,
        ],
    )?;
    let queue = store.queued(&a).await.map_err(backend(C))?;
    expect_eq(
        C,
        queue.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![first, second],
    )?;
    // A batch that acknowledges and removes after its own enqueue.
    let outcomes = store
        .write_batch(vec![
            StoreWrite::Enqueue(b.clone(), queued("3")?),
            StoreWrite::AckQueued(a.clone(), first),
            StoreWrite::Remove(b.clone()),
        ])
        .await;
    if outcomes.iter().any(Result::is_err) {
        return Err(fail(C, format!("the second batch failed: {outcomes:?}")));
    }
    expect_eq(C, store.queued(&a).await.map_err(backend(C))?.len(), 1)?;
    expect_eq(C, store.queued(&b).await.map_err(backend(C))?.len(), 0)?;
    expect_eq(
        C,
        store.retained().await.map_err(backend(C))?,
        vec![retained],
    )
}

async fn forget_removes_one_message_by_number(store: &impl SessionStore) -> Check {
    const C: &str = "forget_removes_one_message_by_number";
    let c = client("c1")?;
    let seqs = enqueue_each(store, C, &c, &["1", "2", "3"]).await?;
    let (Some(&first), Some(&middle), Some(&last)) = (seqs.first(), seqs.get(1), seqs.get(2))
    else {
        return Err(fail(C, "three enqueues gave fewer numbers"));
    };
    store.forget_queued(&c, middle).await.map_err(backend(C))?;
    // Forgetting what is not there (again, or another client's) changes nothing.
    store.forget_queued(&c, middle).await.map_err(backend(C))?;
    store
        .forget_queued(&client("other")?, first)
        .await
        .map_err(backend(C))?;
    let left: Vec<u64> = store
        .queued(&c)
        .await
        .map_err(backend(C))?
        .iter()
        .map(|(s, _)| *s)
        .collect();
    expect_eq(C, left, vec![first, last])?;
    let outcomes = store
        .write_batch(vec![
            StoreWrite::Forget(c.clone(), vec![first]),
            StoreWrite::Forget(c.clone(), vec![last]),
        ])
        .await;
    if outcomes.iter().any(Result::is_err) {
        return Err(fail(C, format!("the batch failed: {outcomes:?}")));
    }
    expect_eq(C, store.queued(&c).await.map_err(backend(C))?.len(), 0)
}

async fn queued_from_and_queued_seqs_read_part_of_a_queue(store: &impl SessionStore) -> Check {
    const C: &str = "queued_from_and_queued_seqs_read_part_of_a_queue";
    let (a, b) = (client("c1")?, client("c2")?);
    let seqs = enqueue_each(store, C, &a, &["1", "2", "3", "4", "5"]).await?;
    enqueue_each(store, C, &b, &["b"]).await?;
    let (Some(&second), Some(&third), Some(&fourth)) = (seqs.get(1), seqs.get(2), seqs.get(3))
    else {
        return Err(fail(C, "five enqueues gave fewer numbers"));
    };
    store.forget_queued(&a, third).await.map_err(backend(C))?;
    let numbers =
        |queue: Vec<(u64, QueuedMessage)>| -> Vec<u64> { queue.iter().map(|(s, _)| *s).collect() };
    // From the second on, two at most: the forgotten third is skipped, not counted.
    let window = store.queued_from(&a, second, 2).await.map_err(backend(C))?;
    expect_eq(C, numbers(window.clone()), vec![second, fourth])?;
    let payloads: Vec<&[u8]> = window.iter().map(|(_, m)| &m.message.payload[..]).collect();
    expect_eq(C, payloads, vec![&b"2"[..], &b"4"[..]])?;
    // Past the last number: nothing; another client's copies are never read.
    let beyond = seqs.last().map_or(u64::MAX, |s| s + 1);
    expect_eq(
        C,
        numbers(
            store
                .queued_from(&a, beyond, 10)
                .await
                .map_err(backend(C))?,
        ),
        vec![],
    )?;
    let all = store
        .queued_from(&a, 0, usize::MAX)
        .await
        .map_err(backend(C))?;
    expect_eq(C, all.len(), 4)?;
    // By number, in any order asked: the forgotten third and a number that is not the
    // client's are not there; the others come in the order of their numbers.
    let picked = store
        .queued_seqs(&a, &[fourth, third, second, beyond])
        .await
        .map_err(backend(C))?;
    expect_eq(C, numbers(picked), vec![second, fourth])
}
