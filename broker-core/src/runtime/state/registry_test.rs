//! The registry never drops a store write for lack of room in the store's channel: with the
//! channel full and no slot given, a change that must write is refused, unchanged.

use std::sync::Arc;

use super::control::ControlSlot;
use super::registry::{NeedsSlot, Registry};
use crate::runtime::clock::now;
use crate::runtime::persist::handle::{Persist, Slot};
use crate::runtime::queue::mailbox::Mailbox;
use crate::session::{QueueLimits, SessionState};
use crate::store::MemoryStore;
use crate::types::ClientId;

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
    assert!(matches!(claim, Err(NeedsSlot)));
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
    full.pop();
    assert!(matches!(
        registry.end(&id("c"), &control, &persist, None),
        Ok(true)
    ));
    assert!(!registry.is_stored(&id("c")));
}
