//! Each hook's latency and failures, through the `metrics` facade: the histogram
//! `skein_hook_duration_seconds` and the counter `skein_hook_failures_total`, labelled with
//! the hook's name and the hook point (docs/metrics.md).
//!
//! The handles are registered once, when the hook joins a chain, so a call costs two clock
//! reads and one histogram record, with no label lookup. Without a `metrics` recorder
//! installed by then (the node installs one before it builds the broker), they do nothing.

use std::time::Duration;

use metrics::{counter, histogram, Counter, Histogram};

use super::HookError;

/// A hook point, as the `point` label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Point {
    Authenticate,
    AuthorizePublish,
    AuthorizeSubscribe,
    RewritePublish,
    RewriteSubscribe,
    Event,
}

impl Point {
    const ALL: [Point; 6] = [
        Point::Authenticate,
        Point::AuthorizePublish,
        Point::AuthorizeSubscribe,
        Point::RewritePublish,
        Point::RewriteSubscribe,
        Point::Event,
    ];

    /// The label value.
    pub(super) fn name(self) -> &'static str {
        match self {
            Point::Authenticate => "authenticate",
            Point::AuthorizePublish => "authorize_publish",
            Point::AuthorizeSubscribe => "authorize_subscribe",
            Point::RewritePublish => "rewrite_publish",
            Point::RewriteSubscribe => "rewrite_subscribe",
            Point::Event => "event",
        }
    }
}

/// One hook point's handles.
#[derive(Clone)]
struct PointMetrics {
    duration: Histogram,
    errors: Counter,
    timeouts: Counter,
}

/// One hook's handles, for every hook point.
#[derive(Clone)]
pub(super) struct HookMetrics {
    points: [PointMetrics; 6],
}

impl HookMetrics {
    /// Registers the handles of the hook called `hook`.
    pub(super) fn new(hook: &str) -> Self {
        let register = |point: Point| {
            let labels = [
                ("hook", hook.to_owned()),
                ("point", point.name().to_owned()),
            ];
            let failures = |kind: &'static str| {
                let mut labels = labels.to_vec();
                labels.push(("kind", kind.to_owned()));
                counter!("skein_hook_failures_total", &labels)
            };
            PointMetrics {
                duration: histogram!("skein_hook_duration_seconds", &labels),
                errors: failures("error"),
                timeouts: failures("timeout"),
            }
        };
        HookMetrics {
            points: Point::ALL.map(register),
        }
    }

    /// Records one call at `point` that took `elapsed` and ended with `result`.
    pub(super) fn record<T>(&self, point: Point, elapsed: Duration, result: &Result<T, HookError>) {
        let Some(metrics) = self.points.get(point as usize) else {
            return;
        };
        metrics.duration.record(elapsed.as_secs_f64());
        match result {
            Ok(_) => {}
            Err(HookError::Timeout(_)) => metrics.timeouts.increment(1),
            Err(_) => metrics.errors.increment(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_points_are_in_their_declared_order() {
        for (index, point) in Point::ALL.iter().enumerate() {
            assert_eq!(*point as usize, index, "{point:?}");
        }
    }
}
