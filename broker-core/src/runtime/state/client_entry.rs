//! One client identifier's entry in the [`Registry`](super::registry::Registry): its
//! mailbox, who holds its session, whether the store may hold a record of it, and who
//! connected when (for the admin operations).
//!
//! Only the registry reads and changes entries; nothing here takes a lock.

use std::num::NonZeroU64;
use std::sync::Arc;

use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::state::control::ControlSlot;
use crate::session::OfflineSession;

/// A client identifier's session as the registry holds it.
#[derive(Debug)]
pub(crate) struct ClientEntry {
    /// The session's mailbox; its key is the one the router holds the session's
    /// subscriptions under.
    pub(super) mailbox: Arc<Mailbox>,
    /// Who holds the session now.
    pub(super) holder: Holder,
    /// Whether the session store may hold a record of this session (it was saved or loaded),
    /// with the Session Expiry Interval of that record: a session that ends is removed from
    /// the store only then, so clean sessions cost no store call.
    pub(super) stored: Option<u32>,
    /// The User Name of the CONNECT of the connection holding the session, or of its last
    /// one (a copy: nothing of the CONNECT's buffer is kept).
    pub(super) username: Option<Box<str>>,
    /// When that CONNECT was accepted, in seconds since the Unix epoch; `None` for a session
    /// loaded from the store at start, until its client connects.
    pub(super) connected_at: Option<NonZeroU64>,
}

/// Who holds a session.
#[derive(Debug)]
pub(crate) enum Holder {
    /// A live connection, reachable through its control slot.
    Online {
        /// Its control slot, which also tells the connection apart: the slot lives as long
        /// as the connection, and the registry holds it.
        control: Arc<ControlSlot>,
    },
    /// No connection: a persistent session waiting for its client, its will delay or its
    /// expiry.
    Offline(Box<OfflineSession>),
    /// Nobody: the session ended, and its stored record is removed once the messages it
    /// hands to other members of its shared subscriptions are in the store's channel
    /// ([`RecordRemoval`](super::registry::RecordRemoval)). A CONNECT for the identifier waits
    /// until then.
    Ending,
}

impl ClientEntry {
    /// A new entry, not in the store.
    pub(crate) fn new(mailbox: Arc<Mailbox>, holder: Holder) -> Self {
        ClientEntry {
            mailbox,
            holder,
            stored: None,
            username: None,
            connected_at: None,
        }
    }

    /// The session's mailbox.
    pub(crate) fn mailbox(&self) -> &Arc<Mailbox> {
        &self.mailbox
    }

    /// The control slot of the connection holding the session, if one does.
    pub(crate) fn control(&self) -> Option<&Arc<ControlSlot>> {
        match &self.holder {
            Holder::Online { control } => Some(control),
            _ => None,
        }
    }

    /// The session waiting offline, if it is.
    pub(crate) fn offline(&self) -> Option<&OfflineSession> {
        match &self.holder {
            Holder::Offline(offline) => Some(offline),
            _ => None,
        }
    }

    /// The User Name of the CONNECT of the connection holding the session, or of its last
    /// one.
    pub(crate) fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// When that CONNECT was accepted, in seconds since the Unix epoch.
    pub(crate) fn connected_at(&self) -> Option<NonZeroU64> {
        self.connected_at
    }

    /// The Session Expiry Interval of the record the store may hold.
    pub(crate) fn stored_expiry(&self) -> Option<u32> {
        self.stored
    }

    /// Whether the connection with this control slot holds this entry.
    pub(crate) fn is_held_by(&self, control: &Arc<ControlSlot>) -> bool {
        matches!(&self.holder, Holder::Online { control: held } if Arc::ptr_eq(held, control))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One entry per client identifier, connected or not: what the admin operations keep in
    /// it (a user name, a time) must not grow it past 56 bytes.
    #[test]
    fn an_entry_fits_56_bytes() {
        assert!(std::mem::size_of::<ClientEntry>() <= 56);
    }
}
