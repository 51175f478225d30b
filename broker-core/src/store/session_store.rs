//! The storage seam for persistent sessions and retained messages.

use async_trait::async_trait;

use crate::router::RetainedMessage;
use crate::session::QueuedMessage;
use crate::types::{ClientId, TopicName};

use super::{StoreError, StoreWrite, StoredSession, WriteOutcome};

/// Durable storage of persistent sessions, their queued messages, and retained messages.
///
/// Implementations: [`MemoryStore`](super::MemoryStore) here; the disk store (on redb) and
/// its openraft replication in `broker-storage`. Every implementation follows the durability contract of
/// the [`store`](super) module and passes [`conformance`](super::conformance).
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// The session record of `client_id`, if one is stored.
    async fn load(&self, client_id: &ClientId) -> Result<Option<StoredSession>, StoreError>;

    /// Stores `session`, replacing any record of the same client identifier. The queue is
    /// untouched.
    async fn save(&self, session: &StoredSession) -> Result<(), StoreError>;

    /// Removes the session record and the queue of `client_id`. Returns whether a record
    /// existed.
    async fn remove(&self, client_id: &ClientId) -> Result<bool, StoreError>;

    /// The client identifiers of every stored session, for recovery at start.
    async fn sessions(&self) -> Result<Vec<ClientId>, StoreError>;

    /// Appends `message` to the queue of `client_id` and returns its sequence number.
    async fn enqueue(
        &self,
        client_id: &ClientId,
        message: &QueuedMessage,
    ) -> Result<u64, StoreError>;

    /// The queued messages of `client_id`, oldest first, with their sequence numbers.
    async fn queued(&self, client_id: &ClientId) -> Result<Vec<(u64, QueuedMessage)>, StoreError>;

    /// At most `limit` of the queued messages of `client_id` numbered `from` or above, oldest
    /// first, with their sequence numbers: recovery reads a long queue in pieces. This one filters [`queued`](Self::queued); a store that can read a range of
    /// one client's queue does so instead.
    async fn queued_from(
        &self,
        client_id: &ClientId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        let mut queued = self.queued(client_id).await?;
        queued.retain(|(seq, _)| *seq >= from);
        queued.truncate(limit);
        Ok(queued)
    }

    /// The queued messages of `client_id` numbered `seqs` that the store has, in the order of
    /// their numbers: a queue that keeps only a window of its messages in memory reads the
    /// next ones back in its turn. This one filters [`queued`](Self::queued); a store that
    /// can read single copies does so instead.
    async fn queued_seqs(
        &self,
        client_id: &ClientId,
        seqs: &[u64],
    ) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        let wanted: std::collections::HashSet<u64> = seqs.iter().copied().collect();
        let mut queued = self.queued(client_id).await?;
        queued.retain(|(seq, _)| wanted.contains(seq));
        Ok(queued)
    }

    /// Removes the queued messages of `client_id` with a sequence number up to and including
    /// `up_to` (sent, or dropped).
    async fn ack_queued(&self, client_id: &ClientId, up_to: u64) -> Result<(), StoreError>;

    /// Removes the queued message `seq` of `client_id`, if it is there: the client has
    /// acknowledged it, or it was dropped. Messages complete out of order (QoS 1 and 2 mixed,
    /// a message expired in the middle of the queue), so this is by number, not up to one.
    async fn forget_queued(&self, client_id: &ClientId, seq: u64) -> Result<(), StoreError>;

    /// Whether the broker hands this store the QoS 1 and 2 messages it queues for persistent
    /// sessions (before it acknowledges them to their publishers) and tells it which ones the
    /// subscriber has finished with. A store that outlives the process says yes; the in-memory
    /// store says no (the session's queue in memory is as durable).
    fn keeps_messages(&self) -> bool {
        false
    }

    /// Stores `message` as the retained message of its topic, replacing any.
    async fn set_retained(&self, message: &RetainedMessage) -> Result<(), StoreError>;

    /// Removes the retained message of `topic`. Returns whether one existed.
    async fn remove_retained(&self, topic: &TopicName) -> Result<bool, StoreError>;

    /// Every retained message, for recovery at start.
    async fn retained(&self) -> Result<Vec<RetainedMessage>, StoreError>;

    /// Makes every write that returned durable now, whatever the store's durability level
    /// (a batched store fsyncs what its window still holds). The broker calls it when it
    /// stops, after its last write.
    async fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Applies `writes` in order and answers each, as the record-level calls would one after
    /// the other. This one makes those calls; a store that can commit several writes at once
    /// (the disk store: one transaction, one fsync) does so instead.
    async fn write_batch(&self, writes: Vec<StoreWrite>) -> Vec<Result<WriteOutcome, StoreError>> {
        let mut outcomes = Vec::with_capacity(writes.len());
        for write in writes {
            outcomes.push(match write {
                StoreWrite::Save(session) => self.save(&session).await.map(|()| WriteOutcome::Done),
                StoreWrite::Remove(client_id) => {
                    self.remove(&client_id).await.map(WriteOutcome::Existed)
                }
                StoreWrite::Enqueue(client_id, message) => self
                    .enqueue(&client_id, &message)
                    .await
                    .map(WriteOutcome::Seq),
                StoreWrite::AckQueued(client_id, up_to) => self
                    .ack_queued(&client_id, up_to)
                    .await
                    .map(|()| WriteOutcome::Done),
                StoreWrite::Forget(client_id, seqs) => {
                    let mut forgotten = Ok(WriteOutcome::Done);
                    for seq in seqs {
                        if let Err(error) = self.forget_queued(&client_id, seq).await {
                            forgotten = Err(error);
                            break;
                        }
                    }
                    forgotten
                }
                StoreWrite::SetRetained(message) => self
                    .set_retained(&message)
                    .await
                    .map(|()| WriteOutcome::Done),
                StoreWrite::RemoveRetained(topic) => self
                    .remove_retained(&topic)
                    .await
                    .map(WriteOutcome::Existed),
            });
        }
        outcomes
    }
}
