//! The registry never drops a store write for lack of room in the store's channel: with the
//! channel full and no slot given, a change that must write is refused, unchanged. A stored
//! session that ends keeps its identifier until the removal of its record is sent: a claim
//! meanwhile is refused, and its load follows the removal in the store's channel; the copies
//! the session handed over go ahead of the removal, in the same operation.

use std::sync::Arc;

use bytes::Bytes;

use super::control::ControlSlot;
use super::registry::{NeedsSlot, NotClaimed, Registry};
use crate::codec::PublishProperties;
use crate::runtime::clock::now;
use crate::runtime::persist::handle::{Persist, Replaced, Slot, StoreOp};
use crate::runtime::queue::mailbox::Mailbox;
use crate::session::{Message, QueueLimits, QueuedMessage, SessionState};
use crate::store::MemoryStore;
use crate::types::{ClientId, QoS, TopicName};

fn persist() -> Persist {
    Persist::new(Arc::new(MemoryStore::new()))
}

/// Every free slot of `persist`'s channel (the loop ends at the channel's capacity).
fn fill(persist: &Persist) -> Vec<Slot<'_>> {
    std::iter::from_fn(|| persist.try_reserve()).collect()
}

fn id(name: &str) -> ClientId {
    ClientId::new(name).unwrap_or_else(|error| panic!("{error}"))
}

fn mailbox() -> Arc<Mailbox> {
    Mailbox::new(QueueLimits::default())
}

#[tokio::test]
async fn a_claim_that_must_load_waits_for_room_in_the_store_channel() {
    let persist = persist();
    let registry = Registry::default();
    let control = ControlSlot::new();
    let mut full = fill(&persist);
    assert!(!full.is_empty());
    // Clean start 0 and no entry: the session is to be loaded, and no slot is free.
    let claim = registry.claim(&id("a"), &control, false, mailbox, &persist, None);
    assert!(matches!(claim, Err(NotClaimed::NeedsSlot)));
    assert!(
        !registry.connect_needs_store(&id("a"), true),
        "nothing was added"
    );
    full.pop();
    let claim = registry.claim(&id("a"), &control, false, mailbox, &persist, None);
    assert!(claim.is_ok_and(|claim| claim.load.is_some()));
}

#[tokio::test]
async fn keeping_a_session_offline_waits_for_room_to_save_it() {
    let persist = persist();
    let registry = Registry::default();
    let control = ControlSlot::new();
    let claim = registry.claim(&id("b"), &control, true, mailbox, &persist, None);
    assert!(claim.is_ok());
    let mut full = fill(&persist);
    let state = SessionState::new(id("b"));
    let kept = registry.keep_offline(&control, state, None, 60, &persist, None, now());
    let Err((state, None, Some(NeedsSlot))) = kept else {
        panic!("the save was not refused");
    };
    assert!(!registry.is_stored(&id("b")));
    assert_eq!(registry.occupancy().0, 0, "the session is still online");
    full.pop();
    let kept = registry.keep_offline(&control, state, None, 60, &persist, None, now());
    assert!(kept.is_ok());
    assert!(registry.is_stored(&id("b")));
    assert_eq!(registry.occupancy().0, 1);
}

#[tokio::test]
async fn ending_a_stored_session_waits_for_room_to_remove_its_record() {
    let persist = persist();
    let registry = Registry::default();
    let control = ControlSlot::new();
    let claim = registry.claim(&id("c"), &control, true, mailbox, &persist, None);
    assert!(claim.is_ok());
    registry.set_stored(&id("c"), &control, 60);
    let mut full = fill(&persist);
    let ended = registry.end(&id("c"), &control, &persist, None);
    assert!(matches!(ended, Err(NeedsSlot)));
    assert!(registry.is_stored(&id("c")), "the entry is still there");
    assert!(!registry.is_ending(&id("c")));
    full.pop();
    let Ok(Some(removal)) = registry.end(&id("c"), &control, &persist, None) else {
        panic!("the session did not end");
    };
    assert!(registry.is_ending(&id("c")));
    assert!(removal.send(Vec::new()).is_empty());
    assert!(!registry.is_ending(&id("c")));
    assert!(!registry.is_stored(&id("c")));
}

/// The removal of a stored record that the caller sends once the ended session's messages
/// are handed over: until then a claim of the identifier is refused, changing nothing; after
/// it, the claim's load follows the removal in the store's channel. A removal dropped unsent
/// is sent.
#[tokio::test]
async fn an_ending_session_keeps_its_identifier_until_its_record_removal_is_sent() {
    let persist = persist();
    let Some(mut rx) = persist.take_receiver() else {
        panic!("no receiver");
    };
    let registry = Registry::default();
    let control = ControlSlot::new();
    assert!(registry
        .claim(&id("d"), &control, true, mailbox, &persist, None)
        .is_ok());
    registry.set_stored(&id("d"), &control, 60);
    let Ok(Some(removal)) = registry.end(&id("d"), &control, &persist, None) else {
        panic!("the session did not end");
    };
    assert!(
        rx.try_recv().is_err(),
        "nothing is sent before the hand-over"
    );
    let other = ControlSlot::new();
    let claim = registry.claim(&id("d"), &other, false, mailbox, &persist, None);
    assert!(matches!(claim, Err(NotClaimed::Ending)));
    assert!(!registry.connect_needs_store(&id("d"), false));

    let ended = registry.when_ended();
    tokio::pin!(ended);
    ended.as_mut().enable();
    assert!(removal.send(Vec::new()).is_empty());
    ended.await;
    assert!(matches!(rx.try_recv(), Ok(StoreOp::Remove(client)) if client == id("d")));
    let claim = registry.claim(&id("d"), &other, false, mailbox, &persist, None);
    assert!(claim.is_ok_and(|claim| claim.load.is_some()));
    assert!(matches!(rx.try_recv(), Ok(StoreOp::Load(client, _)) if client == id("d")));

    // Dropped: sent all the same.
    registry.set_stored(&id("d"), &other, 60);
    let ended = registry.end(&id("d"), &other, &persist, None);
    assert!(matches!(ended, Ok(Some(_))));
    drop(ended);
    assert!(!registry.is_ending(&id("d")));
    assert!(matches!(rx.try_recv(), Ok(StoreOp::Remove(client)) if client == id("d")));
}

/// A clean session owes the store nothing: it leaves at once, and nothing is sent.
#[tokio::test]
async fn ending_a_session_the_store_never_held_sends_nothing() {
    let persist = persist();
    let Some(mut rx) = persist.take_receiver() else {
        panic!("no receiver");
    };
    let registry = Registry::default();
    let control = ControlSlot::new();
    assert!(registry
        .claim(&id("e"), &control, true, mailbox, &persist, None)
        .is_ok());
    let Ok(Some(removal)) = registry.end(&id("e"), &control, &persist, None) else {
        panic!("the session did not end");
    };
    assert!(!registry.is_ending(&id("e")));
    assert!(
        registry.connect_needs_store(&id("e"), false),
        "the entry is gone"
    );
    assert!(removal.send(Vec::new()).is_empty());
    assert!(rx.try_recv().is_err());
}

/// The copies an ended session handed to persistent members go to the store with the removal
/// of its record, ahead of it, in one operation: the store task queues them, then removes the
/// record, whatever else the channel holds.
#[tokio::test]
async fn an_ended_sessions_copies_go_ahead_of_its_removal_in_one_operation() {
    let persist = persist();
    let Some(mut rx) = persist.take_receiver() else {
        panic!("no receiver");
    };
    let registry = Registry::default();
    let control = ControlSlot::new();
    assert!(registry
        .claim(&id("f"), &control, true, mailbox, &persist, None)
        .is_ok());
    registry.set_stored(&id("f"), &control, 60);
    let Ok(Some(removal)) = registry.end(&id("f"), &control, &persist, None) else {
        panic!("the session did not end");
    };
    let topic = TopicName::new("work/x").unwrap_or_else(|error| panic!("{error}"));
    let message = Message::new(
        topic,
        Bytes::from_static(b"m"),
        QoS::AtLeastOnce,
        false,
        PublishProperties::default(),
        now(),
    );
    let copy = QueuedMessage::new(message, QoS::AtLeastOnce, false, Vec::new());
    assert!(removal.send(vec![(mailbox(), copy)]).is_empty());
    match rx.try_recv() {
        Ok(StoreOp::Place {
            copies,
            replaces: Some(Replaced::Session(client)),
        }) => {
            assert_eq!(copies.len(), 1);
            assert_eq!(client, id("f"));
        }
        _ => panic!("not one operation placing the copies, then removing the session"),
    }
    assert!(rx.try_recv().is_err(), "nothing else was sent");
}

/// An administrative discard of an offline session the store holds is refused, unchanged,
/// while the store's channel is full, then ends it as an expiry does: the identifier is kept
/// until the record's removal is sent. An online session is not discarded this way.
#[tokio::test]
async fn discarding_an_offline_stored_session_waits_for_room_and_removes_its_record() {
    let persist = persist();
    let Some(mut rx) = persist.take_receiver() else {
        panic!("no receiver");
    };
    let registry = Registry::default();
    let control = ControlSlot::new();
    assert!(registry
        .claim(&id("g"), &control, true, mailbox, &persist, None)
        .is_ok());
    assert!(matches!(
        registry.discard_offline(&id("g"), &persist, None, now()),
        Ok(None)
    ));
    let state = SessionState::new(id("g"));
    assert!(registry
        .keep_offline(&control, state, None, 60, &persist, None, now())
        .is_ok());
    assert!(matches!(rx.try_recv(), Ok(StoreOp::Save(..))));

    let full = fill(&persist);
    assert!(matches!(
        registry.discard_offline(&id("g"), &persist, None, now()),
        Err(NeedsSlot)
    ));
    assert!(registry.with_session(&id("g"), |entry| entry.offline().is_some()) == Some(true));
    drop(full);

    let Ok(Some((state, will, _mailbox, removal))) =
        registry.discard_offline(&id("g"), &persist, None, now())
    else {
        panic!("the offline session was not discarded");
    };
    assert_eq!(state.client_id(), &id("g"));
    assert!(will.is_none());
    assert!(registry.is_ending(&id("g")));
    assert!(removal.send(Vec::new()).is_empty());
    assert!(registry.with_session(&id("g"), |_| ()).is_none());
    assert!(matches!(rx.try_recv(), Ok(StoreOp::Remove(client)) if client == id("g")));
}
