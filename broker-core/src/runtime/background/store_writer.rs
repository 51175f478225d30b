//! The store task: applies the store writes in the order the broker decided them, handing the
//! store every write waiting at once ([`SessionStore::write_batch`]), so that a durable store
//! commits them together (one fsync for all). The copies for persistent sessions that no
//! publisher waits for ([`StoreOp::Place`]) are queued into their mailboxes here, once the
//! store has them, in the order of the channel; what they replace goes after them (a member's
//! stored copies, or the whole stored session of a member whose session ended).

use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::runtime::clipped::Clipped;
use crate::runtime::persist::handle::{Replaced, Reply, StoreOp};
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::routing;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;
use crate::session::QueuedMessage;
use crate::store::{StoreError, StoreWrite, WriteOutcome};
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
                Some(op) => apply(&shared, op, &mut rx).await,
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
        apply(&shared, op, &mut rx).await;
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
    /// One copy of an [`StoreOp::Enqueue`] or [`StoreOp::Place`]: its copies are
    /// consecutive, the last one holds who takes every sequence number.
    Seq(Option<Numbers>),
}

/// Who takes the sequence numbers of the copies of one operation.
enum Numbers {
    /// A publisher waiting to answer its client ([`StoreOp::Enqueue`]).
    Reply(Reply<Vec<u64>>),
    /// Nobody: the copies go into their mailboxes with them, and the stored copies they
    /// replace are forgotten, once the store has them ([`StoreOp::Place`]).
    Place(
        Vec<(Arc<Mailbox>, QueuedMessage)>,
        Option<(ClientId, Vec<u64>)>,
    ),
}

/// Writes for the store, and who waits for the answer of each (kept apart: the writes go to
/// the store as they are, without being moved once more).
#[derive(Default)]
struct Pending {
    writes: Vec<StoreWrite>,
    answers: Vec<Answer>,
}

impl Pending {
    fn push(&mut self, write: StoreWrite, answer: Answer) {
        self.writes.push(write);
        self.answers.push(answer);
    }

    fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// Carries out `first` and the operations waiting behind it (up to [`BATCH`]), in order: the
/// writes between two loads go to the store as one batch.
async fn apply(shared: &Shared, first: StoreOp, rx: &mut mpsc::Receiver<StoreOp>) {
    let store = shared.persist().store();
    let mut writes = Pending::default();
    let mut next = Some(first);
    let mut taken = 1;
    while let Some(op) = next.take() {
        match op {
            StoreOp::Load(client_id, reply) => {
                // A load sees every write decided before it.
                commit_all(shared, &mut writes).await;
                let _ = reply.send(store.load(&client_id).await);
            }
            StoreOp::Save(session, reply) => {
                writes.push(StoreWrite::Save(session), answer(reply));
            }
            StoreOp::Remove(client_id) => {
                writes.push(StoreWrite::Remove(client_id), Answer::Nobody);
            }
            StoreOp::SetRetained(message, reply) => {
                writes.push(StoreWrite::SetRetained(message), answer(reply));
            }
            StoreOp::RemoveRetained(topic, reply) => {
                writes.push(StoreWrite::RemoveRetained(topic), answer(reply));
            }
            StoreOp::Enqueue(copies, reply) => {
                if copies.is_empty() {
                    let _ = reply.send(Ok(Vec::new()));
                } else {
                    enqueue(&mut writes, copies, Numbers::Reply(reply));
                }
            }
            StoreOp::Place { copies, replaces } => place(shared, &mut writes, copies, replaces),
            StoreOp::Forget(client_id, seqs) => forget(&mut writes, &client_id, seqs),
        }
        if taken < BATCH {
            next = rx.try_recv().ok();
            taken += 1;
        }
    }
    commit_all(shared, &mut writes).await;
}

/// Commits `writes` and what their answers add (the removals that wait for copies).
async fn commit_all(shared: &Shared, writes: &mut Pending) {
    while !writes.is_empty() {
        commit(shared, writes).await;
    }
}

fn answer(reply: Option<Reply<()>>) -> Answer {
    reply.map_or(Answer::Nobody, Answer::Done)
}

/// Adds the copies of a [`StoreOp::Place`] to `writes`, and what they replace: a member's
/// stored copies, forgotten once the store has the new ones ([`commit`]); an ended session,
/// removed right behind them.
fn place(
    shared: &Shared,
    writes: &mut Pending,
    copies: Vec<(Arc<Mailbox>, QueuedMessage)>,
    replaces: Option<Replaced>,
) {
    let (forget_after, ended) = match replaces {
        Some(Replaced::Copies(client_id, seqs)) => (Some((client_id, seqs)), None),
        Some(Replaced::Session(client_id)) => (None, Some(client_id)),
        None => (None, None),
    };
    let stored = routing::durable_copies(&copies);
    if stored.is_empty() {
        routing::place_stored(shared, copies, Ok(Vec::new()));
        if let Some((client_id, seqs)) = forget_after {
            forget(writes, &client_id, seqs);
        }
    } else {
        enqueue(writes, stored, Numbers::Place(copies, forget_after));
    }
    if let Some(client_id) = ended {
        writes.push(StoreWrite::Remove(client_id), Answer::Nobody);
    }
}

/// Adds the enqueue of `copies` (not empty) to `writes`, the last one holding `numbers`.
fn enqueue(writes: &mut Pending, copies: Vec<(ClientId, QueuedMessage)>, numbers: Numbers) {
    let last = copies.len().saturating_sub(1);
    let mut numbers = Some(numbers);
    for (n, (client_id, copy)) in copies.into_iter().enumerate() {
        let answer = Answer::Seq(if n == last { numbers.take() } else { None });
        writes.push(StoreWrite::Enqueue(client_id, copy), answer);
    }
}

/// Adds the removal of `client_id`'s copies `seqs` to `writes`, as one write.
fn forget(writes: &mut Pending, client_id: &ClientId, seqs: Vec<u64>) {
    if !seqs.is_empty() {
        writes.push(StoreWrite::Forget(client_id.clone(), seqs), Answer::Nobody);
    }
}

/// Hands `writes` to the store; failures are logged, and answered when an answer is
/// awaited. Copies no publisher waits for go into their mailboxes with their numbers, and the
/// removal of the stored copies they replace is left in `writes`, for the next batch: made
/// only once the store has the new ones, so that a crash finds the message under one client
/// or the other, never under neither.
async fn commit(shared: &Shared, writes: &mut Pending) {
    if writes.is_empty() {
        return;
    }
    let store = shared.persist().store();
    let Pending {
        writes: batch,
        answers,
    } = std::mem::take(writes);
    let described: Vec<What> = batch.iter().map(What::of).collect();
    let outcomes = store.write_batch(batch).await;
    let missing = || Err(StoreError::Backend("the store gave no answer".to_owned()));
    let mut outcomes = outcomes.into_iter();
    // The sequence numbers of the enqueue under way, or its first failure.
    let mut seqs: Result<Vec<u64>, StoreError> = Ok(Vec::new());
    // The removals whose replacing copies the store now has.
    let mut after = Pending::default();
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
                let Some(numbers) = reply else {
                    continue;
                };
                let taken = std::mem::replace(&mut seqs, Ok(Vec::new()));
                match numbers {
                    Numbers::Reply(reply) => {
                        let _ = reply.send(taken);
                    }
                    Numbers::Place(copies, replaces) => {
                        // A copy the store refused leaves the one it replaces stored: a
                        // restart may give it to its old owner again, never lose it.
                        if let (Ok(_), Some((client_id, seqs))) = (&taken, replaces) {
                            forget(&mut after, &client_id, seqs);
                        }
                        routing::place_stored(shared, copies, taken);
                    }
                }
            }
        }
    }
    *writes = after;
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
