//! The runtime runs woken tasks in the order they were woken.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::*;

/// One worker, two tasks waiting; a third task, on the worker, wakes the first and then the
/// second: the first runs first. With tokio's LIFO slot the second would run first, as a
/// connection whose socket became readable last in a turn of the I/O driver did.
#[test]
fn tasks_run_in_the_order_they_were_woken() {
    let runtime = builder().worker_threads(1).build().unwrap();
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
    assert_eq!(*order.lock().unwrap(), ["first", "second"]);
}
