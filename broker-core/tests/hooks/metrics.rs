//! Each hook call is measured: its latency goes to `skein_hook_duration_seconds` and its
//! failures to `skein_hook_failures_total`, labelled with the hook and the hook point; a
//! decision the cache answers calls no hook and records nothing.

use std::time::Duration;

use broker_core::hooks::{AuthzDecision, FailurePolicy, HookChain, HookOptions};
use metrics::{SharedString, Unit};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::{CompositeKey, MetricKind};

use super::support::*;

type Sample = (CompositeKey, Option<Unit>, Option<SharedString>, DebugValue);

/// The value of the metric `name` of `kind` whose labels are exactly `labels`. (A snapshot
/// drains the histograms: take one per check.)
fn find(
    snapshot: &[Sample],
    kind: MetricKind,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<DebugValue> {
    snapshot
        .iter()
        .find(|(key, _, _, _)| {
            let key_labels: Vec<(String, String)> = key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            let wanted: Vec<(String, String)> = labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            key.kind() == kind && key.key().name() == name && key_labels == wanted
        })
        .map(|(_, _, _, value)| match value {
            DebugValue::Counter(count) => DebugValue::Counter(*count),
            DebugValue::Gauge(gauge) => DebugValue::Gauge(*gauge),
            DebugValue::Histogram(samples) => DebugValue::Histogram(samples.clone()),
        })
}

const DURATION: &str = "skein_hook_duration_seconds";
const FAILURES: &str = "skein_hook_failures_total";

/// A histogram's samples.
fn samples(value: Option<DebugValue>) -> Vec<f64> {
    match value {
        Some(DebugValue::Histogram(values)) => values.into_iter().map(|v| v.into_inner()).collect(),
        other => panic!("expected a histogram, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn hook_calls_record_latency_and_failures_by_hook_and_point() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let log = new_log();
    let ttl = Some(Duration::from_secs(60));
    // The handles are registered when the hooks join the chain.
    let chain: HookChain = metrics::with_local_recorder(&recorder, || {
        HookChain::builder()
            .clock(tokio_clock())
            .hook_with(
                Scripted::new("broken", &log)
                    .authz(Answer::Fail)
                    .auth(Answer::Hang),
                HookOptions::default().on_authorize_failure(FailurePolicy::Next),
            )
            .hook(
                Scripted::new("rules", &log)
                    .authz(Answer::Decide(AuthzDecision::Allow { cache_ttl: ttl })),
            )
            .build()
    });
    let alice = client("alice");
    // "broken" fails and the next hook answers: one sample each, one error for "broken".
    // The same publish again is answered by the cache: no hook is called, nothing recorded.
    for _ in 0..2 {
        let _ = chain.authorize_publish(&publish(&alice, "a/b")).await;
    }
    let snapshot = snapshotter.snapshot().into_vec();
    let duration = |hook: &str, point: &str| {
        let labels = [("hook", hook), ("point", point)];
        find(&snapshot, MetricKind::Histogram, DURATION, &labels)
    };
    let failures = |hook: &str, point: &str, kind: &str| {
        let labels = [("hook", hook), ("point", point), ("kind", kind)];
        find(&snapshot, MetricKind::Counter, FAILURES, &labels)
    };
    assert_eq!(samples(duration("broken", "authorize_publish")).len(), 1);
    assert_eq!(samples(duration("rules", "authorize_publish")).len(), 1);
    let error = |count| Some(DebugValue::Counter(count));
    assert_eq!(failures("broken", "authorize_publish", "error"), error(1));
    assert_eq!(failures("rules", "authorize_publish", "error"), error(0));

    // A hook that hangs times out (paused clock: the timeout passes at once).
    let _ = chain.authenticate(&connect(client("bob"))).await;
    let snapshot = snapshotter.snapshot().into_vec();
    let labels = [
        ("hook", "broken"),
        ("point", "authenticate"),
        ("kind", "timeout"),
    ];
    assert_eq!(
        find(&snapshot, MetricKind::Counter, FAILURES, &labels),
        error(1)
    );
    let labels = [("hook", "broken"), ("point", "authenticate")];
    let latency = samples(find(&snapshot, MetricKind::Histogram, DURATION, &labels));
    assert_eq!(latency.len(), 1);
    assert!(latency[0] >= HookOptions::default().timeout.as_secs_f64());
}
