//! The event task (`HookChain::spawn_event_task`, feature `runtime`): events delivered in
//! order off the caller, and dropped, not waited for, when its channel is full.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::rewrite_events::{recorders, sample_events};

#[tokio::test]
async fn the_event_task_delivers_in_order_off_the_caller() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let chain = Arc::new(recorders(&seen));
    let (sender, task) = chain.spawn_event_task(16);
    let events = sample_events();
    for event in &events {
        assert!(sender.send(event.clone()));
    }
    drop(sender);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2 * events.len());
    let second: Vec<_> = seen
        .iter()
        .filter(|(name, _)| *name == "second")
        .map(|(_, e)| e.clone())
        .collect();
    assert_eq!(second, events);
}

#[tokio::test]
async fn a_full_event_channel_drops_and_counts_instead_of_waiting() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let chain = Arc::new(recorders(&seen));
    let (sender, task) = chain.spawn_event_task(1);
    // The current-thread runtime runs the task only when this test yields.
    let events = sample_events();
    assert!(sender.send(events[0].clone()));
    assert!(!sender.send(events[1].clone()));
    assert!(!sender.clone().send(events[2].clone()));
    assert_eq!(sender.dropped(), 2);
    drop(sender);
    task.await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 2);
}
