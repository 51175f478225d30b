//! The client registry: which client identifiers have a session, and who holds each.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::control::Control;
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
    /// A live connection, reachable through its control channel.
    Online {
        /// The connection's identifier.
        conn_id: u64,
        /// Its control channel.
        control: mpsc::Sender<Control>,
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

    /// Whether connection `conn_id` holds this entry.
    pub(crate) fn is_held_by(&self, conn_id: u64) -> bool {
        matches!(self.holder, Holder::Online { conn_id: id, .. } if id == conn_id)
    }
}
