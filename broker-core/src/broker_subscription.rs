//! An in-process subscription.

use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::runtime::queue::mailbox::SubscriberKey;
use crate::runtime::state::shared::Shared;
use crate::session::Message;
use crate::types::TopicFilter;

/// Messages matching one filter, received in-process. Dropping it unsubscribes.
pub struct Subscription {
    shared: Arc<Shared>,
    filter: TopicFilter,
    key: SubscriberKey,
    rx: mpsc::Receiver<Message>,
}

impl Subscription {
    pub(crate) fn new(
        shared: Arc<Shared>,
        filter: TopicFilter,
        key: SubscriberKey,
        rx: mpsc::Receiver<Message>,
    ) -> Self {
        Subscription {
            shared,
            filter,
            key,
            rx,
        }
    }

    /// The next message: its `qos` is the QoS it was delivered at (the lower of the
    /// published and subscribed ones), its `retain` set for a retained message sent because
    /// of this subscription. `None` once the broker stops (or the subscriber was too slow
    /// under the `Disconnect` overflow policy).
    pub async fn recv(&mut self) -> Option<Message> {
        self.rx.recv().await
    }

    /// The filter.
    #[must_use]
    pub fn filter(&self) -> &TopicFilter {
        &self.filter
    }
}

/// The messages as a [`Stream`](futures_core::Stream) (`StreamExt::next` from the
/// `futures` or `tokio-stream` crates): the same messages [`Subscription::recv`] gives,
/// ending once the broker stops.
impl futures_core::Stream for Subscription {
    type Item = Message;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Message>> {
        self.get_mut().rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let removed = self.shared.router().unsubscribe(&self.filter, &self.key);
        if let Some(cluster) = self.shared.cluster().filter(|_| removed) {
            cluster.unsubscribed(&self.filter);
        }
        self.key.mailbox().set_online(false);
        self.key.mailbox().wake();
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}
