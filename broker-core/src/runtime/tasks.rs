//! Counting the broker's tasks, so that shutdown can wait for every one of them to end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// How many tasks of one kind run, and a wake-up when the count reaches zero.
#[derive(Debug, Default)]
pub(crate) struct TaskTracker {
    running: AtomicUsize,
    idle: Notify,
}

impl TaskTracker {
    /// A tracker with no task.
    pub(crate) fn new() -> Arc<TaskTracker> {
        Arc::new(TaskTracker::default())
    }

    /// Counts one more task until the guard is dropped.
    pub(crate) fn guard(self: &Arc<Self>) -> TaskGuard {
        self.running.fetch_add(1, Ordering::AcqRel);
        TaskGuard {
            tracker: Arc::clone(self),
        }
    }

    /// How many tasks run now.
    pub(crate) fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// Waits until no task runs.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            // Register before checking, so that a guard dropped in between is not missed.
            idle.as_mut().enable();
            if self.running() == 0 {
                return;
            }
            idle.await;
        }
    }
}

/// One running task; dropping it (when the task ends, however it ends) uncounts it.
#[derive(Debug)]
pub(crate) struct TaskGuard {
    tracker: Arc<TaskTracker>,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        if self.tracker.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.tracker.idle.notify_waiters();
        }
    }
}
