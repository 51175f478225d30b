//! The store task: applies the store writes in the order the broker decided them.

use std::sync::Arc;

use crate::runtime::clipped::Clipped;
use crate::runtime::persist::handle::{Reply, StoreOp};
use crate::runtime::run_state::RunState;
use crate::runtime::state::shared::Shared;
use crate::runtime::tasks::TaskGuard;
use crate::store::{SessionStore, StoreError};
use crate::types::TopicName;

/// Applies the store operations in order until the broker stops; then applies what is left
/// in the channel (the sessions saved by the connections that closed during the shutdown)
/// and ends.
pub(crate) async fn run(shared: Arc<Shared>, _guard: TaskGuard) {
    let Some(mut rx) = shared.persist().take_receiver() else {
        return;
    };
    let mut run_state = shared.watch_run_state();
    loop {
        tokio::select! {
            biased;
            op = rx.recv() => match op {
                Some(op) => apply(shared.persist().store(), op).await,
                None => return,
            },
            changed = run_state.changed() => {
                if changed.is_err() || *run_state.borrow() == RunState::Stopped {
                    break;
                }
            }
        }
    }
    rx.close();
    while let Some(op) = rx.recv().await {
        apply(shared.persist().store(), op).await;
    }
}

/// Carries out one operation; failures are logged, and answered when an answer is awaited.
async fn apply(store: &dyn SessionStore, op: StoreOp) {
    match op {
        StoreOp::Save(session) => {
            if let Err(error) = store.save(&session).await {
                tracing::warn!(client = %Clipped(&session.client_id), %error, "Could not save the session.");
            }
        }
        StoreOp::Remove(client_id) => {
            if let Err(error) = store.remove(&client_id).await {
                tracing::warn!(client = %Clipped(&client_id), %error, "Could not remove the stored session.");
            }
        }
        StoreOp::Load(client_id, reply) => {
            let _ = reply.send(store.load(&client_id).await);
        }
        StoreOp::SetRetained(message, reply) => {
            let result = store.set_retained(&message).await;
            answer(result, reply, &message.topic);
        }
        StoreOp::RemoveRetained(topic, reply) => {
            let result = store.remove_retained(&topic).await.map(drop);
            answer(result, reply, &topic);
        }
    }
}

fn answer(result: Result<(), StoreError>, reply: Option<Reply<()>>, topic: &TopicName) {
    if let Err(error) = &result {
        tracing::warn!(topic = %Clipped(topic), %error, "Could not store the retained message change.");
    }
    if let Some(reply) = reply {
        let _ = reply.send(result);
    }
}
