//! Bounding a future by a deadline on a [`Clock`].

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Instant;

use super::{Clock, Sleep};

/// Runs `future` until `deadline` on `clock`: its output, or `None` if the deadline came
/// first. The future is polled before the timer, so an answer ready at the deadline wins.
/// The timer is asked for only when the future is not ready at its first poll (a future
/// that answers at once costs no allocation); a clock with no timer lets it run to the end.
pub(crate) async fn within<F: Future>(
    clock: &dyn Clock,
    deadline: Instant,
    future: F,
) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut timer: Option<Option<Sleep>> = None;
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        let sleep = timer.get_or_insert_with(|| clock.sleep_until(deadline));
        match sleep.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::future::pending;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// tokio's paused clock and timer.
    #[derive(Debug)]
    struct Paused;

    impl Clock for Paused {
        fn now(&self) -> Instant {
            tokio::time::Instant::now().into_std()
        }

        fn sleep_until(&self, deadline: Instant) -> Option<Sleep> {
            Some(Box::pin(tokio::time::sleep_until(deadline.into())))
        }
    }

    /// tokio's paused clock with no timer, counting how often a timer was asked for.
    #[derive(Debug, Default)]
    struct NoTimer(AtomicUsize);

    impl Clock for NoTimer {
        fn now(&self) -> Instant {
            Paused.now()
        }

        fn sleep_until(&self, _deadline: Instant) -> Option<Sleep> {
            self.0.fetch_add(1, Ordering::Relaxed);
            None
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_future_ready_at_once_asks_for_no_timer() {
        let clock = NoTimer::default();
        assert_eq!(within(&clock, clock.now(), async { 7 }).await, Some(7));
        assert_eq!(clock.0.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_a_pending_future() {
        let start = Paused.now();
        let deadline = start + Duration::from_secs(1);
        assert_eq!(within(&Paused, deadline, pending::<()>()).await, None);
        assert_eq!(Paused.now() - start, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_before_the_deadline_wins() {
        let deadline = Paused.now() + Duration::from_secs(2);
        let answer = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            3
        };
        assert_eq!(within(&Paused, deadline, answer).await, Some(3));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_timer_the_future_runs_to_its_end() {
        let clock = NoTimer::default();
        let answer = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            5
        };
        assert_eq!(within(&clock, clock.now(), answer).await, Some(5));
        assert_eq!(clock.0.load(Ordering::Relaxed), 1);
    }
}
