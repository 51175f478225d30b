//! The sweeper: one task that fires the timers of sessions with no connection (delayed
//! wills, session expiry) and removes expired retained messages.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::handover;
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::stats::Stats;
use crate::runtime::state::will_barrier;
use crate::runtime::tasks::TaskGuard;
use crate::runtime::wills;

/// The longest the sweeper sleeps with nothing due (retained messages can be added with an
/// expiry at any time; it looks at them at least this often).
const IDLE_PERIOD: Duration = Duration::from_secs(1);

/// Runs until the broker stops.
pub(crate) async fn run(shared: Arc<Shared>, _guard: TaskGuard) {
    let mut run_state = shared.watch_run_state();
    loop {
        let now = now();
        let next = sweep(&shared, now).await;
        let wake = next.map_or(now + IDLE_PERIOD, |at| at.min(now + IDLE_PERIOD));
        tokio::select! {
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(wake)) => {}
            () = shared.sweeper_woken() => {}
            changed = run_state.changed() => {
                if changed.is_err() || *run_state.borrow() == RunState::Stopped {
                    return;
                }
            }
        }
    }
}

/// Fires what is due as the broker starts, once the stored sessions are loaded and the store
/// task runs, before any listener accepts: the wills whose delay is 0 of the sessions that
/// were online when the broker stopped without settling them (a crash) go out before their
/// clients can come back and take them off ([MQTT-3.1.2-8]).
pub(crate) async fn sweep_at_start(shared: &Shared) {
    let _ = sweep(shared, now()).await;
}

/// Fires what is due at `now` ([`Registry::sweep`]); returns when the next offline-session
/// timer is due.
///
/// [`Registry::sweep`]: crate::runtime::state::registry::Registry::sweep
async fn sweep(shared: &Shared, now: Instant) -> Option<Instant> {
    let swept = shared.registry().sweep(shared.persist(), now);
    for (client_id, state, mailbox, removal) in swept.ended {
        tracing::debug!("Session of client {} expired.", Clipped(&client_id));
        Stats::bump(&shared.stats().sessions_expired);
        let handed_over = handover::end_session(shared, &state, &mailbox);
        // The record, with its stored copies, goes behind the copies handed over.
        let rest = removal.send(handed_over);
        handover::place_handed_over(shared, rest);
    }
    if let Some(client_id) = &swept.stored_will {
        // The records that held these wills are saved without them, or removed, first.
        will_barrier::store_caught_up(shared.persist(), client_id).await;
    }
    for will in swept.wills {
        wills::publish_will(shared, will, now).await;
    }
    let removed = shared.retained().remove_expired(now);
    if removed > 0 {
        tracing::debug!("Removed {removed} expired retained messages.");
    }
    swept.next
}
