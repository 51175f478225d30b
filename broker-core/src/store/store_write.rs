//! Writes handed to a store together: [`SessionStore::write_batch`](super::SessionStore::write_batch).

use crate::router::RetainedMessage;
use crate::session::QueuedMessage;
use crate::types::{ClientId, TopicName};

use super::StoredSession;

/// One write, as the record-level methods of [`SessionStore`](super::SessionStore) make it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreWrite {
    /// [`save`](super::SessionStore::save).
    Save(StoredSession),
    /// [`remove`](super::SessionStore::remove).
    Remove(ClientId),
    /// [`enqueue`](super::SessionStore::enqueue).
    Enqueue(ClientId, QueuedMessage),
    /// [`ack_queued`](super::SessionStore::ack_queued).
    AckQueued(ClientId, u64),
    /// [`forget_queued`](super::SessionStore::forget_queued) of each of these numbers, as
    /// one write (what a session finished in one step).
    Forget(ClientId, Vec<u64>),
    /// [`set_retained`](super::SessionStore::set_retained).
    SetRetained(RetainedMessage),
    /// [`remove_retained`](super::SessionStore::remove_retained).
    RemoveRetained(TopicName),
}

/// What one [`StoreWrite`] gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Done (save, ack, forget, set).
    Done,
    /// The sequence number of an enqueued message.
    Seq(u64),
    /// Whether the removed record existed (remove, remove retained).
    Existed(bool),
}
