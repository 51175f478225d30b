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
use crate::runtime::queue::mailbox::Mailbox;
use crate::session::{QueuedMessage, Refilled};
use crate::store::{SessionStore, StoreError};
use crate::types::{ClientId, StoreSeq};

/// How long a mailbox waits before it asks again after the store failed a read.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Starts reading the spilled copies of `mailbox` that its window has room for, unless a
/// read runs already; the caller saw [`Queue::wants_read_back`] under the mailbox's lock.
/// `missing` is told how many the store no longer had (to count them). Never waits.
///
/// [`Queue::wants_read_back`]: crate::runtime::queue::mailbox::Queue::wants_read_back
pub(crate) fn start(
    store: &Arc<dyn SessionStore>,
    mailbox: &Arc<Mailbox>,
    missing: impl FnOnce(u64) + Send + 'static,
) {
    let Some(client_id) = mailbox.owner().cloned() else {
        return;
    };
    if !mailbox.begin_refill() {
        return;
    }
    let store = Arc::clone(store);
    let mailbox = Arc::clone(mailbox);
    tokio::spawn(async move {
        let wanted = mailbox.lock().to_read_back();
        match read(&store, &client_id, &mailbox, &wanted).await {
            Ok(refilled) if !refilled.missing.is_empty() => {
                missing(refilled.missing.len() as u64);
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(
                    "Could not read the queued messages of client {} back from the session store \
                 (retrying in {RETRY_AFTER:?}): {error}",
                    Clipped(&client_id)
                );
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
        mailbox.end_refill();
    });
}

/// Reads back every spilled copy of `mailbox`: its session stops being durable, and the
/// store will not keep its queue. Returns how many copies the store no longer had.
pub(crate) async fn all(
    store: &Arc<dyn SessionStore>,
    client_id: &ClientId,
    mailbox: &Mailbox,
) -> Result<usize, StoreError> {
    let wanted = mailbox.lock().all_spilled();
    Ok(read(store, client_id, mailbox, &wanted)
        .await?
        .missing
        .len())
}

/// Reads the copies `wanted` of `client_id` from the store into their places in `mailbox`.
///
/// The read runs on tokio's blocking pool: a store may read its disk, or wait for its own
/// lock, in place, and a worker thread blocked on that would stall every connection it
/// serves.
async fn read(
    store: &Arc<dyn SessionStore>,
    client_id: &ClientId,
    mailbox: &Mailbox,
    wanted: &[StoreSeq],
) -> Result<Refilled, StoreError> {
    if wanted.is_empty() {
        return Ok(Refilled::default());
    }
    let started = std::time::Instant::now();
    let numbers: Vec<u64> = wanted.iter().map(|seq| seq.get()).collect();
    let (reader, id) = (Arc::clone(store), client_id.clone());
    let runtime = tokio::runtime::Handle::current();
    let read = tokio::task::spawn_blocking(move || {
        runtime.block_on(async move { reader.queued_seqs(&id, &numbers).await })
    })
    .await
    .map_err(|error| StoreError::Backend(format!("the read stopped: {error}")))?;
    let loaded: Vec<QueuedMessage> = read?
        .into_iter()
        .map(|(seq, mut copy)| {
            copy.stored = StoreSeq::new(seq);
            copy
        })
        .collect();
    let refilled = mailbox.lock().refill(loaded, wanted);
    metrics::counter!("skein_store_read_back_copies_total").increment(refilled.restored as u64);
    tracing::debug!(
        "Client {}: {} queued messages read back from the session store in {:?}.",
        Clipped(client_id),
        refilled.restored,
        started.elapsed()
    );
    if !refilled.missing.is_empty() {
        tracing::warn!(
            "Client {}: {} queued messages were no longer in the session store.",
            Clipped(client_id),
            refilled.missing.len()
        );
    }
    Ok(refilled)
}
