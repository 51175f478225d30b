//! The acknowledgements a publisher's connection owes while the store takes their copies:
//! see [`pending_acks`](super::pending_acks).

use std::collections::VecDeque;
use std::future::Future as _;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::sync::oneshot;

use crate::runtime::queue::mailbox::Mailbox;
use crate::session::{PublishAck, QueuedMessage};
use crate::store::StoreError;

/// Acknowledgements waiting at most; past it the connection stops reading.
pub(crate) const MAX_PENDING: usize = 1024;

/// The store's answer to an enqueue: the copies' sequence numbers, in order.
pub(crate) type Answer = oneshot::Receiver<Result<Vec<u64>, StoreError>>;

/// A publish whose acknowledgement waits for the store, or for one before it.
pub(crate) struct PendingAck {
    /// The acknowledgement owed (none at QoS 0).
    pub(super) ack: Option<PublishAck>,
    /// Whether any subscription matched.
    pub(super) matched: bool,
    /// Its copies for persistent sessions, queued once the store has them.
    pub(super) durable: Vec<(Arc<Mailbox>, QueuedMessage)>,
    /// The store's answer, when there are such copies, until it comes.
    pub(super) answer: Option<Answer>,
    /// The answer, once it came (`None` when none was needed).
    pub(super) result: Option<Result<Vec<u64>, StoreError>>,
}

/// The acknowledgements waiting, in the order their PUBLISH packets came.
#[derive(Default)]
pub(crate) struct PendingAcks {
    pub(super) queue: VecDeque<PendingAck>,
}

impl PendingAcks {
    /// How many wait.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Ready when the first one can be completed (its answer has come, or it needs none).
    pub(crate) fn poll_front(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(front) = self.queue.front_mut() else {
            return Poll::Pending;
        };
        let Some(answer) = front.answer.as_mut() else {
            return Poll::Ready(());
        };
        let result = ready!(std::pin::Pin::new(answer).poll(cx));
        front.answer = None;
        front.result = Some(result.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the session store has stopped".to_owned(),
            ))
        }));
        Poll::Ready(())
    }
}
