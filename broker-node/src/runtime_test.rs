//! With `arrival_order`, the runtime runs woken tasks in the order they were woken.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::*;

/// One worker, two tasks waiting; a third task, on the worker, wakes the first and then the
/// second. Returns the order they ran in.
fn order_of_two_wakes(arrival_order: bool) -> Vec<&'static str> {
    let runtime = builder(arrival_order).worker_threads(1).build().unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (started, mut waiting) = mpsc::unbounded_channel();
    let mut senders = Vec::new();
    let mut tasks = Vec::new();
    for name in ["first", "second"] {
        let (wake, woken) = oneshot::channel::<()>();
        senders.push(wake);
        let (order, started) = (Arc::clone(&order), started.clone());
        tasks.push(runtime.spawn(async move {
            started.send(()).unwrap();
            woken.await.unwrap();
            order.lock().unwrap().push(name);
        }));
    }
    runtime.block_on(async {
        // Both are waiting once they have started: the one worker finishes a task's poll
        // before it runs the next task.
        for _ in 0..2 {
            waiting.recv().await.unwrap();
        }
        runtime
            .spawn(async move {
                for wake in senders {
                    wake.send(()).unwrap();
                }
            })
            .await
            .unwrap();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let order = order.lock().unwrap().clone();
    order
}

/// The first woken runs first, as the connection whose socket the I/O driver found ready
/// first in a turn does (in a build with `--cfg tokio_unstable`, as `.cargo/config.toml`
/// makes it).
#[test]
fn with_arrival_order_tasks_run_in_the_order_they_were_woken() {
    assert_eq!(order_of_two_wakes(true), ["first", "second"]);
}

/// Without it, tokio's LIFO slot runs the task woken last first.
#[test]
fn without_arrival_order_the_task_woken_last_runs_first() {
    assert_eq!(order_of_two_wakes(false), ["second", "first"]);
}
