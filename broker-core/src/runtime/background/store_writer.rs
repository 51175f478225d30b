//! The store task: applies the store writes in the order the broker decided them, handing the
//! store every write waiting at once ([`SessionStore::write_batch`]), so that a durable store
//! commits them together (one fsync for all).

use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::runtime::clipped::Clipped;
use crate::runtime::persist::handle::{Reply, StoreOp};
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;
use crate::store::{SessionStore, StoreError, StoreWrite};
use crate::types::{ClientId, TopicName};

/// Operations taken from the channel at once at most.
const BATCH: usize = 256;

/// Applies the store operations in order until the broker stops; then applies what is left
/// in the channel (the sessions saved by the connections that closed during the shutdown)
/// and ends.
pub(crate) async fn run(shared: Arc<Shared>, _guard: TaskGuard) {
    let Some(mut rx) = shared.persist().take_receiver() else {
        return;
    };
    let mut run_state = shared.watch_run_state();
    loop {
        tokio::select! {
            biased;
            op = rx.recv() => match op {
                Some(op) => apply(shared.persist().store(), op, &mut rx).await,
                None => return,
            },
            changed = run_state.changed() => {
                if changed.is_err() || *run_state.borrow() == RunState::Stopped {
                    break;
                }
            }
        }
    }
    rx.close();
    while let Some(op) = rx.recv().await {
        apply(shared.persist().store(), op, &mut rx).await;
    }
}

/// A write and who waits for its answer.
type Pending = (StoreWrite, Option<Reply<()>>);

/// Carries out `first` and the operations waiting behind it (up to [`BATCH`]), in order: the
/// writes between two loads go to the store as one batch.
async fn apply(store: &dyn SessionStore, first: StoreOp, rx: &mut mpsc::Receiver<StoreOp>) {
    let mut writes: Vec<Pending> = Vec::new();
    let mut next = Some(first);
    let mut taken = 1;
    while let Some(op) = next.take() {
        match op {
            StoreOp::Load(client_id, reply) => {
                // A load sees every write decided before it.
                commit(store, &mut writes).await;
                let _ = reply.send(store.load(&client_id).await);
            }
            StoreOp::Save(session) => writes.push((StoreWrite::Save(session), None)),
            StoreOp::Remove(client_id) => writes.push((StoreWrite::Remove(client_id), None)),
            StoreOp::SetRetained(message, reply) => {
                writes.push((StoreWrite::SetRetained(message), reply));
            }
            StoreOp::RemoveRetained(topic, reply) => {
                writes.push((StoreWrite::RemoveRetained(topic), reply));
            }
        }
        if taken < BATCH {
            next = rx.try_recv().ok();
            taken += 1;
        }
    }
    commit(store, &mut writes).await;
}

/// Hands `writes` (emptied) to the store; failures are logged, and answered when an answer is
/// awaited.
async fn commit(store: &dyn SessionStore, writes: &mut Vec<Pending>) {
    if writes.is_empty() {
        return;
    }
    let (batch, replies): (Vec<StoreWrite>, Vec<Option<Reply<()>>>) = writes.drain(..).unzip();
    let described: Vec<What> = batch.iter().map(What::of).collect();
    let outcomes = store.write_batch(batch).await;
    let missing = || Err(StoreError::Backend("the store gave no answer".to_owned()));
    let mut outcomes = outcomes.into_iter();
    for (what, reply) in described.iter().zip(replies) {
        let result = outcomes.next().unwrap_or_else(missing).map(drop);
        if let Err(error) = &result {
            tracing::warn!(%error, "Could not {what}.");
        }
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
}

/// What a write does, for the log line of its failure (cheap to make: the keys are shared).
enum What {
    Save(ClientId),
    Remove(ClientId),
    Enqueue(ClientId),
    Ack(ClientId),
    SetRetained(TopicName),
    RemoveRetained(TopicName),
}

impl What {
    fn of(write: &StoreWrite) -> What {
        match write {
            StoreWrite::Save(session) => What::Save(session.client_id.clone()),
            StoreWrite::Remove(client_id) => What::Remove(client_id.clone()),
            StoreWrite::Enqueue(client_id, _) => What::Enqueue(client_id.clone()),
            StoreWrite::AckQueued(client_id, _) | StoreWrite::Forget(client_id, _) => {
                What::Ack(client_id.clone())
            }
            StoreWrite::SetRetained(message) => What::SetRetained(message.topic.clone()),
            StoreWrite::RemoveRetained(topic) => What::RemoveRetained(topic.clone()),
        }
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Save(c) => write!(f, "save the session of {}", Clipped(c)),
            What::Remove(c) => write!(f, "remove the stored session of {}", Clipped(c)),
            What::Enqueue(c) => write!(f, "store a message queued for {}", Clipped(c)),
            What::Ack(c) => write!(f, "remove delivered messages of {}", Clipped(c)),
            What::SetRetained(t) => write!(f, "store the retained message of {}", Clipped(t)),
            What::RemoveRetained(t) => write!(f, "remove the retained message of {}", Clipped(t)),
        }
    }
}
