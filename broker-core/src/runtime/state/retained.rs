//! The retained messages as the runtime holds them: one [`RetainedStore`] behind a
//! read-mostly lock that no caller sees, in the runtime's clock (whole seconds since the broker
//! started).
//!
//! A change that goes to the session store is handed to it (through a [`Slot`] reserved
//! beforehand) while the lock is held, so the store sees the changes of a topic in the order
//! they were made.
//!
//! On a node with peers it also keeps each topic's [`RetainedStamp`] ([`RetainedStamps`],
//! under the store's write lock): a local change gets a new stamp and is returned for the
//! cluster link; a peer's change ([`Retained::apply_peer`]) is kept only when its stamp is
//! newer than the one held (last writer wins, clears included).
//!
//! # What this module must never do
//!
//! Await, or hold its lock while anything but the store itself is touched.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use crate::cluster::{PeerName, RetainedChange, RetainedStamp};
use crate::config::RetainedLimits;
use crate::router::{RetainedMessage, RetainedStore};
use crate::runtime::clipped::Clipped;
use crate::runtime::persist::handle::{Persist, Reply, Slot, StoreOp};
use crate::runtime::state::retained_stamps::{RetainedStamps, TOMBSTONE_MAX, TOMBSTONE_TTL};
use crate::session::Message;
use crate::types::{TopicFilter, TopicName};

/// The cluster side of the retained store: this node's name and the topics' stamps.
#[derive(Debug)]
struct Stamped {
    node: PeerName,
    stamps: Mutex<RetainedStamps>,
}

impl Stamped {
    fn stamps(&self) -> MutexGuard<'_, RetainedStamps> {
        self.stamps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What became of a peer's retained change ([`Retained::apply_peer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeerChange {
    /// Newer than what this node held: applied.
    Applied,
    /// Not newer than what this node holds (or the node keeps no stamps): ignored.
    Outdated,
    /// Newer, but beyond this node's retained limits: not kept.
    NotKept,
}

/// The broker's retained messages.
#[derive(Debug)]
pub(crate) struct Retained {
    store: RwLock<RetainedStore>,
    /// The origin of the store's clock.
    started: Instant,
    /// What it keeps at most.
    limits: RetainedLimits,
    /// The stamps, on a node with peers only.
    cluster: Option<Stamped>,
}

impl Retained {
    /// An empty store whose clock starts at `started`, keeping at most `limits`; with `node`
    /// (the node's name, when it has peers), it stamps its changes for the cluster.
    pub(crate) fn new(
        started: Instant,
        limits: RetainedLimits,
        node: Option<PeerName>,
    ) -> Retained {
        Retained {
            store: RwLock::new(RetainedStore::new()),
            started,
            limits,
            cluster: node.map(|node| Stamped {
                node,
                stamps: Mutex::new(RetainedStamps::new(TOMBSTONE_TTL, TOMBSTONE_MAX)),
            }),
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
    /// change is not stored: it is logged, and `reply` is dropped unanswered. On a node with
    /// peers, returns the change made, stamped, for the cluster link (`None`: nothing
    /// changed, or no peers).
    pub(crate) fn change(
        &self,
        message: &Message,
        persist: &Persist,
        slot: Option<Slot<'_>>,
        reply: Option<Reply<()>>,
        now: Instant,
    ) -> Option<RetainedChange> {
        if slot.is_none() {
            tracing::warn!(topic = %Clipped(&message.topic), "The session store is closed: retained message change not stored.");
        }
        if message.payload.is_empty() {
            let mut store = self.write();
            store.remove(&message.topic);
            let change = self.stamp_local(&message.topic, None, now);
            if let Some(slot) = slot {
                slot.send(StoreOp::RemoveRetained(message.topic.clone(), reply));
            }
            return change;
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
            return None;
        }
        // Copy out of the publisher's receive buffer: the store keeps it for long.
        let detached = message.detach();
        let for_peers = self.cluster.as_ref().map(|_| detached.clone());
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
                return None;
            }
        }
        let topic = retained.topic.clone();
        store.set(retained);
        let change = for_peers.and_then(|message| self.stamp_local(&topic, Some(message), now));
        if let Some((slot, stored)) = stored {
            slot.send(StoreOp::SetRetained(stored, reply));
        }
        change
    }

    /// Stamps a local change of `topic` (`None`: cleared), on a node with peers. Called with
    /// the store's write lock held, so that the stamps of one topic follow its changes.
    fn stamp_local(
        &self,
        topic: &TopicName,
        message: Option<Message>,
        now: Instant,
    ) -> Option<RetainedChange> {
        let cluster = self.cluster.as_ref()?;
        let mut stamps = cluster.stamps();
        let stamp = RetainedStamp::next(cluster.node.clone(), stamps.get(topic));
        if message.is_some() {
            stamps.set(topic, stamp.clone());
        } else {
            stamps.clear(topic, stamp.clone(), now);
        }
        Some(RetainedChange::new(topic.clone(), message, stamp))
    }

    /// Applies a peer's retained change when its stamp is newer than the one held for its
    /// topic: the message set (within this node's limits) or removed, in memory and, through
    /// `slot`, in the session store, as a local change would be; nothing is delivered.
    pub(crate) fn apply_peer(
        &self,
        change: RetainedChange,
        persist: &Persist,
        slot: Option<Slot<'_>>,
        now: Instant,
    ) -> PeerChange {
        let Some(cluster) = self.cluster.as_ref() else {
            return PeerChange::Outdated;
        };
        let RetainedChange {
            topic,
            message,
            stamp,
        } = change;
        let Some(message) = message.filter(|m| !m.payload.is_empty()) else {
            let mut store = self.write();
            let mut stamps = cluster.stamps();
            if !stamps.is_newer(&topic, &stamp) {
                return PeerChange::Outdated;
            }
            store.remove(&topic);
            stamps.clear(&topic, stamp, now);
            if let Some(slot) = slot {
                slot.send(StoreOp::RemoveRetained(topic, None));
            }
            return PeerChange::Applied;
        };
        if self
            .limits
            .max_payload
            .is_some_and(|max| message.payload.len() > max)
        {
            return PeerChange::NotKept;
        }
        let retained = RetainedMessage::new(
            topic.clone(),
            message.payload,
            message.qos,
            message.properties,
            self.secs(now),
        );
        let stored = slot.map(|slot| (slot, persist.in_store_clock(&retained)));
        let mut store = self.write();
        let mut stamps = cluster.stamps();
        if !stamps.is_newer(&topic, &stamp) {
            return PeerChange::Outdated;
        }
        if let Some(max) = self.limits.max_messages {
            if store.client_len() >= max && store.get(&topic).is_none() {
                return PeerChange::NotKept;
            }
        }
        store.set(retained);
        stamps.set(&topic, stamp);
        if let Some((slot, stored)) = stored {
            slot.send(StoreOp::SetRetained(stored, None));
        }
        PeerChange::Applied
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
        let mut store = self.write();
        let removed = store.remove_expired(secs);
        if let Some(cluster) = &self.cluster {
            cluster
                .stamps()
                .sweep(now, |topic| store.get(topic).is_some());
        }
        removed
    }
}

/// Tells whoever waits on a retained change that nothing is left to store: the publish goes
/// on as if stored.
fn answered(reply: Option<Reply<()>>) {
    if let Some(reply) = reply {
        let _ = reply.send(Ok(()));
    }
}
