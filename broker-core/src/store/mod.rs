//! Where persistent sessions and retained messages are kept: the [`SessionStore`] trait, its
//! durability contract, the in-memory store, and the conformance suite every store runs.
//!
//! # The durability contract
//!
//! A store holds, per client identifier, a [`StoredSession`] (subscriptions, Session Expiry
//! Interval, the QoS 1 and 2 exchanges in flight both ways, the will) and the queue of
//! messages waiting for that client; and, for the whole broker, the retained messages.
//!
//! - When a write method returns `Ok`, the write is as durable as the store promises (the
//!   in-memory store: until the process ends; the disk store: on disk; the replicated store:
//!   on a majority of nodes). The broker acknowledges a QoS 1 or 2 message bound for a
//!   persistent session (PUBACK, PUBREC) only after [`SessionStore::enqueue`] returned `Ok`.
//! - Writes to one client's data are applied in the order they are made; a read sees every
//!   write that returned before it started.
//! - [`SessionStore::save`] replaces the whole session record; the queue is separate and is
//!   neither replaced nor cleared by it. [`SessionStore::remove`] removes both.
//! - Queue sequence numbers grow strictly per client and are never reused, even after
//!   [`SessionStore::ack_queued`].
//! - Instants are kept to the millisecond: a durable store writes a will's receive time as
//!   an age or a wall-clock time, so it may come back later by the time between the write and
//!   the read (the suite allows a second), never earlier by more than a millisecond.
//! - [`SessionStore::write_batch`] applies its writes in order, as the record-level calls
//!   would one after the other; a store may commit them together (one fsync), and answers
//!   each.
//! - An error means the write may or may not have happened; the broker then refuses the
//!   operation (CONNACK 0x80; PUBACK / PUBREC 0x97 for [`StoreError::Full`], else 0x80, to
//!   MQTT 5; no acknowledgement to MQTT 3.x, whose connection is closed; or closes) rather
//!   than acknowledging it.
//!
//! - Removals of queued messages ([`SessionStore::ack_queued`],
//!   [`SessionStore::forget_queued`]) are seen by every read once they return, but a durable
//!   store may write them lazily: a crash may bring a removed message back (the broker sends
//!   it again, a legal duplicate at QoS 1), but never one removed before a later
//!   [`SessionStore::save`] of the same client returned (the broker forgets a finished QoS 2
//!   exchange's message before it saves the record that no longer lists the exchange, so a
//!   QoS 2 message never comes back once completed), nor one removed before
//!   [`SessionStore::flush`] returned.
//!
//! # How the runtime uses a store
//!
//! The runtime (`BrokerBuilder::session_store`, default [`MemoryStore`]) keeps its in-memory
//! client registry, queues and retained store as the fast path and uses the store as their
//! durable copy: it loads the retained messages and every session (with its queue) at start,
//! saves a persistent session's record when it connects, subscribes, starts or releases a
//! stored QoS 2 exchange and goes offline, removes a session that ends, loads a session on a
//! CONNECT with clean start 0 that the registry does not hold, and sets / removes retained
//! messages as they change (a retained QoS 1 or 2 message is acknowledged after the store
//! took it). When the store [keeps messages](SessionStore::keeps_messages), every QoS 1 and 2
//! copy for a persistent session is enqueued before its publisher is acknowledged, and
//! forgotten once its subscriber finished it. All writes go through one task, in the order the
//! broker made them (docs/persistence.md). There is no store call per QoS 0 message or for
//! clean sessions.
//!
//! # The byte form
//!
//! [`StoredSession::encode`] and [`StoredSession::decode`] give a session record one stable,
//! versioned byte form ([`SESSION_FORMAT_VERSION`]; the layout is in `session_format.rs`):
//! what a durable store writes, and what a node hands a peer that takes a client over.
//!
//! [`conformance`] checks these rules against any store; the in-memory store runs it in this
//! crate's tests, and every other store must run it in its own.

pub mod conformance;
mod error;
mod memory;
mod message_format;
#[cfg(test)]
mod message_format_test;
mod session_format;
#[cfg(test)]
mod session_format_test;
mod session_store;
mod store_write;
mod stored_session;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use message_format::{
    decode_queued, decode_retained, encode_queued, encode_retained, WallClock,
    MESSAGE_FORMAT_VERSION,
};
pub use session_format::SESSION_FORMAT_VERSION;
pub use session_store::SessionStore;
pub use store_write::{StoreWrite, WriteOutcome};
pub use stored_session::{StoredInflight, StoredSession};
