//! One client identifier's entry in the [`Registry`](super::registry::Registry): its
//! mailbox, who holds its session, and whether the store may hold a record of it.
//!
//! Only the registry reads and changes entries; nothing here takes a lock.

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
        }
    }

    /// Whether the connection with this control slot holds this entry.
    pub(crate) fn is_held_by(&self, control: &Arc<ControlSlot>) -> bool {
        matches!(&self.holder, Holder::Online { control: held } if Arc::ptr_eq(held, control))
    }
}
