//! The circuit breaker of one plugin: after repeated failures (traps, deadlines passed,
//! instances that would not start) the plugin is not called for a while; its calls fail at
//! once, and the hook chain's failure policy answers them (deny, by default, for
//! authentication and authorization). Then the next calls try it again: one that succeeds
//! closes the circuit, one that fails opens it again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use broker_core::hooks::HookError;
use metrics::{counter, gauge};

/// Failures are counted over this window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long an open circuit keeps the plugin from being called.
pub const COOL_DOWN: Duration = Duration::from_secs(30);

/// One plugin's breaker.
pub(crate) struct Breaker {
    name: Arc<str>,
    /// Failures within [`WINDOW`] that open the circuit; 0: never.
    threshold: usize,
    /// Whether `state.open_until` is set: what every call reads, without the lock.
    open: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    failures: VecDeque<Instant>,
    open_until: Option<Instant>,
}

impl Breaker {
    pub(crate) fn new(name: Arc<str>, threshold: usize) -> Breaker {
        gauge!("skein_plugin_circuit_open", "plugin" => name.to_string()).set(0.0);
        Breaker {
            name,
            threshold,
            open: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the plugin may be called now: not while its circuit is open.
    pub(crate) fn admit(&self) -> Result<(), HookError> {
        if !self.open.load(Ordering::Acquire) {
            return Ok(());
        }
        match self.state().open_until {
            Some(until) if Instant::now() < until => Err(HookError::Unavailable(format!(
                "plugin {}: its circuit is open after repeated failures",
                self.name
            ))),
            _ => Ok(()),
        }
    }

    /// A call went well: an open circuit (being tried again) closes.
    pub(crate) fn succeeded(&self) {
        if !self.open.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.state();
        self.open.store(false, Ordering::Release);
        if state.open_until.take().is_some() {
            state.failures.clear();
            gauge!("skein_plugin_circuit_open", "plugin" => self.name.to_string()).set(0.0);
            tracing::info!(plugin = %self.name, "The plugin works again; its circuit is closed.");
        }
    }

    /// A call failed (`kind`: trap, timeout, unavailable); enough failures open the circuit.
    pub(crate) fn failed(&self, kind: &'static str) {
        counter!("skein_plugin_failures_total", "plugin" => self.name.to_string(), "kind" => kind)
            .increment(1);
        if self.threshold == 0 {
            return;
        }
        let now = Instant::now();
        let mut state = self.state();
        state.failures.push_back(now);
        while state
            .failures
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) > WINDOW)
        {
            state.failures.pop_front();
        }
        if state.failures.len() >= self.threshold {
            let was_open = state.open_until.is_some();
            state.open_until = Some(now + COOL_DOWN);
            self.open.store(true, Ordering::Release);
            gauge!("skein_plugin_circuit_open", "plugin" => self.name.to_string()).set(1.0);
            if !was_open {
                tracing::error!(
                    plugin = %self.name,
                    failures = state.failures.len(),
                    "The plugin failed {} times within {} s; its circuit is open for {} s: its calls get the hook's failure policy without running it.",
                    state.failures.len(),
                    WINDOW.as_secs(),
                    COOL_DOWN.as_secs()
                );
            }
        }
    }
}
