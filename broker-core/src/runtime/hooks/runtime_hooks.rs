//! The hook chain as the runtime holds it: the chain, what its hooks are interested in (read
//! on every publish without touching the chain), the event channel, and each listener's
//! anonymous policy.
//!
//! With no hooks nothing here costs anything on the publish path: [`RuntimeHooks::screens`]
//! is one bit test, and no request, event or future is built.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::hooks::{Anonymous, Event, EventSender, HookChain, Interest};
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::run_state::RunState;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::transport::listener::Listener;
use crate::session::{DropReason, Dropped};
use crate::types::{QoS, TopicName};

/// Events queued for the hooks at most; beyond, events are dropped (and counted) rather
/// than slowing the broker down.
const EVENT_CAPACITY: usize = 4096;

/// The broker's hooks.
#[derive(Debug)]
pub(crate) struct RuntimeHooks {
    /// The chain every connection asks.
    pub(crate) chain: Arc<HookChain>,
    /// The hook points some hook takes part in.
    pub(crate) interest: Interest,
    /// Where lifecycle events go; `None` when no hook wants them.
    events: Option<EventSender>,
}

impl RuntimeHooks {
    /// The runtime's side of `chain`, and the task that hands events to its hooks when one
    /// wants them (it must be watched with [`watch_event_task`]). Must be called inside a
    /// tokio runtime.
    pub(crate) fn start(chain: Arc<HookChain>) -> (RuntimeHooks, Option<JoinHandle<()>>) {
        let (events, task) = if chain.wants_events() {
            let (sender, task) = chain.spawn_event_task(EVENT_CAPACITY);
            (Some(sender), Some(task))
        } else {
            (None, None)
        };
        let hooks = RuntimeHooks {
            interest: chain.interest(),
            chain,
            events,
        };
        (hooks, task)
    }

    /// Whether some hook takes part in `point` (any of its points).
    pub(crate) fn screens(&self, point: Interest) -> bool {
        self.interest.intersects(point)
    }

    /// Whether some hook wants lifecycle events.
    pub(crate) fn wants_events(&self) -> bool {
        self.events.is_some()
    }

    /// A message for the client of `mailbox` was dropped: [`Event::MessageDropped`] (not
    /// for in-process subscribers, which have no client identifier).
    pub(crate) fn emit_dropped(&self, mailbox: &Mailbox, dropped: &Dropped) {
        let copy = &dropped.copy;
        // A copy the queue left in the store keeps its topic only for a session whose drops
        // the hooks want (the mailbox was made durable with topics kept).
        if let Some(topic) = copy.topic() {
            self.emit_dropped_message(mailbox, topic, copy.qos(), dropped.reason);
        }
    }

    /// [`RuntimeHooks::emit_dropped`] from the parts of a dropped message.
    pub(crate) fn emit_dropped_message(
        &self,
        mailbox: &Mailbox,
        topic: &TopicName,
        qos: QoS,
        reason: DropReason,
    ) {
        if !self.wants_events() {
            return;
        }
        if let Some(client_id) = mailbox.owner() {
            self.emit(|| Event::MessageDropped {
                client_id: client_id.clone(),
                topic: topic.clone(),
                qos,
                reason,
            });
        }
    }

    /// Queues the event `make` builds, if a hook wants events; never waits.
    pub(crate) fn emit(&self, make: impl FnOnce() -> Event) {
        if let Some(events) = &self.events {
            events.send(make());
        }
    }
}

/// Ends the event task when the broker stops (what it has not handed over by then is
/// dropped), so that a shutdown leaves no task running.
pub(crate) async fn watch_event_task(
    mut task: JoinHandle<()>,
    mut run_state: watch::Receiver<RunState>,
    _guard: TaskGuard,
) {
    loop {
        tokio::select! {
            _ = &mut task => return,
            changed = run_state.changed() => {
                if changed.is_err() || *run_state.borrow() == RunState::Stopped {
                    task.abort();
                    return;
                }
            }
        }
    }
}

/// The anonymous policy for clients of `listener`: its `allow_anonymous` setting if it has
/// one, else the chain's.
pub(crate) fn anonymous_on(listener: &Listener, chain: &HookChain) -> Anonymous {
    match listener.config.allow_anonymous {
        Some(true) => Anonymous::Allow,
        Some(false) => Anonymous::Deny,
        None => chain.anonymous(),
    }
}
