//! The client registry: which client identifiers have a session, and who holds each.
//!
//! The registry's lock is private: every change is one of the methods here (claim an
//! identifier, release or end a session, keep one offline, sweep the offline ones), each a
//! short synchronous step under the lock. A store write that must be ordered with a change
//! is handed to the store through a [`Slot`] reserved beforehand, while the lock is held.
//!
//! # What this module must never do
//!
//! Await, publish a message, or touch the router: a caller does that with what a method
//! returns, once the lock is released.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::runtime::clipped::Clipped;
use crate::runtime::persist::handle::{Persist, Reply, Slot, StoreOp};
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::state::client_entry::{ClientEntry, Holder};
use crate::runtime::state::control::ControlSlot;
use crate::session::{Message, OfflineSession, SessionState, WillMessage};
use crate::store::{StoreError, StoredSession};
use crate::types::ClientId;

/// Client identifier -> session, behind one lock no caller sees.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    entries: Mutex<HashMap<ClientId, ClientEntry>>,
}

/// Who held a client identifier before a connection claimed it.
pub(crate) enum Prior {
    /// Nobody: a new entry was made.
    Nobody,
    /// A live connection, to take over.
    Online(Arc<ControlSlot>),
    /// A persistent session with no connection.
    Offline(Box<OfflineSession>),
}

/// What [`Registry::claim`] found.
pub(crate) struct Claim {
    /// The session's mailbox.
    pub(crate) mailbox: Arc<Mailbox>,
    /// Who held the client identifier.
    pub(crate) prior: Prior,
    /// Whether the store held a record of the session before this claim.
    pub(crate) stored: bool,
    /// The answer of the store to the load of a session the registry did not hold.
    pub(crate) load: Option<oneshot::Receiver<Result<Option<StoredSession>, StoreError>>>,
}

/// What a sweep of the offline sessions left to do once the lock is released.
#[derive(Default)]
pub(crate) struct Swept {
    /// The wills to publish (delay passed, or session ended).
    pub(crate) wills: Vec<Message>,
    /// A session among those of `wills` whose record the store holds: the write that took
    /// its will out (or removed it) is on its way, and the wills wait for the store to have
    /// it ([`store_caught_up`]), so that a restart does not publish them again.
    ///
    /// [`store_caught_up`]: crate::runtime::state::will_barrier::store_caught_up
    pub(crate) stored_will: Option<ClientId>,
    /// The sessions that expired: their subscriptions and queues are to be ended.
    pub(crate) ended: Vec<(ClientId, SessionState, Arc<Mailbox>)>,
    /// When the next offline-session timer is due.
    pub(crate) next: Option<Instant>,
}

/// A change needed a store write, no slot was given, none was free and the store is open:
/// nothing changed. The caller reserves a slot (waiting for room) and calls again; a write is
/// never dropped for lack of room in the store's channel.
#[derive(Debug)]
pub(crate) struct NeedsSlot;

/// The slot for a store write: the one given, else one free now; `None` only once the store
/// task has ended (the broker stopped), when the write cannot be made at all.
fn slot_for<'a>(
    persist: &'a Persist,
    slot: Option<Slot<'a>>,
) -> Result<Option<Slot<'a>>, NeedsSlot> {
    match slot.or_else(|| persist.try_reserve()) {
        Some(slot) => Ok(Some(slot)),
        None if persist.is_closed() => Ok(None),
        None => Err(NeedsSlot),
    }
}

/// How soon an expiry is tried again when the session store's channel was full.
const STORE_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<ClientId, ClientEntry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the store may hold a record of `client_id`'s session.
    pub(crate) fn is_stored(&self, client_id: &ClientId) -> bool {
        self.lock()
            .get(client_id)
            .is_some_and(|entry| entry.stored.is_some())
    }

    /// Whether a CONNECT for `client_id` with `clean_start` may write to the store: load a
    /// session (clean start 0, none in the registry) or remove one (clean start over a stored
    /// session).
    pub(crate) fn connect_needs_store(&self, client_id: &ClientId, clean_start: bool) -> bool {
        match self.lock().get(client_id) {
            None => !clean_start,
            Some(entry) => clean_start && entry.stored.is_some(),
        }
    }

    /// Takes `client_id` for the connection with slot `control`: a new entry (with a mailbox
    /// of `new_mailbox`), or the connection becomes the holder of the existing one. With
    /// `clean_start`, a stored record of the session is removed; with clean start 0 and no
    /// entry, the stored record is loaded. Both go to the store through `slot` (or one free
    /// now) while the lock is held, so they are ordered with every other write for this
    /// identifier; [`NeedsSlot`] when a write is needed and there is no room.
    pub(crate) fn claim(
        &self,
        client_id: &ClientId,
        control: &Arc<ControlSlot>,
        clean_start: bool,
        new_mailbox: impl FnOnce() -> Arc<Mailbox>,
        persist: &Persist,
        slot: Option<Slot<'_>>,
    ) -> Result<Claim, NeedsSlot> {
        let mut entries = self.lock();
        let holder = Holder::Online {
            control: Arc::clone(control),
        };
        if let Some(entry) = entries.get_mut(client_id) {
            let stored = entry.stored.is_some();
            let slot = if stored && clean_start {
                Some(slot_for(persist, slot)?)
            } else {
                None
            };
            let prior = match std::mem::replace(&mut entry.holder, holder) {
                Holder::Online { control, .. } => Prior::Online(control),
                Holder::Offline(offline) => Prior::Offline(offline),
            };
            if let Some(slot) = slot {
                entry.stored = None;
                Persist::remove_session(slot, client_id);
            }
            return Ok(Claim {
                mailbox: Arc::clone(&entry.mailbox),
                prior,
                stored,
                load: None,
            });
        }
        let slot = if clean_start {
            None
        } else {
            slot_for(persist, slot)?
        };
        let mailbox = new_mailbox();
        entries.insert(
            client_id.clone(),
            ClientEntry::new(Arc::clone(&mailbox), holder),
        );
        let load = (!clean_start).then(|| {
            let (reply, answer) = oneshot::channel();
            // With no slot the store task is gone: the dropped reply reads as a failure.
            if let Some(slot) = slot {
                slot.send(StoreOp::Load(client_id.clone(), reply));
            }
            answer
        });
        Ok(Claim {
            mailbox,
            prior: Prior::Nobody,
            stored: false,
            load,
        })
    }

    /// Gives up the entry the connection with slot `control` holds (its CONNECT is refused).
    pub(crate) fn release(&self, client_id: &ClientId, control: &Arc<ControlSlot>) {
        let mut entries = self.lock();
        if entries
            .get(client_id)
            .is_some_and(|entry| entry.is_held_by(control))
        {
            entries.remove(client_id);
        }
    }

    /// Notes that the store holds a record of the session `control` holds, with
    /// `session_expiry` (it was loaded from there).
    pub(crate) fn set_stored(
        &self,
        client_id: &ClientId,
        control: &Arc<ControlSlot>,
        session_expiry: u32,
    ) {
        if let Some(entry) = self
            .lock()
            .get_mut(client_id)
            .filter(|entry| entry.is_held_by(control))
        {
            entry.stored = Some(session_expiry);
        }
    }

    /// Saves `record`, the session `control` holds while it is online (a persistent session
    /// connected, or changed its subscriptions), through `slot`, and notes that the store
    /// holds it; the store answers through `reply`, if given. Returns `false`, sending
    /// nothing, if `control` no longer holds the session (a takeover or an end came first:
    /// their writes decide).
    pub(crate) fn save_online(
        &self,
        control: &Arc<ControlSlot>,
        record: StoredSession,
        slot: Slot<'_>,
        reply: Option<Reply<()>>,
    ) -> bool {
        let mut entries = self.lock();
        let Some(entry) = entries
            .get_mut(&record.client_id)
            .filter(|entry| entry.is_held_by(control))
        else {
            return false;
        };
        entry.stored = Some(record.session_expiry);
        slot.send(StoreOp::Save(record, reply));
        true
    }

    /// Removes the stored record of the session `control` holds, if there is one, through
    /// `slot`.
    pub(crate) fn forget_stored(
        &self,
        client_id: &ClientId,
        control: &Arc<ControlSlot>,
        slot: Option<Slot<'_>>,
    ) {
        let mut entries = self.lock();
        if let Some(entry) = entries
            .get_mut(client_id)
            .filter(|entry| entry.is_held_by(control))
        {
            if entry.stored.take().is_some() {
                Persist::remove_session(slot, client_id);
            }
        }
    }

    /// Ends the session `control` holds (its Session Expiry is 0): the entry goes, and its
    /// stored record through `slot` (or one free now). Returns `false`, changing nothing, if
    /// `control` no longer holds it; [`NeedsSlot`] when the record must go and there is no
    /// room.
    pub(crate) fn end(
        &self,
        client_id: &ClientId,
        control: &Arc<ControlSlot>,
        persist: &Persist,
        slot: Option<Slot<'_>>,
    ) -> Result<bool, NeedsSlot> {
        let mut entries = self.lock();
        let Some(entry) = entries
            .get(client_id)
            .filter(|entry| entry.is_held_by(control))
        else {
            return Ok(false);
        };
        let slot = match entry.stored {
            Some(_) => Some(slot_for(persist, slot)?),
            None => None,
        };
        entries.remove(client_id);
        if let Some(slot) = slot {
            Persist::remove_session(slot, client_id);
        }
        Ok(true)
    }

    /// Keeps the session `control` holds offline, waiting for its client, its will delay or
    /// its expiry, and saves it to the store through `slot` (or one free now). Gives the
    /// session and will back if `control` no longer holds it, or, with nothing changed, when
    /// there is no room for the save (with [`NeedsSlot`]).
    // Given back by value, on the rare race with a takeover: moving it costs less than a box.
    #[allow(clippy::too_many_arguments, clippy::result_large_err)]
    pub(crate) fn keep_offline(
        &self,
        control: &Arc<ControlSlot>,
        state: SessionState,
        will: Option<WillMessage>,
        session_expiry: u32,
        persist: &Persist,
        slot: Option<Slot<'_>>,
        now: Instant,
    ) -> Result<(), (SessionState, Option<WillMessage>, Option<NeedsSlot>)> {
        let client_id = state.client_id().clone();
        let mut entries = self.lock();
        let Some(entry) = entries
            .get_mut(&client_id)
            .filter(|entry| entry.is_held_by(control))
        else {
            return Err((state, will, None));
        };
        let slot = match slot_for(persist, slot) {
            Ok(slot) => slot,
            Err(needs) => return Err((state, will, Some(needs))),
        };
        entry.mailbox.set_online(false);
        match slot {
            Some(slot) => {
                let record = StoredSession::from_state(&state, session_expiry, will.clone());
                slot.send(StoreOp::Save(record, None));
                entry.stored = Some(session_expiry);
            }
            None => tracing::warn!(
                "Client {}: the session store is unavailable; session kept in memory only.",
                Clipped(&client_id)
            ),
        }
        entry.holder = Holder::Offline(Box::new(OfflineSession::new(
            state,
            will,
            session_expiry,
            now,
        )));
        Ok(())
    }

    /// Adds a session read from the store at start, offline, with its stored expiry.
    pub(crate) fn restore(
        &self,
        client_id: ClientId,
        mailbox: Arc<Mailbox>,
        offline: OfflineSession,
        session_expiry: u32,
    ) {
        let mut entry = ClientEntry::new(mailbox, Holder::Offline(Box::new(offline)));
        entry.stored = Some(session_expiry);
        self.lock().insert(client_id, entry);
    }

    /// Fires the timers of the offline sessions due at `now`: delayed wills, expiry. An
    /// expired stored session is removed from the store, and one whose delayed will fired is
    /// saved again without it (so that a restart does not publish it twice: the caller waits
    /// for the store before it publishes, [`Swept::stored_will`]); when the store's channel
    /// is full the session waits for the next sweep.
    pub(crate) fn sweep(&self, persist: &Persist, now: Instant) -> Swept {
        let mut swept = Swept::default();
        let soonest = |next: &mut Option<Instant>, at: Instant| {
            *next = Some(next.map_or(at, |n: Instant| n.min(at)));
        };
        let mut expired: Vec<ClientId> = Vec::new();
        let mut entries = self.lock();
        for (client_id, entry) in entries.iter_mut() {
            let Holder::Offline(offline) = &mut entry.holder else {
                continue;
            };
            if offline.poll_timeout().is_some_and(|at| at <= now) {
                let stored = entry.stored;
                let slot = stored.and_then(|_| persist.try_reserve());
                if stored.is_some() && slot.is_none() {
                    soonest(&mut swept.next, now + STORE_RETRY);
                    continue;
                }
                let event = offline.handle_timeout(now);
                let fired = event.will.is_some();
                if fired && stored.is_some() && swept.stored_will.is_none() {
                    swept.stored_will = Some(client_id.clone());
                }
                swept.wills.extend(event.will);
                if event.expired {
                    if let Some(slot) = slot {
                        slot.send(StoreOp::Remove(client_id.clone()));
                    }
                    expired.push(client_id.clone());
                    continue;
                }
                if let (true, Some(slot), Some(expiry)) = (fired, slot, stored) {
                    let record = StoredSession::from_state(offline.state(), expiry, None);
                    slot.send(StoreOp::Save(record, None));
                }
            }
            if let Some(at) = offline.poll_timeout() {
                soonest(&mut swept.next, at);
            }
        }
        for client_id in expired {
            if let Some(entry) = entries.remove(&client_id) {
                if let Holder::Offline(offline) = entry.holder {
                    let (state, will) = offline.end(now);
                    swept.wills.extend(will);
                    swept.ended.push((client_id, state, entry.mailbox));
                }
            }
        }
        swept
    }

    /// The offline sessions, and the messages and bytes queued in every mailbox.
    pub(crate) fn occupancy(&self) -> (usize, usize, usize) {
        let mut offline = 0;
        let (mut messages, mut bytes) = (0, 0);
        for entry in self.lock().values() {
            if matches!(entry.holder, Holder::Offline(_)) {
                offline += 1;
            }
            let (queued, size) = entry.mailbox.depth();
            messages += queued;
            bytes += size;
        }
        (offline, messages, bytes)
    }
}
