//! How [`DiskStore`] hands writes to its committer, and when it answers them.
//!
//! A write becomes an [`Op`] on the caller's task: its records encoded and sealed, a queued
//! copy given its sequence number. The ops of one call go to the committer as one submission,
//! in the order calls are made. At `sync` the call waits for the committer's answer (after
//! the fsync). At `batched` the broker does not wait: a call whose writes the store can answer
//! itself (all but the removals that report whether something was there) is answered as soon
//! as it is submitted; the committer applies it in order, and the flusher fsyncs within the
//! window. A read first waits until the committer has applied every write submitted before
//! it, so it sees them all. After a failed batch, calls wait for the committer again, which
//! answers with the failure until its database is reopened.

use std::sync::atomic::Ordering;

use broker_core::store::{
    encode_queued, encode_retained, StoreError, StoreWrite, WallClock, WriteOutcome,
};
use bytes::BytesMut;
use tokio::sync::oneshot;

use crate::committer::{self, Submission};
use crate::disk_store::DiskStore;
use crate::op::{Op, Outcome};
use crate::options::Durability;
use crate::record;
use crate::state_machine::SeqCounter;

/// The committer's answer to come.
type Answer = oneshot::Receiver<Result<Vec<Outcome>, StoreError>>;

impl DiskStore {
    /// Submits `ops` to the committer and waits for their outcomes.
    pub(crate) async fn submit(&self, ops: Vec<Op>) -> Result<Vec<Outcome>, StoreError> {
        let answer = {
            let _order = self.order.lock().await;
            self.send(ops, true).await?
        };
        wait(answer).await
    }

    /// Hands `ops` to the committer; with `answer`, the committer's answer to them comes.
    async fn send(&self, ops: Vec<Op>, answer: bool) -> Result<Option<Answer>, StoreError> {
        let tx = self.tx.as_ref().ok_or_else(closed)?;
        let (reply, receiver) = if answer {
            let (reply, receiver) = oneshot::channel();
            (Some(reply), Some(receiver))
        } else {
            (None, None)
        };
        tx.send(Submission { ops, reply })
            .await
            .map_err(|_| closed())?;
        Ok(receiver)
    }

    /// Waits until the committer has applied every write submitted before (at `batched`,
    /// where writes are answered before they are applied), so that a read sees them.
    pub(crate) async fn settle(&self) {
        if matches!(self.durability(), Durability::Batched { .. }) {
            // A failure is the writes' to report; the read goes on with what is there.
            let _ = self.submit(Vec::new()).await;
        }
    }

    /// [`SessionStore::write_batch`](broker_core::store::SessionStore::write_batch): one
    /// submission, so one atomic batch and one fsync (or a share of one) for all of
    /// `writes`. A write that cannot be encoded fails alone.
    pub(crate) async fn submit_writes(
        &self,
        writes: Vec<StoreWrite>,
    ) -> Vec<Result<WriteOutcome, StoreError>> {
        let clock = WallClock::now();
        let mut results: Vec<Result<Option<WriteOutcome>, StoreError>> =
            Vec::with_capacity(writes.len());
        let mut ops = Vec::with_capacity(writes.len());
        let mut buf = BytesMut::new();
        let answer = {
            // Numbers are given in the order the writes reach the committer.
            let _order = self.order.lock().await;
            for write in writes {
                match to_op(write, clock, &self.seqs, &mut buf) {
                    Ok((op, outcome)) => {
                        ops.push(op);
                        results.push(Ok(outcome));
                    }
                    Err(error) => results.push(Err(error)),
                }
            }
            if ops.is_empty() {
                return results.into_iter().map(known).collect();
            }
            let at_once = matches!(self.durability(), Durability::Batched { .. })
                && committer::failed(&self.failure).is_none()
                && results.iter().all(|r| !matches!(r, Ok(None)));
            match self.send(ops, !at_once).await {
                Ok(Some(answer)) => answer,
                Ok(None) => return results.into_iter().map(known).collect(),
                Err(error) => return fail_all(results, &error),
            }
        };
        match wait(Some(answer)).await {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                results
                    .into_iter()
                    .map(|result| {
                        result?;
                        outcomes.next().map(to_outcome).ok_or_else(|| {
                            StoreError::Backend("the committer gave too few outcomes".to_owned())
                        })
                    })
                    .collect()
            }
            Err(error) => fail_all(results, &error),
        }
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the session store is closed".to_owned())
}

async fn wait(answer: Option<Answer>) -> Result<Vec<Outcome>, StoreError> {
    match answer {
        Some(answer) => answer.await.map_err(|_| closed())?,
        None => Ok(Vec::new()),
    }
}

/// The outcomes the store gave itself (every write has one when it answered at once).
fn known(result: Result<Option<WriteOutcome>, StoreError>) -> Result<WriteOutcome, StoreError> {
    result.map(|outcome| outcome.unwrap_or(WriteOutcome::Done))
}

/// `error` for every write that was submitted.
fn fail_all(
    results: Vec<Result<Option<WriteOutcome>, StoreError>>,
    error: &StoreError,
) -> Vec<Result<WriteOutcome, StoreError>> {
    results
        .into_iter()
        .map(|result| result.and(Err(error.clone())))
        .collect()
}

fn sealed(
    encode: impl FnOnce(&mut BytesMut) -> Result<(), broker_core::codec::EncodeError>,
) -> Result<Vec<u8>, StoreError> {
    let mut buf = BytesMut::new();
    encode(&mut buf).map_err(encoding)?;
    Ok(record::seal(&buf))
}

fn encoding(error: broker_core::codec::EncodeError) -> StoreError {
    StoreError::Backend(format!("encoding a record: {error}"))
}

/// The operation of `write`, its records encoded and sealed at `clock` (a queued copy into
/// `buf`, whose allocation the copies of a call share), a queued copy numbered from `seqs`;
/// and its outcome, when the store knows it before the committer applies it.
fn to_op(
    write: StoreWrite,
    clock: WallClock,
    seqs: &SeqCounter,
    buf: &mut BytesMut,
) -> Result<(Op, Option<WriteOutcome>), StoreError> {
    Ok(match write {
        StoreWrite::Save(session) => (
            Op::SaveSession {
                record: sealed(|buf| session.encode(clock.now, buf))?,
                client_id: session.client_id,
            },
            Some(WriteOutcome::Done),
        ),
        StoreWrite::Remove(client_id) => (Op::RemoveSession { client_id }, None),
        StoreWrite::Enqueue(client_id, message) => {
            encode_queued(&message, clock, buf).map_err(encoding)?;
            let seq = seqs.fetch_add(1, Ordering::AcqRel);
            (
                Op::Enqueue {
                    record: buf.split().freeze(),
                    seq,
                    client_id,
                },
                Some(WriteOutcome::Seq(seq)),
            )
        }
        StoreWrite::AckQueued(client_id, up_to) => {
            (Op::AckQueued { client_id, up_to }, Some(WriteOutcome::Done))
        }
        StoreWrite::Forget(client_id, seqs) => (
            Op::ForgetQueued { client_id, seqs },
            Some(WriteOutcome::Done),
        ),
        StoreWrite::SetRetained(message) => (
            Op::SetRetained {
                record: sealed(|buf| encode_retained(&message, buf))?,
                topic: message.topic,
            },
            Some(WriteOutcome::Done),
        ),
        StoreWrite::RemoveRetained(topic) => (Op::RemoveRetained { topic }, None),
    })
}

fn to_outcome(outcome: Outcome) -> WriteOutcome {
    match outcome {
        Outcome::Done => WriteOutcome::Done,
        Outcome::Seq(seq) => WriteOutcome::Seq(seq),
        Outcome::Existed(existed) => WriteOutcome::Existed(existed),
    }
}
