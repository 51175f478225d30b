//! A wake-up for one waiter that keeps a wake-up given while nobody waited.

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};

use atomic_waker::AtomicWaker;

/// The owner's wake-up of a mailbox: publishers [`notify`](Signal::notify), the owner waits.
///
/// The waiter is any [`Waker`]: a connection task's, or the parker's when the connection is
/// parked ([`Signal::register`]). A notification given while no one waits is kept and taken
/// by the next wait, so none is lost.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    waker: AtomicWaker,
    pending: AtomicBool,
}

impl Signal {
    /// A signal with nothing pending.
    pub(crate) const fn new() -> Signal {
        Signal {
            waker: AtomicWaker::new(),
            pending: AtomicBool::new(false),
        }
    }

    /// Wakes the waiter, or keeps the wake-up for the next wait.
    pub(crate) fn notify(&self) {
        self.pending.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Takes a pending wake-up, or registers `cx`'s waker for the next one.
    pub(crate) fn poll_wait(&self, cx: &Context<'_>) -> Poll<()> {
        if self.pending.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        // A notification between the check and the registration woke no one: take it now.
        if self.pending.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Waits for a wake-up.
    pub(crate) fn wait(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| self.poll_wait(cx))
    }

    /// Makes `waker` the waiter, without taking a pending wake-up. Returns whether one is
    /// pending (its waker may not be called for it).
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        self.waker.register(waker);
        self.pending.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    /// Counts its wake-ups.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn woken(count: &Count) -> usize {
        count.0.load(Ordering::SeqCst)
    }

    #[test]
    fn a_notification_given_while_nobody_waits_is_kept_for_the_next_wait() {
        let signal = Signal::new();
        signal.notify();
        let count = Arc::new(Count::default());
        let waker = Waker::from(Arc::clone(&count));
        let cx = Context::from_waker(&waker);
        assert_eq!(signal.poll_wait(&cx), Poll::Ready(()));
        // Taken: the next wait waits.
        assert_eq!(signal.poll_wait(&cx), Poll::Pending);
        signal.notify();
        assert_eq!(woken(&count), 1);
        assert_eq!(signal.poll_wait(&cx), Poll::Ready(()));
    }

    #[test]
    fn a_registered_waker_is_woken_and_told_what_is_pending() {
        let signal = Signal::new();
        let parker = Arc::new(Count::default());
        let waker = Waker::from(Arc::clone(&parker));
        assert!(!signal.register(&waker));
        signal.notify();
        assert_eq!(woken(&parker), 1);
        // The wake-up stays pending for the task that resumes.
        assert!(signal.register(&waker));
        let cx = Context::from_waker(&waker);
        assert_eq!(signal.poll_wait(&cx), Poll::Ready(()));
    }
}
