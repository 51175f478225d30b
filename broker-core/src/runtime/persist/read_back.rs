//! Reading a durable mailbox's spilled copies back from the store.
//!
//! A durable mailbox holds a window of messages in memory; the copies pushed past it stay in
//! the store ([`MessageQueue::set_resident`](crate::session::MessageQueue::set_resident)).
//! When the window has drained to half, the owner's connection asks for the next ones
//! ([`start`]): a task reads them from the store and puts them in their places, then wakes
//! the owner. The store has every spilled copy already: a copy is queued only once the store
//! has answered its write, and a read sees every write answered before it.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::clipped::Clipped;
use crate::runtime::queue::mailbox::{Mailbox, RESIDENT};
use crate::session::{QueuedMessage, Refilled};
use crate::store::{SessionStore, StoreError};
use crate::types::{ClientId, StoreSeq};

/// How long a mailbox waits before it asks again after the store failed a read.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Starts reading the spilled copies of `mailbox` that its window has room for, unless a
/// read runs already or there is nothing to read. Never waits.
pub(crate) fn start(store: &Arc<dyn SessionStore>, mailbox: &Arc<Mailbox>) {
    let Some(client_id) = mailbox.owner().cloned() else {
        return;
    };
    if mailbox.lock().spilled_range().is_none() || !mailbox.begin_refill() {
        return;
    }
    let store = Arc::clone(store);
    let mailbox = Arc::clone(mailbox);
    tokio::spawn(async move {
        if let Err(error) = step(&*store, &client_id, &mailbox).await {
            tracing::warn!(
                "Could not read the queued messages of client {} back from the session store \
                 (retrying in {RETRY_AFTER:?}): {error}",
                Clipped(&client_id)
            );
            tokio::time::sleep(RETRY_AFTER).await;
        }
        mailbox.end_refill();
    });
}

/// Reads back every spilled copy of `mailbox`: its session stops being durable, and the
/// store will not keep its queue. Returns how many copies the store no longer had.
pub(crate) async fn all(
    store: &dyn SessionStore,
    client_id: &ClientId,
    mailbox: &Mailbox,
) -> Result<usize, StoreError> {
    let mut missing = 0;
    loop {
        let Some(range) = full_range(mailbox) else {
            return Ok(missing);
        };
        missing += read(store, client_id, mailbox, range, usize::MAX)
            .await?
            .missing
            .len();
    }
}

/// One read of the copies the window has room for.
async fn step(
    store: &dyn SessionStore,
    client_id: &ClientId,
    mailbox: &Mailbox,
) -> Result<(), StoreError> {
    let Some(range) = mailbox.lock().spilled_range() else {
        return Ok(());
    };
    // Room for the window's copies, and for copies of the range the queue let go but the
    // store has not forgotten yet.
    read(store, client_id, mailbox, range, 2 * RESIDENT).await?;
    Ok(())
}

/// Reads the store's copies of `client_id` numbered `low` to `high` (`limit` at most) into
/// the places of `mailbox`.
async fn read(
    store: &dyn SessionStore,
    client_id: &ClientId,
    mailbox: &Mailbox,
    (low, high): (StoreSeq, StoreSeq),
    limit: usize,
) -> Result<Refilled, StoreError> {
    let read = store.queued_from(client_id, low.get(), limit).await?;
    let complete = read.len() < limit;
    let mut loaded: Vec<QueuedMessage> = Vec::with_capacity(read.len());
    for (seq, mut copy) in read {
        if seq > high.get() {
            break;
        }
        copy.stored = StoreSeq::new(seq);
        loaded.push(copy);
    }
    // A read cut by its limit settles the places up to its last copy only.
    let through = match loaded.last().and_then(|copy| copy.stored) {
        Some(last) if !complete => last,
        _ => high,
    };
    let refilled = mailbox.lock().refill(loaded, through);
    if !refilled.missing.is_empty() {
        tracing::warn!(
            "Client {}: {} queued messages were no longer in the session store.",
            Clipped(client_id),
            refilled.missing.len()
        );
    }
    Ok(refilled)
}

/// The numbers of every spilled copy of `mailbox`, lowest and highest.
fn full_range(mailbox: &Mailbox) -> Option<(StoreSeq, StoreSeq)> {
    mailbox.lock().spilled_bounds()
}
