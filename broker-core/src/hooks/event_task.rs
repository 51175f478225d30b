//! Delivering events to hooks off the publish path: a bounded channel and one task.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Event, HookChain};

/// The sending side of the event channel: cheap to clone, never waits.
///
/// A full channel (the hooks are slower than the broker) drops the event and counts it: the
/// publish path never waits for an event hook.
#[derive(Debug, Clone)]
pub struct EventSender {
    sender: mpsc::Sender<Event>,
    dropped: Arc<AtomicU64>,
}

impl EventSender {
    /// Queues `event` for the hooks. Returns `false` (and counts the event as dropped) when
    /// the channel is full or the task has stopped.
    pub fn send(&self, event: Event) -> bool {
        match self.sender.try_send(event) {
            Ok(()) => true,
            Err(_) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "hook event channel full: events dropped");
                }
                false
            }
        }
    }

    /// How many events were dropped so far, by every clone of this sender.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl HookChain {
    /// Starts the task that hands events to the hooks, one at a time and in the order they
    /// were sent ([`HookChain::dispatch_event`]), through a channel of `capacity` events
    /// (at least 1). The task ends when every [`EventSender`] is dropped and the channel is
    /// drained. Must be called inside a tokio runtime.
    #[must_use]
    pub fn spawn_event_task(self: &Arc<Self>, capacity: usize) -> (EventSender, JoinHandle<()>) {
        let (sender, mut receiver) = mpsc::channel::<Event>(capacity.max(1));
        let chain = Arc::clone(self);
        let task = tokio::spawn(async move {
            while let Some(event) = receiver.recv().await {
                chain.dispatch_event(&event).await;
            }
        });
        let sender = EventSender {
            sender,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        (sender, task)
    }
}
