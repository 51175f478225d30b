//! The line of copies that found their mailbox full: admitted in arrival order as the owner
//! takes messages, so no publisher waits behind others that came later.

use std::collections::VecDeque;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::runtime::queue::grant::Grant;
use crate::session::{PushOutcome, QueuedMessage};

/// Copies waiting for room in one mailbox, oldest first, each with the channel that tells its
/// publisher what became of it.
///
/// A publisher that finds its subscriber's queue full joins the line instead of retrying: the
/// owner admits from the front as it takes messages, and a publisher that comes while the
/// line is not empty joins its back even if there is room, so that none can overtake a
/// waiting one. The line holds at most one copy per blocked publish: a publisher reads
/// nothing more from its client until its copies are admitted.
#[derive(Default)]
pub(crate) struct WaitingLine {
    entries: VecDeque<Entry>,
    next_ticket: u64,
    /// Free slots of the queue set aside for publishers whose turn came
    /// ([`Grant`]): the queue counts them as taken.
    pub(crate) set_aside: usize,
    /// Since when the queue has been full without its owner taking a message, while copies
    /// wait: they wait until the owner has taken nothing for the stall timeout. Kept here,
    /// with the line, since most mailboxes never see a full queue.
    pub(crate) full_since: Option<Instant>,
}

/// One waiting copy.
struct Entry {
    ticket: u64,
    copy: QueuedMessage,
    reply: oneshot::Sender<Admission>,
}

/// What became of a waiting copy, told to its publisher: what the queue did with it, and the
/// slots set aside for the publisher's next copies when the copy was admitted in its turn.
#[derive(Debug)]
pub(crate) struct Admission {
    pub(crate) outcome: PushOutcome,
    pub(crate) grant: Option<Grant>,
}

impl Admission {
    /// An outcome without a grant.
    pub(crate) fn placed(outcome: PushOutcome) -> Admission {
        Admission {
            outcome,
            grant: None,
        }
    }
}

/// A place in a [`WaitingLine`]: its number, and where the outcome arrives when the copy
/// leaves the line by the owner's hand. The channel closes without an outcome when the line
/// is dropped (the session ended).
#[derive(Debug)]
pub(crate) struct Ticket {
    pub(crate) number: u64,
    pub(crate) outcome: oneshot::Receiver<Admission>,
}

impl WaitingLine {
    /// Whether no copy waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the line holds nothing: no copy waits, no slot is set aside and no stall is
    /// counted (it can go).
    pub(crate) fn is_idle(&self) -> bool {
        self.entries.is_empty() && self.set_aside == 0 && self.full_since.is_none()
    }

    /// Puts `copy` at the back of the line.
    pub(crate) fn join(&mut self, copy: QueuedMessage) -> Ticket {
        let (reply, outcome) = oneshot::channel();
        let number = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.entries.push_back(Entry {
            ticket: number,
            copy,
            reply,
        });
        Ticket { number, outcome }
    }

    /// The copy at the front whose publisher still waits, if any; copies whose publisher
    /// stopped waiting before their turn are dropped on the way ([`Self::admit_front`]).
    pub(crate) fn front(&mut self) -> Option<&QueuedMessage> {
        self.drop_abandoned();
        self.entries.front().map(|entry| &entry.copy)
    }

    /// Drops the copies at the front whose publisher stopped waiting (its connection ended
    /// before their turn). Such a copy was never acknowledged: the client sends it again
    /// (QoS 1 and 2) on its next connection, so placing it too could deliver a QoS 2
    /// message twice.
    fn drop_abandoned(&mut self) {
        while self
            .entries
            .front()
            .is_some_and(|entry| entry.reply.is_closed())
        {
            self.entries.pop_front();
        }
    }

    /// Takes the front copy whose publisher still waits out, and tells the publisher the
    /// admission `place` gives it. Returns `None` if no such copy is left, `Some(None)` when
    /// the publisher was told, and the admission back when the publisher stopped waiting in
    /// the meantime: the copy is placed all the same, and the caller takes back the grant's
    /// slots.
    pub(crate) fn admit_front(
        &mut self,
        place: impl FnOnce(QueuedMessage) -> Admission,
    ) -> Option<Option<Admission>> {
        self.drop_abandoned();
        let entry = self.entries.pop_front()?;
        Some(entry.reply.send(place(entry.copy)).err())
    }

    /// Takes every copy out, front first, each placed by `place` (without a grant) and its
    /// publisher told.
    pub(crate) fn admit_all(&mut self, mut place: impl FnMut(QueuedMessage) -> PushOutcome) {
        while self
            .admit_front(|copy| Admission::placed(place(copy)))
            .is_some()
        {}
    }

    /// Takes the copy of `ticket` out of the line, if it is still there (its publisher stops
    /// waiting and places it itself).
    pub(crate) fn leave(&mut self, ticket: u64) -> Option<QueuedMessage> {
        let index = self
            .entries
            .iter()
            .position(|entry| entry.ticket == ticket)?;
        self.entries.remove(index).map(|entry| entry.copy)
    }

    /// Takes the copies for which `take` holds out, front first; their publishers are told
    /// nothing (the copies go elsewhere).
    pub(crate) fn extract(
        &mut self,
        mut take: impl FnMut(&QueuedMessage) -> bool,
    ) -> Vec<QueuedMessage> {
        let mut taken = Vec::new();
        let mut kept = VecDeque::with_capacity(self.entries.len());
        for entry in self.entries.drain(..) {
            if take(&entry.copy) {
                taken.push(entry.copy);
            } else {
                kept.push_back(entry);
            }
        }
        self.entries = kept;
        taken
    }

    /// Takes every copy out, front first; their publishers are told nothing (the session
    /// ended).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = QueuedMessage> + '_ {
        self.entries.drain(..).map(|entry| entry.copy)
    }
}
