//! Recovery at start: what the session store holds, loaded into a broker that is starting.

use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::routing;
use crate::runtime::state::shared::Shared;
use crate::session::{OfflineSession, PushOutcome};
use crate::store::StoreWrite;
use crate::types::{ClientId, PacketId, StoreSeq};

/// How many queued copies recovery reads from the store at a time.
const RESTORE_PIECE: usize = 1024;

/// Puts the messages the store holds for `client_id` into its (offline) mailbox, oldest first,
/// each with its store number, but for those `in_flight` already holds; the queue's limits
/// apply as they did when the messages came, and what they drop is forgotten at once.
async fn restore_queue(
    shared: &Shared,
    client_id: &ClientId,
    in_flight: &[(PacketId, u64)],
    mailbox: &Mailbox,
) {
    let store = shared.persist().store();
    let now = now();
    let mut restored = 0usize;
    let mut from = 0;
    loop {
        // In pieces: a durable mailbox keeps a window in memory, the rest stays in the store.
        let queued = match store.queued_from(client_id, from, RESTORE_PIECE).await {
            Ok(queued) => queued,
            Err(error) => {
                tracing::warn!(
                    "Could not read the queued messages of client {}: {error}",
                    Clipped(client_id)
                );
                return;
            }
        };
        let done = queued.len() < RESTORE_PIECE;
        for (seq, mut copy) in queued {
            from = seq.saturating_add(1);
            if in_flight.iter().any(|(_, s)| *s == seq) {
                continue;
            }
            copy.stored = StoreSeq::new(seq);
            match mailbox.push(copy, now) {
                PushOutcome::Queued { evicted } => {
                    restored += 1;
                    mailbox.note_forgotten(
                        evicted
                            .iter()
                            .filter_map(|d| d.copy.stored().map(StoreSeq::get)),
                    );
                }
                PushOutcome::Dropped(dropped) => {
                    mailbox.note_forgotten(dropped.copy.stored().map(StoreSeq::get));
                }
                PushOutcome::DisconnectRequired(copy) => {
                    mailbox.note_forgotten(copy.stored.map(StoreSeq::get));
                }
            }
        }
        if done {
            break;
        }
    }
    let mut forgotten = Vec::new();
    mailbox.take_forgotten(&mut forgotten);
    if !forgotten.is_empty() {
        let _ = store
            .write_batch(vec![StoreWrite::Forget(client_id.clone(), forgotten)])
            .await;
    }
    if restored > 0 {
        tracing::debug!(
            "Client {}: {restored} queued messages restored.",
            Clipped(client_id)
        );
    }
}

/// Loads what the store holds into a broker that is starting: the retained messages into the
/// retained store, and every stored session as an offline session (its subscriptions in the
/// router, its expiry and will delay counting from now). Failures are logged; a session that
/// cannot be read is left in the store, and a CONNECT resuming it is refused (CONNACK 0x80).
///
/// A session that was online when the broker stopped without settling it (a crash) has the
/// will of its connection in its record: it is a session whose connection was lost now
/// ([MQTT-3.1.2-8]), and the sweeper publishes the will once its Will Delay Interval has
/// passed (a delay of 0: before the listeners accept, `sweeper::sweep_at_start`) or the
/// session expires, unless its client returns first ([MQTT-3.1.3-9]). The sweeper runs only
/// after this returns, so every restored subscription is in the router when the first will
/// goes out.
pub(crate) async fn recover(shared: &Shared) {
    let store = shared.persist().store();
    let now = now();
    match store.retained().await {
        Ok(messages) => {
            let loaded = shared.retained().restore(messages, shared.persist(), now);
            if loaded > 0 {
                tracing::info!("Loaded {loaded} retained messages from the session store.");
            }
        }
        Err(error) => {
            tracing::warn!("Could not read the retained messages of the session store: {error}");
        }
    }
    let ids = match store.sessions().await {
        Ok(ids) => ids,
        Err(error) => {
            tracing::warn!("Could not list the sessions of the session store: {error}");
            return;
        }
    };
    let mut loaded = 0usize;
    for client_id in ids {
        let record = match store.load(&client_id).await {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(
                    "Could not load the stored session of client {}: {error}",
                    Clipped(&client_id)
                );
                continue;
            }
        };
        let state = match record.to_state() {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(
                    "The stored session of client {} is unusable: {error}",
                    Clipped(&client_id)
                );
                continue;
            }
        };
        let mailbox = Mailbox::new(shared.session_config().queue);
        mailbox.set_online(false);
        // Announced, not awaited: no client waits for these routes.
        drop(routing::add_subscriptions(shared, &state, &mailbox));
        if store.keeps_messages() {
            mailbox.set_durable(&client_id, true, shared.hooks().wants_events());
            restore_queue(shared, &client_id, &record.stored_outbound, &mailbox).await;
        }
        if record.will.is_some() {
            tracing::debug!(
                "Client {}: its will is published after its delay unless it returns.",
                Clipped(&client_id)
            );
        }
        let offline = OfflineSession::new(state, record.will, record.session_expiry, now);
        shared
            .registry()
            .restore(client_id, mailbox, offline, record.session_expiry);
        loaded += 1;
    }
    if loaded > 0 {
        tracing::info!("Loaded {loaded} sessions from the session store.");
    }
}
