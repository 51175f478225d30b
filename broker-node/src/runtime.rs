//! The tokio runtime `skein` runs on: multi-threaded, one worker per CPU the process may use,
//! and, with `[runtime] arrival_order` (the default), tasks run in the order they were woken.
//!
//! By default tokio's multi-threaded scheduler puts the task woken last into a "LIFO slot"
//! that runs before every task woken earlier (good for a task that hands a message to
//! another). The I/O driver wakes the tasks of the sockets it finds ready in one turn in the
//! order the kernel reports them, which is the order their bytes arrived; the slot then ran
//! the last of them first. So a SUBSCRIBE one client sent and a PUBLISH another client sent
//! right after it were carried out the other way round whenever both arrived within one
//! turn, and the message missed the new subscription, in most rounds of
//! `examples/subscribe_race` (issue 17, docs/performance.md). With the slot disabled, the
//! connection whose bytes came first is served first, as in Mosquitto's event loop. A
//! second worker may still take a later task from the queue and run it beside the first:
//! the order across connections is likelier, not guaranteed (MQTT does not order packets
//! across connections). The price: a subscriber's task woken by its publisher waits its turn
//! behind the tasks already queued instead of running next, which about doubles the latency
//! of a saturated broker (not its throughput); `arrival_order = false` keeps the slot.
//!
//! Disabling the slot is one of tokio's unstable options: the workspace builds with
//! `--cfg tokio_unstable` (`.cargo/config.toml`). A build without it (a `RUSTFLAGS` variable
//! replaces the config's flags) keeps the slot, and says so at start
//! ([`KEEPS_WAKE_ORDER`]).

use tokio::runtime::Builder;

/// Whether this build runs woken tasks in the order they were woken (built with
/// `--cfg tokio_unstable`).
pub(crate) const KEEPS_WAKE_ORDER: bool = cfg!(tokio_unstable);

/// The runtime's builder, every option set but the number of workers (tokio's default);
/// with `arrival_order`, woken tasks run in the order they were woken (when
/// [`KEEPS_WAKE_ORDER`]).
pub(crate) fn builder(arrival_order: bool) -> Builder {
    let mut builder = Builder::new_multi_thread();
    builder.enable_all();
    #[cfg(tokio_unstable)]
    if arrival_order {
        builder.disable_lifo_slot();
    }
    #[cfg(not(tokio_unstable))]
    let _ = arrival_order;
    builder
}

#[cfg(test)]
#[path = "runtime_test.rs"]
mod tests;
