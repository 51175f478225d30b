//! The client registry: which client identifiers have a session, and who holds each.
//!
//! The registry's lock is private: every change is one of the methods here (claim an
//! identifier, release or end a session, keep one offline, sweep the offline ones), each a
//! short synchronous step under the lock. A store write that must be ordered with a change
//! is handed to the store through a [`Slot`] reserved beforehand, while the lock is held.
//!
//! A stored session that ends (Session Expiry 0 at its close, its expiry elapsed) is the one
//! change made in two steps: its entry becomes [`Holder::Ending`], and the caller, once the
//! lock is released, hands its shared-subscription messages to other members and sends the
//! removal of its record through the [`RecordRemoval`] the registry gave it, with the copies
//! for persistent members ahead of it in the same operation
//! ([`Persist::remove_session_after`]). So the store has the new copies before the old ones go
//! with the record, and a crash between the two writes loses nothing. A claim of the
//! identifier meanwhile is refused ([`NotClaimed::Ending`]) and waits
//! ([`Registry::when_ended`]): its own writes (a load, a record) must follow the removal.
//!
//! # What this module must never do
//!
//! Await, publish a message, or touch the router: a caller does that with what a method
//! returns, once the lock is released. Drop a [`RecordRemoval`] with the lock held: sending it
//! takes the lock.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::futures::Notified;
use tokio::sync::{oneshot, Notify};

use crate::runtime::clipped::Clipped;
use crate::runtime::persist::handle::{Copies, Persist, Reply, Slot, StoreOp};
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
    /// Woken whenever an ending session's record removal is sent and its entry goes.
    ended: Notify,
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
pub(crate) struct Swept<'a> {
    /// The wills to publish (delay passed, or session ended).
    pub(crate) wills: Vec<Message>,
    /// A session among those of `wills` whose record the store holds: the write that took
    /// its will out (or removed it) is on its way, and the wills wait for the store to have
    /// it ([`store_caught_up`]), so that a restart does not publish them again.
    ///
    /// [`store_caught_up`]: crate::runtime::state::will_barrier::store_caught_up
    pub(crate) stored_will: Option<ClientId>,
    /// The sessions that expired: their subscriptions and queues are to be ended, and then
    /// their stored records removed.
    pub(crate) ended: Vec<(ClientId, SessionState, Arc<Mailbox>, RecordRemoval<'a>)>,
    /// When the next offline-session timer is due.
    pub(crate) next: Option<Instant>,
}

/// A change needed a store write, no slot was given, none was free and the store is open:
/// nothing changed. The caller reserves a slot (waiting for room) and calls again; a write is
/// never dropped for lack of room in the store's channel.
#[derive(Debug)]
pub(crate) struct NeedsSlot;

/// Why [`Registry::claim`] changed nothing.
#[derive(Debug)]
pub(crate) enum NotClaimed {
    /// A store write is needed and the store's channel is full ([`NeedsSlot`]).
    NeedsSlot,
    /// The identifier's session is ending ([`Holder::Ending`]): the caller waits until its
    /// record's removal is sent ([`Registry::when_ended`]) and claims again.
    Ending,
}

/// The removal of an ended session's stored record, owed until the session's end is carried
/// out: the caller hands its shared-subscription messages to other members, then sends this
/// with the copies for persistent members ([`RecordRemoval::send`]), which removes the
/// [`Holder::Ending`] entry, sends the copies and the removal of the record to the store in
/// that order, and lets a waiting claim go on. Dropped, it is sent with no copies. A session
/// the store never held owes nothing.
#[must_use = "the ended session's record is removed, and its identifier free, once this is sent"]
pub(crate) struct RecordRemoval<'a> {
    registry: &'a Registry,
    /// The client identifier and the slot for the removal, or nothing owed.
    owed: Option<(ClientId, Option<Slot<'a>>)>,
}

impl<'a> RecordRemoval<'a> {
    /// Nothing to remove: the store never held the session.
    fn nothing(registry: &'a Registry) -> Self {
        RecordRemoval {
            registry,
            owed: None,
        }
    }

    /// The removal of `client_id`'s record, through `slot` (`None`: the store task has ended).
    fn owed(registry: &'a Registry, client_id: ClientId, slot: Option<Slot<'a>>) -> Self {
        RecordRemoval {
            registry,
            owed: Some((client_id, slot)),
        }
    }

    /// Removes the ending entry and sends `handed_over` (the copies of the messages the
    /// session handed to persistent members) and then the removal of its record to the store,
    /// in one operation ([`Persist::remove_session_after`]). Gives back the copies it did not
    /// send (the store never held the session, or its task has ended), for the caller to
    /// queue as any other hand-over's.
    #[must_use = "copies given back are queued by the caller"]
    pub(crate) fn send(mut self, handed_over: Copies) -> Copies {
        match self.owed.take() {
            Some((client_id, slot)) => self.registry.finish_ending(&client_id, slot, handed_over),
            None => handed_over,
        }
    }
}

impl Drop for RecordRemoval<'_> {
    fn drop(&mut self) {
        if let Some((client_id, slot)) = self.owed.take() {
            let _ = self.registry.finish_ending(&client_id, slot, Vec::new());
        }
    }
}

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

    /// Whether a CONNECT for `client_id` with `clean_start` may write to the store as it
    /// claims the identifier: load a session (clean start 0, none in the registry).
    pub(crate) fn connect_needs_store(&self, client_id: &ClientId, clean_start: bool) -> bool {
        !clean_start && !self.lock().contains_key(client_id)
    }

    /// Whether `client_id`'s session is ending: its record's removal is not sent yet.
    pub(crate) fn is_ending(&self, client_id: &ClientId) -> bool {
        self.lock()
            .get(client_id)
            .is_some_and(|entry| matches!(entry.holder, Holder::Ending))
    }

    /// Completes when an ending session's record removal is sent (any session's: the waiter
    /// looks again with [`Registry::is_ending`]). Enabled before that look, it misses no
    /// wake-up.
    pub(crate) fn when_ended(&self) -> Notified<'_> {
        self.ended.notified()
    }

    /// Takes `client_id` for the connection with slot `control`: a new entry (with a mailbox
    /// of `new_mailbox`), or the connection becomes the holder of the existing one. With
    /// clean start 0 and no entry, the stored record is loaded: the load goes to the store
    /// through `slot` (or one free now) while the lock is held, so it is ordered with every
    /// other write for this identifier; [`NotClaimed::NeedsSlot`] when there is no room.
    /// With `clean_start` over a stored session, the record stays until the caller has ended
    /// the session (its shared messages handed over first) and removes it
    /// ([`Registry::forget_stored`]): the entry is the caller's meanwhile.
    /// [`NotClaimed::Ending`] while the identifier's session is ending.
    pub(crate) fn claim(
        &self,
        client_id: &ClientId,
        control: &Arc<ControlSlot>,
        clean_start: bool,
        new_mailbox: impl FnOnce() -> Arc<Mailbox>,
        persist: &Persist,
        slot: Option<Slot<'_>>,
    ) -> Result<Claim, NotClaimed> {
        let mut entries = self.lock();
        let holder = Holder::Online {
            control: Arc::clone(control),
        };
        if let Some(entry) = entries.get_mut(client_id) {
            let stored = entry.stored.is_some();
            let prior = match std::mem::replace(&mut entry.holder, holder) {
                Holder::Online { control, .. } => Prior::Online(control),
                Holder::Offline(offline) => Prior::Offline(offline),
                Holder::Ending => {
                    entry.holder = Holder::Ending;
                    return Err(NotClaimed::Ending);
                }
            };
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
            slot_for(persist, slot).map_err(|NeedsSlot| NotClaimed::NeedsSlot)?
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

    /// Notes who connected when in the entry the connection with slot `control` holds:
    /// its CONNECT's User Name and the time it was accepted, in seconds since the Unix
    /// epoch (the admin listings show them).
    pub(crate) fn set_connected(
        &self,
        client_id: &ClientId,
        control: &Arc<ControlSlot>,
        username: Option<&str>,
        connected_at: Option<NonZeroU64>,
    ) {
        if let Some(entry) = self
            .lock()
            .get_mut(client_id)
            .filter(|entry| entry.is_held_by(control))
        {
            entry.username = username.map(Box::from);
            entry.connected_at = connected_at;
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
    /// `slot`: a session the CONNECT of `control` ended (clean start, or a taken-over
    /// connection's Session Expiry 0). `handed_over`, the copies of the messages that session
    /// handed to persistent members, go ahead of the removal in the same operation
    /// ([`Persist::remove_session_after`]); the copies not sent are given back, for the caller
    /// to queue as any other hand-over's.
    #[must_use = "copies given back are queued by the caller"]
    pub(crate) fn forget_stored(
        &self,
        client_id: &ClientId,
        control: &Arc<ControlSlot>,
        slot: Option<Slot<'_>>,
        handed_over: Copies,
    ) -> Copies {
        let mut entries = self.lock();
        let was_stored = entries
            .get_mut(client_id)
            .filter(|entry| entry.is_held_by(control))
            .and_then(|entry| entry.stored.take());
        match was_stored {
            Some(_) => Persist::remove_session_after(slot, client_id, handed_over),
            None => handed_over,
        }
    }

    /// Ends the session `control` holds (its Session Expiry is 0). A session the store never
    /// held leaves at once; a stored one becomes [`Holder::Ending`], and its record goes
    /// through `slot` (or one free now) when the caller sends the [`RecordRemoval`] returned,
    /// once it has handed the session's shared messages over. `None`, changing nothing, if
    /// `control` no longer holds it; [`NeedsSlot`] when the record must go and there is no
    /// room.
    pub(crate) fn end<'a>(
        &'a self,
        client_id: &ClientId,
        control: &Arc<ControlSlot>,
        persist: &'a Persist,
        slot: Option<Slot<'a>>,
    ) -> Result<Option<RecordRemoval<'a>>, NeedsSlot> {
        let mut entries = self.lock();
        let Some(entry) = entries
            .get_mut(client_id)
            .filter(|entry| entry.is_held_by(control))
        else {
            return Ok(None);
        };
        if entry.stored.is_none() {
            entries.remove(client_id);
            return Ok(Some(RecordRemoval::nothing(self)));
        }
        let slot = slot_for(persist, slot)?;
        entry.holder = Holder::Ending;
        Ok(Some(RecordRemoval::owed(self, client_id.clone(), slot)))
    }

    /// The end of an ending session: its entry goes, and `handed_over` then the removal of
    /// its record through `slot`; a claim waiting for the identifier is woken. Gives back the
    /// copies not sent.
    fn finish_ending(
        &self,
        client_id: &ClientId,
        slot: Option<Slot<'_>>,
        handed_over: Copies,
    ) -> Copies {
        let rest = {
            let mut entries = self.lock();
            let ending = entries
                .get(client_id)
                .is_some_and(|entry| matches!(entry.holder, Holder::Ending));
            if ending {
                entries.remove(client_id);
                Persist::remove_session_after(slot, client_id, handed_over)
            } else {
                handed_over
            }
        };
        self.ended.notify_waiters();
        rest
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
    /// expired stored session becomes [`Holder::Ending`], its record removed when the caller
    /// sends its [`RecordRemoval`] (in [`Swept::ended`]), once it has handed the session's
    /// shared messages over; one whose delayed will fired is saved again without it (so that
    /// a restart does not publish it twice: the caller waits for the store before it
    /// publishes, [`Swept::stored_will`]); when the store's channel is full the session waits
    /// for the next sweep.
    pub(crate) fn sweep<'a>(&'a self, persist: &'a Persist, now: Instant) -> Swept<'a> {
        let mut swept = Swept::default();
        let soonest = |next: &mut Option<Instant>, at: Instant| {
            *next = Some(next.map_or(at, |n: Instant| n.min(at)));
        };
        // With the slot for the removal of its record, if the store holds it.
        let mut expired: Vec<(ClientId, Option<Slot<'a>>)> = Vec::new();
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
                    expired.push((client_id.clone(), slot));
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
        for (client_id, slot) in expired {
            let Some(entry) = entries.get_mut(&client_id) else {
                continue;
            };
            let offline = match std::mem::replace(&mut entry.holder, Holder::Ending) {
                Holder::Offline(offline) => offline,
                other => {
                    entry.holder = other;
                    continue;
                }
            };
            let mailbox = Arc::clone(&entry.mailbox);
            let removal = match slot {
                Some(slot) => RecordRemoval::owed(self, client_id.clone(), Some(slot)),
                None => {
                    entries.remove(&client_id);
                    RecordRemoval::nothing(self)
                }
            };
            let (state, will) = offline.end(now);
            swept.wills.extend(will);
            swept.ended.push((client_id, state, mailbox, removal));
        }
        swept
    }

    /// Calls `visit` with every client identifier whose session is online or offline (not
    /// ending) and its entry, under the lock: the visitor only copies (the admin listings).
    pub(crate) fn for_each_session(&self, mut visit: impl FnMut(&ClientId, &ClientEntry)) {
        for (client_id, entry) in self.lock().iter() {
            if !matches!(entry.holder, Holder::Ending) {
                visit(client_id, entry);
            }
        }
    }

    /// Calls `visit` with `client_id`'s entry, if its session is online or offline, under
    /// the lock: the visitor only copies.
    pub(crate) fn with_session<T>(
        &self,
        client_id: &ClientId,
        visit: impl FnOnce(&ClientEntry) -> T,
    ) -> Option<T> {
        self.lock()
            .get(client_id)
            .filter(|entry| !matches!(entry.holder, Holder::Ending))
            .map(visit)
    }

    /// Ends `client_id`'s offline session (an administrative discard), as its expiry would:
    /// a session the store never held leaves at once, a stored one becomes
    /// [`Holder::Ending`] and its record goes through `slot` (or one free now) when the
    /// caller sends the [`RecordRemoval`], once it has handed the session's shared messages
    /// over. Gives the session's state, its will (due now) and mailbox; `None`, changing
    /// nothing, if the session is not offline; [`NeedsSlot`] when there is no room.
    #[allow(clippy::type_complexity)]
    pub(crate) fn discard_offline<'a>(
        &'a self,
        client_id: &ClientId,
        persist: &'a Persist,
        slot: Option<Slot<'a>>,
        now: Instant,
    ) -> Result<
        Option<(
            SessionState,
            Option<Message>,
            Arc<Mailbox>,
            RecordRemoval<'a>,
        )>,
        NeedsSlot,
    > {
        let mut entries = self.lock();
        let Some(entry) = entries
            .get_mut(client_id)
            .filter(|entry| matches!(entry.holder, Holder::Offline(_)))
        else {
            return Ok(None);
        };
        let stored = entry.stored.is_some();
        let slot = if stored {
            slot_for(persist, slot)?
        } else {
            None
        };
        let Holder::Offline(offline) = std::mem::replace(&mut entry.holder, Holder::Ending) else {
            return Ok(None);
        };
        let mailbox = Arc::clone(&entry.mailbox);
        let removal = if stored {
            RecordRemoval::owed(self, client_id.clone(), slot)
        } else {
            entries.remove(client_id);
            RecordRemoval::nothing(self)
        };
        let (state, will) = offline.end(now);
        Ok(Some((state, will, mailbox, removal)))
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
