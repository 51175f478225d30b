//! In-process subscribers: a mailbox drained by a small task into a bounded channel that the
//! embedding application reads.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::runtime::clock::now;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::routing;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;
use crate::session::Message;

/// Messages an in-process subscription holds for its reader beyond its mailbox.
pub(crate) const CHANNEL_CAPACITY: usize = 64;

/// Moves messages from `mailbox` to `tx` until the reader goes away, the mailbox overflows
/// under the Disconnect policy, or the broker stops.
pub(crate) async fn drain(
    shared: Arc<Shared>,
    mailbox: Arc<Mailbox>,
    tx: mpsc::Sender<Message>,
    _guard: TaskGuard,
) {
    let mut run_state = shared.watch_run_state();
    let mut expired = Vec::new();
    loop {
        if *run_state.borrow() == RunState::Stopped || mailbox.take_overflowed() {
            return;
        }
        let permit = tokio::select! {
            permit = tx.reserve() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            changed = run_state.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        let next = {
            let mut queue = mailbox.lock();
            let now = now();
            let next = queue.pop(now, &mut expired);
            // Copies waiting for room are admitted in the place this one left.
            if next.is_some() {
                queue.took(now, &mailbox);
            }
            next
        };
        for dropped in expired.drain(..) {
            routing::log_drop(&shared, &mailbox, &dropped);
        }
        match next {
            Some(queued) => {
                let mut message = queued.message;
                message.qos = queued.qos;
                message.retain = queued.retain;
                permit.send(message);
            }
            None => {
                drop(permit);
                tokio::select! {
                    () = mailbox.notified() => {}
                    () = tx.closed() => return,
                    changed = run_state.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
