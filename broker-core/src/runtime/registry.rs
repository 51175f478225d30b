//! The client registry: which client identifiers have a session, and who holds each.

use std::sync::Arc;

use super::control::ControlSlot;
use super::mailbox::Mailbox;
use crate::session::OfflineSession;

/// A client identifier's session as the registry holds it.
#[derive(Debug)]
pub(crate) struct ClientEntry {
    /// The session's mailbox; its key is the one the router holds the session's
    /// subscriptions under.
    pub(crate) mailbox: Arc<Mailbox>,
    /// Who holds the session now.
    pub(crate) holder: Holder,
    /// Whether the session store may hold a record of this session (it was saved or loaded),
    /// with the Session Expiry Interval of that record: a session that ends is removed from
    /// the store only then, so clean sessions cost no store call.
    pub(crate) stored: Option<u32>,
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
