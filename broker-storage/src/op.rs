//! The writes the store applies: ordered operations, each batch of them applied atomically.
//!
//! Records arrive encoded and sealed ([`record`](crate::record)), so applying an operation is
//! deterministic and involves no clock: the same list of operations gives the same store,
//! which is what lets a replicated log carry them later (docs/persistence.md).

use broker_core::types::{ClientId, TopicName};
use bytes::Bytes;

/// One write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// Store a session record, replacing any; the queue is untouched.
    SaveSession {
        /// Whose.
        client_id: ClientId,
        /// The sealed record.
        record: Vec<u8>,
    },
    /// Remove a session record and its queue.
    RemoveSession {
        /// Whose.
        client_id: ClientId,
    },
    /// Append a message to a client's queue. The copies a batch appends are written
    /// together, as one log record.
    Enqueue {
        /// Whose queue.
        client_id: ClientId,
        /// Its sequence number, given as it was submitted.
        seq: u64,
        /// The queued message's byte form (the log record is sealed whole).
        record: Bytes,
    },
    /// Remove a client's queued messages up to and including a sequence number.
    AckQueued {
        /// Whose queue.
        client_id: ClientId,
        /// The last sequence number removed.
        up_to: u64,
    },
    /// Remove queued messages of a client, those of them that are there. Removals are
    /// written lazily: with the client's next session record, a few clients at a time as
    /// batches commit, and all at a [`Checkpoint`](Op::Checkpoint).
    ForgetQueued {
        /// Whose queue.
        client_id: ClientId,
        /// Their sequence numbers.
        seqs: Vec<u64>,
    },
    /// Store the retained message of a topic, replacing any.
    SetRetained {
        /// The topic.
        topic: TopicName,
        /// The sealed message.
        record: Vec<u8>,
    },
    /// Remove the retained message of a topic.
    RemoveRetained {
        /// The topic.
        topic: TopicName,
    },
    /// Write every removal not yet written (before a flush, at a graceful stop).
    Checkpoint,
}

/// What applying one [`Op`] gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Done; nothing to report.
    Done,
    /// The sequence number a queued message got.
    Seq(u64),
    /// Whether the removed record existed.
    Existed(bool),
}
