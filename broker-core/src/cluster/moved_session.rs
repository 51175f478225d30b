//! [`MovedSession`]: a session on its way from one node to another at a takeover.

use crate::session::QueuedMessage;
use crate::store::StoredSession;

/// A session moving from the node that held it to the node its client connects to now
/// ([`ClusterLink::take_over`]): its record, and the messages queued for it, in queue order.
///
/// The record holds every in-flight PUBLISH whole (no store numbers: the receiving node's
/// store numbers its own copies), and the will the closed connection left, which the
/// receiving node publishes or keeps as a local takeover would.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MovedSession {
    /// The session's record.
    pub session: StoredSession,
    /// The messages waiting for the client, oldest first.
    pub queued: Vec<QueuedMessage>,
}

impl MovedSession {
    /// `session` with the messages `queued` for it. Store numbers of in-flight messages are
    /// dropped: they name copies in the sending node's store only.
    #[must_use]
    pub fn new(mut session: StoredSession, mut queued: Vec<QueuedMessage>) -> Self {
        session.stored_outbound.clear();
        for copy in &mut queued {
            copy.stored = None;
        }
        MovedSession { session, queued }
    }
}
