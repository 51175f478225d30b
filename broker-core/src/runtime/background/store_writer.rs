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
use crate::store::{SessionStore, StoreError, StoreWrite, WriteOutcome};
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
    // Nothing is lost to a stop, whatever the store's window.
    if let Err(error) = shared.persist().store().flush().await {
        tracing::warn!(%error, "The session store could not write its last changes to disk.");
    }
}

/// Who waits for a write's answer.
enum Answer {
    /// Nobody: a failure is logged.
    Nobody,
    /// A caller waiting for this write.
    Done(Reply<()>),
    /// One copy of an [`StoreOp::Enqueue`]: its copies are consecutive, the last one holds
    /// the reply with every sequence number.
    Seq(Option<Reply<Vec<u64>>>),
}

/// A write and who waits for its answer.
type Pending = (StoreWrite, Answer);

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
            StoreOp::Save(session, reply) => {
                writes.push((StoreWrite::Save(session), answer(reply)));
            }
            StoreOp::Remove(client_id) => {
                writes.push((StoreWrite::Remove(client_id), Answer::Nobody));
            }
            StoreOp::SetRetained(message, reply) => {
                writes.push((StoreWrite::SetRetained(message), answer(reply)));
            }
            StoreOp::RemoveRetained(topic, reply) => {
                writes.push((StoreWrite::RemoveRetained(topic), answer(reply)));
            }
            StoreOp::Enqueue(copies, reply) => {
                let last = copies.len().saturating_sub(1);
                if copies.is_empty() {
                    let _ = reply.send(Ok(Vec::new()));
                } else {
                    let mut reply = Some(reply);
                    for (n, (client_id, copy)) in copies.into_iter().enumerate() {
                        let answer = Answer::Seq(if n == last { reply.take() } else { None });
                        writes.push((StoreWrite::Enqueue(client_id, copy), answer));
                    }
                }
            }
            StoreOp::Forget(client_id, seqs) => {
                for seq in seqs {
                    writes.push((StoreWrite::Forget(client_id.clone(), seq), Answer::Nobody));
                }
            }
        }
        if taken < BATCH {
            next = rx.try_recv().ok();
            taken += 1;
        }
    }
    commit(store, &mut writes).await;
}

fn answer(reply: Option<Reply<()>>) -> Answer {
    reply.map_or(Answer::Nobody, Answer::Done)
}

/// Hands `writes` (emptied) to the store; failures are logged, and answered when an answer is
/// awaited.
async fn commit(store: &dyn SessionStore, writes: &mut Vec<Pending>) {
    if writes.is_empty() {
        return;
    }
    let (batch, answers): (Vec<StoreWrite>, Vec<Answer>) = writes.drain(..).unzip();
    let described: Vec<What> = batch.iter().map(What::of).collect();
    let outcomes = store.write_batch(batch).await;
    let missing = || Err(StoreError::Backend("the store gave no answer".to_owned()));
    let mut outcomes = outcomes.into_iter();
    // The sequence numbers of the enqueue under way, or its first failure.
    let mut seqs: Result<Vec<u64>, StoreError> = Ok(Vec::new());
    for (what, answer) in described.iter().zip(answers) {
        let result = outcomes.next().unwrap_or_else(missing);
        if let Err(error) = &result {
            tracing::warn!(%error, "Could not {what}.");
        }
        match answer {
            Answer::Nobody => {}
            Answer::Done(reply) => {
                let _ = reply.send(result.map(drop));
            }
            Answer::Seq(reply) => {
                match (&mut seqs, result) {
                    (Ok(seqs), Ok(WriteOutcome::Seq(seq))) => seqs.push(seq),
                    (Ok(_), Ok(other)) => {
                        seqs = Err(StoreError::Backend(format!(
                            "an enqueue gave {other:?}, not a sequence number"
                        )));
                    }
                    (Ok(_), Err(error)) => seqs = Err(error),
                    (Err(_), _) => {}
                }
                if let Some(reply) = reply {
                    let _ = reply.send(std::mem::replace(&mut seqs, Ok(Vec::new())));
                }
            }
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
