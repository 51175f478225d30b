//! The sweeper: one task that fires the timers of sessions with no connection (delayed
//! wills, session expiry) and removes expired retained messages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::connect::end_session;
use super::persist::StoreOp;
use super::registry::Holder;
use super::routing;
use super::shared::{now, RunState, Shared};
use super::stats::Stats;
use super::tasks::TaskGuard;
use crate::session::Message;
use crate::store::StoredSession;
use crate::types::ClientId;

/// The longest the sweeper sleeps with nothing due (retained messages can be added with an
/// expiry at any time; it looks at them at least this often).
const IDLE_PERIOD: Duration = Duration::from_secs(1);

/// How soon an expiry is tried again when the session store's channel was full.
const STORE_RETRY: Duration = Duration::from_millis(50);

/// Runs until the broker stops.
pub(crate) async fn run(shared: Arc<Shared>, _guard: TaskGuard) {
    let mut run_state = shared.run_state.subscribe();
    loop {
        let now = now();
        let next = sweep(&shared, now);
        let wake = next.map_or(now + IDLE_PERIOD, |at| at.min(now + IDLE_PERIOD));
        tokio::select! {
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            () = shared.sweeper_wake.notified() => {}
            changed = run_state.changed() => {
                if changed.is_err() || *run_state.borrow() == RunState::Stopped {
                    return;
                }
            }
        }
    }
}

/// Fires what is due at `now`; returns when the next offline-session timer is due.
///
/// A stored session that expires is removed from the session store, and one whose delayed
/// will is published is saved again without it (so that a restart does not publish it
/// twice). These writes are handed to the store in the registry's lock; when the store's
/// channel is full the expiry waits for the next sweep.
fn sweep(shared: &Shared, now: Instant) -> Option<Instant> {
    let mut wills: Vec<Message> = Vec::new();
    let mut expired: Vec<ClientId> = Vec::new();
    let mut next: Option<Instant> = None;
    let mut soonest = |at: Instant| next = Some(next.map_or(at, |n: Instant| n.min(at)));
    let mut ended = Vec::new();
    {
        let mut registry = shared.registry();
        for (client_id, entry) in registry.iter_mut() {
            let Holder::Offline(offline) = &mut entry.holder else {
                continue;
            };
            if offline.poll_timeout().is_some_and(|at| at <= now) {
                let stored = entry.stored;
                let slot = stored.and_then(|_| shared.persist.try_reserve());
                if stored.is_some() && slot.is_none() {
                    soonest(now + STORE_RETRY);
                    continue;
                }
                let event = offline.handle_timeout(now);
                let fired = event.will.is_some();
                wills.extend(event.will);
                if event.expired {
                    if let Some(slot) = slot {
                        slot.send(StoreOp::Remove(client_id.clone()));
                    }
                    expired.push(client_id.clone());
                    continue;
                }
                if let (true, Some(slot), Some(expiry)) = (fired, slot, stored) {
                    let record = StoredSession::from_state(offline.state(), expiry, None);
                    slot.send(StoreOp::Save(record));
                }
            }
            if let Some(at) = offline.poll_timeout() {
                soonest(at);
            }
        }
        for client_id in expired {
            if let Some(entry) = registry.remove(&client_id) {
                if let Holder::Offline(offline) = entry.holder {
                    let (state, will) = offline.end(now);
                    wills.extend(will);
                    ended.push((client_id, state, entry.mailbox));
                }
            }
        }
    }
    for (client_id, state, mailbox) in ended {
        tracing::debug!("Session of client {client_id} expired.");
        Stats::bump(&shared.stats.sessions_expired);
        end_session(shared, &state, &mailbox);
    }
    for will in wills {
        routing::publish_will(shared, will, now);
    }
    let removed = shared.retained_mut().remove_expired(shared.secs(now));
    if removed > 0 {
        tracing::debug!("Removed {removed} expired retained messages.");
    }
    next
}
