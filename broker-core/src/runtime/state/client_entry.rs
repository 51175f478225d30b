//! One client identifier's entry in the [`Registry`](super::registry::Registry): its
//! mailbox, who holds its session, whether the store may hold a record of it, and what its
//! connection's CONNECT said.
//!
//! Only the registry reads and changes entries; nothing here takes a lock.

use std::sync::Arc;

use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::state::connection_facts::ConnectionFacts;
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
    /// What the CONNECT of the connection holding the session, or of its last one, said;
    /// `None` for a session loaded from the store at start.
    pub(super) facts: Option<Arc<ConnectionFacts>>,
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
            facts: None,
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

    /// What the CONNECT of the connection holding the session, or of its last one, said.
    pub(crate) fn facts(&self) -> Option<&Arc<ConnectionFacts>> {
        self.facts.as_ref()
    }

    /// Whether the connection with this control slot holds this entry.
    pub(crate) fn is_held_by(&self, control: &Arc<ControlSlot>) -> bool {
        matches!(&self.holder, Holder::Online { control: held } if Arc::ptr_eq(held, control))
    }
}
