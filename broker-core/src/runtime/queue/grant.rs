//! Slots of a full mailbox set aside for one publisher with its turn, so that a turn moves
//! several messages for one wake-up.

use std::sync::Arc;

/// What grants slots: a mailbox, which counts them as taken until they come back.
pub(crate) trait SlotOwner: Send + Sync {
    /// The owner's unique identifier.
    fn id(&self) -> u64;
    /// Gives back `slots` set aside for a grant.
    fn release_slots(&self, slots: usize);
}

/// Free slots of one mailbox that its owner set aside for the publisher whose copy it just
/// admitted from the waiting line
/// ([`Queue::took`](crate::runtime::queue::mailbox::Queue::took)): the publisher pushes up
/// to that many more copies past the line, then waits its next turn. Without it a publisher
/// would be woken once per message while the queue stays full.
///
/// The slots are counted as taken while the grant holds them; what is left of them goes back
/// when the grant is dropped (the publisher carried out everything it had read, or its
/// connection ended), so none is lost.
pub(crate) struct Grant {
    owner: Arc<dyn SlotOwner>,
    left: usize,
}

impl Grant {
    /// `slots` slots of `owner`, already counted as set aside there.
    pub(crate) fn new(owner: Arc<dyn SlotOwner>, slots: usize) -> Grant {
        Grant { owner, left: slots }
    }

    /// Takes one slot if this grant is the owner's with identifier `owner` and has one
    /// left. The caller pushes with it
    /// ([`Mailbox::try_push`](crate::runtime::queue::mailbox::Mailbox::try_push) with
    /// `granted` set), which gives the slot back as the copy takes it.
    pub(crate) fn take_for(&mut self, owner: u64) -> bool {
        if self.left > 0 && self.owner.id() == owner {
            self.left -= 1;
            true
        } else {
            false
        }
    }

    /// The slots left, handed back to the caller instead of the mailbox: for the owner,
    /// which holds the queue's lock when a publisher is gone before its grant reached it.
    pub(crate) fn into_slots(mut self) -> usize {
        std::mem::take(&mut self.left)
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        if self.left > 0 {
            self.owner.release_slots(self.left);
        }
    }
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("owner", &self.owner.id())
            .field("left", &self.left)
            .finish()
    }
}
