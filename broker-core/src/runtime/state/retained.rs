//! The retained messages as the runtime holds them: one [`RetainedStore`] behind a
//! read-mostly lock that no caller sees, in the runtime's clock (whole seconds since the broker
//! started).
//!
//! A change that goes to the session store is handed to it (through a [`Slot`] reserved
//! beforehand) while the lock is held, so the store sees the changes of a topic in the order
//! they were made.
//!
//! # What this module must never do
//!
//! Await, or hold its lock while anything but the store itself is touched.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use crate::config::RetainedLimits;
use crate::router::{RetainedMessage, RetainedStore};
use crate::runtime::clipped::Clipped;
use crate::runtime::persist::handle::{Persist, Reply, Slot, StoreOp};
use crate::session::Message;
use crate::types::TopicFilter;

/// The broker's retained messages.
#[derive(Debug)]
pub(crate) struct Retained {
    store: RwLock<RetainedStore>,
    /// The origin of the store's clock.
    started: Instant,
    /// What it keeps at most.
    limits: RetainedLimits,
}

impl Retained {
    /// An empty store whose clock starts at `started`, keeping at most `limits`.
    pub(crate) fn new(started: Instant, limits: RetainedLimits) -> Retained {
        Retained {
            store: RwLock::new(RetainedStore::new()),
            started,
            limits,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, RetainedStore> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, RetainedStore> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// `now` in the store's clock: whole seconds since the broker started.
    pub(crate) fn secs(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs()
    }

    /// How many retained messages there are.
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    /// Sets or deletes (empty payload) the retained message of `message`'s topic, and hands
    /// the change to the session store through `slot` while the lock is held. `reply` gets
    /// the store's answer; with no slot (the store task has ended: the broker stopped) the
    /// change is not stored: it is logged, and `reply` is dropped unanswered.
    pub(crate) fn change(
        &self,
        message: &Message,
        persist: &Persist,
        slot: Option<Slot<'_>>,
        reply: Option<Reply<()>>,
        now: Instant,
    ) {
        if slot.is_none() {
            tracing::warn!(topic = %Clipped(&message.topic), "The session store is closed: retained message change not stored.");
        }
        if message.payload.is_empty() {
            let mut store = self.write();
            store.remove(&message.topic);
            if let Some(slot) = slot {
                slot.send(StoreOp::RemoveRetained(message.topic.clone(), reply));
            }
            return;
        }
        if let Some(max) = self
            .limits
            .max_payload
            .filter(|max| message.payload.len() > *max)
        {
            tracing::info!(
                topic = %Clipped(&message.topic),
                "Retained message of {} bytes not kept: the most retained is {max} bytes.",
                message.payload.len()
            );
            answered(reply);
            return;
        }
        // Copy out of the publisher's receive buffer: the store keeps it for long.
        let detached = message.detach();
        let retained = RetainedMessage::new(
            detached.topic,
            detached.payload,
            detached.qos,
            detached.properties,
            self.secs(now),
        );
        let stored = slot.map(|slot| (slot, persist.in_store_clock(&retained)));
        let mut store = self.write();
        if let Some(max) = self.limits.max_messages {
            if store.client_len() >= max && store.get(&retained.topic).is_none() {
                drop(store);
                tracing::info!(
                    topic = %Clipped(&message.topic),
                    "Retained message not kept: the store holds its most, {max} topics."
                );
                answered(reply);
                return;
            }
        }
        store.set(retained);
        if let Some((slot, stored)) = stored {
            slot.send(StoreOp::SetRetained(stored, reply));
        }
    }

    /// Sets a message the session store does not keep (the broker's `$SYS` figures; no
    /// limit applies to them).
    pub(crate) fn set_unstored(&self, message: RetainedMessage) {
        self.write().set(message);
    }

    /// Adds the messages the session store held at start (in its clock); returns how many
    /// had not expired.
    pub(crate) fn restore(
        &self,
        messages: Vec<RetainedMessage>,
        persist: &Persist,
        now: Instant,
    ) -> usize {
        let secs = self.secs(now);
        let mut store = self.write();
        let mut loaded = 0;
        for message in messages {
            if let Some(message) = persist.in_runtime_clock(message, secs) {
                store.set(message);
                loaded += 1;
            }
        }
        loaded
    }

    /// Calls `visit` with every retained message matching `filter` that has not expired at
    /// `now`, under the read lock (the visitor only copies).
    pub(crate) fn matching(
        &self,
        filter: &TopicFilter,
        now: Instant,
        visit: impl FnMut(&RetainedMessage),
    ) {
        self.read().matching(filter, self.secs(now), visit);
    }

    /// Removes the messages expired at `now`; returns how many.
    pub(crate) fn remove_expired(&self, now: Instant) -> usize {
        let secs = self.secs(now);
        self.write().remove_expired(secs)
    }
}

/// Tells whoever waits on a retained change that nothing is left to store: the publish goes
/// on as if stored.
fn answered(reply: Option<Reply<()>>) {
    if let Some(reply) = reply {
        let _ = reply.send(Ok(()));
    }
}
