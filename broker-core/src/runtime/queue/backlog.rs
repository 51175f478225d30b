//! What one publisher waits on: its copies for durable sessions, which the store takes
//! first, its copies in full mailboxes' waiting lines, and the slots its last turn gave it.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::queue::grant::Grant;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::queue::waiting::Ticket;
use crate::session::{PushOutcome, QueuedMessage};

/// A publisher's copies waiting for room, and the [`Grant`] of its last turn.
///
/// A publisher (a connection's task, or an embedder's publish) routes a message, leaves the
/// copies that met a full queue here, and waits for each in turn ([`Backlog::wait`]) before it
/// acknowledges the message and reads on. A turn can come with a grant: the next copies for
/// that mailbox go past its line, up to the grant. The grant lasts until
/// [`Backlog::end_turn`]: the connection ends it once it has carried out every packet it had
/// read, so a publisher that goes quiet keeps no slot.
#[derive(Default)]
pub(crate) struct Backlog {
    /// What a copy that finds an online subscriber's queue full does.
    when_full: WhenFull,
    waiting: Vec<(Arc<Mailbox>, Ticket)>,
    grant: Option<Grant>,
    /// QoS 1 and 2 copies for durable mailboxes: the store takes them before they are queued
    /// ([`Mailbox::durable_owner`]).
    durable: Vec<(Arc<Mailbox>, QueuedMessage)>,
}

/// What a publisher's copy that finds an online subscriber's queue full does.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhenFull {
    /// It joins the queue's waiting line, and the publisher waits for its turn.
    #[default]
    Wait,
    /// The queue's overflow policy acts at once: the publisher cannot wait (an embedder's
    /// `publish_now`).
    Overflow,
}

impl Backlog {
    /// The backlog of a publisher that cannot wait: copies that find a queue full meet its
    /// overflow policy at once; only the copies for durable mailboxes are kept (for the store).
    pub(crate) fn never_waiting() -> Backlog {
        Backlog {
            when_full: WhenFull::Overflow,
            ..Backlog::default()
        }
    }

    /// What a copy that finds an online subscriber's queue full does.
    pub(crate) fn when_full(&self) -> WhenFull {
        self.when_full
    }

    /// Whether no copy waits (for room, or for the store).
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty() && self.durable.is_empty()
    }

    /// Whether copies wait for room in full queues.
    pub(crate) fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Whether copies wait for the store.
    pub(crate) fn has_durable(&self) -> bool {
        !self.durable.is_empty()
    }

    /// Keeps `copy` for `mailbox` until the store has it.
    pub(crate) fn keep_durable(&mut self, mailbox: Arc<Mailbox>, copy: QueuedMessage) {
        self.durable.push((mailbox, copy));
    }

    /// The copies kept for the store.
    pub(crate) fn take_durable(&mut self) -> Vec<(Arc<Mailbox>, QueuedMessage)> {
        std::mem::take(&mut self.durable)
    }

    /// Takes one granted slot of `mailbox`, if the last turn gave this publisher any.
    pub(crate) fn take_slot(&mut self, mailbox: &Mailbox) -> bool {
        self.grant
            .as_mut()
            .is_some_and(|grant| grant.take_for(mailbox.id()))
    }

    /// A copy joined `mailbox`'s waiting line with `ticket`.
    pub(crate) fn add(&mut self, mailbox: Arc<Mailbox>, ticket: Ticket) {
        self.waiting.push((mailbox, ticket));
    }

    /// Waits until every copy is placed, in its turn (or its subscriber is found stalled
    /// for `stall`, or goes offline, and the overflow policy acts), telling `placed` what
    /// became of each. A copy whose session ended while it waited went with the session.
    pub(crate) async fn wait(
        &mut self,
        stall: Duration,
        mut placed: impl FnMut(&Mailbox, PushOutcome),
    ) {
        for (mailbox, ticket) in self.waiting.drain(..) {
            if let Some(admission) = mailbox.wait_for_room(ticket, stall).await {
                placed(&mailbox, admission.outcome);
                if admission.grant.is_some() {
                    // The previous grant, if any, goes back as this one replaces it.
                    self.grant = admission.grant;
                }
            }
        }
    }

    /// Gives back what is left of the grant.
    pub(crate) fn end_turn(&mut self) {
        self.grant = None;
    }
}
