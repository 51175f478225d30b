//! The end of a connection: the log line, and what becomes of the session: handed to the
//! connection that took it over, ended (subscriptions removed, will published), or kept
//! offline for its expiry interval.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;

use super::connect::end_session;
use super::connection::{Connection, Lost, HANDOVER_TIMEOUT};
use super::control::{ControlSlot, Handover};
use super::mailbox::{Mailbox, SubscriberKey};
use super::persist::{Slot, StoreOp};
use super::registry::Holder;
use super::routing;
use super::shared::{now, Shared};
use crate::session::{Close, CloseReason, OfflineSession, SessionState, WillMessage};
use crate::store::StoredSession;

impl Connection {
    /// The Mosquitto-style line for the close.
    pub(crate) fn log_close(&self) {
        let client = self.label();
        let Some(close) = &self.close else {
            tracing::info!("Client {client} disconnected.");
            return;
        };
        match close.reason {
            CloseReason::ClientDisconnect(_) => tracing::info!("Client {client} disconnected."),
            CloseReason::ConnectionLost => match self.lost {
                Some(Lost::Eof) => tracing::info!("Client {client} closed its connection."),
                _ => tracing::info!("Socket error on client {client}, disconnecting."),
            },
            CloseReason::KeepAliveTimeout => {
                tracing::info!("Client {client} has exceeded timeout, disconnecting.");
            }
            CloseReason::ConnectTimeout => {
                tracing::info!("Client {client} sent no CONNECT in time, disconnecting.");
            }
            CloseReason::ProtocolError(code) => tracing::info!(
                "Client {client} disconnected due to protocol error ({}).",
                code.description()
            ),
            CloseReason::ConnectRefused(code) => tracing::info!(
                "Client {client} refused: {}, disconnecting.",
                code.description()
            ),
            CloseReason::TakenOver => {
                tracing::debug!("Client {client}: connection taken over, closed.");
            }
            CloseReason::ServerDisconnect(code) => tracing::info!(
                "Client {client} disconnected by the server ({}).",
                code.description()
            ),
            CloseReason::ReauthenticationFailed(code) => tracing::info!(
                "Client {client} disconnected, re-authentication failed ({}).",
                code.description()
            ),
        }
    }

    /// Settles the session after the socket is closed.
    pub(crate) async fn settle(mut self) {
        let close = self.close.take().map(|close| *close);
        let (will, session_expiry) = match close {
            Some(Close {
                will,
                session_expiry,
                ..
            }) => (will, session_expiry),
            None => (None, 0),
        };
        let Some(SubscriberKey(mailbox)) = self.key.take() else {
            // Never accepted: no session to settle.
            return;
        };
        self.shared.stats.client_disconnected();
        let now = now();
        if let Some(reply) = self.control.take_reply() {
            let handover = Handover {
                state: self.session.into_state(),
                will,
                session_expiry,
            };
            let _ = reply.send(handover);
            return;
        }
        let shared = Arc::clone(&self.shared);
        let state = self.session.into_state();
        // A slot for the store write, reserved before the registry is locked: needed when
        // the session is saved (it stays) or removed (it was stored).
        let stored = || {
            shared
                .registry()
                .get(state.client_id())
                .is_some_and(|entry| entry.stored.is_some())
        };
        let slot = if session_expiry != 0 || stored() {
            shared.persist.reserve().await
        } else {
            None
        };
        let unsettled = settle_owned(
            &shared,
            &self.control,
            &mailbox,
            state,
            will,
            session_expiry,
            slot,
            now,
        );
        if let Some((state, will)) = unsettled {
            // Another connection took the identifier over while this one was closing: it
            // is waiting for the session.
            hand_over_late(&self.control, state, will, session_expiry).await;
        }
    }
}

/// Ends the session (expiry 0: subscriptions removed, will published, stored record removed)
/// or keeps it offline and saves it to the store, if the connection with slot `control` still holds it;
/// otherwise gives the session and will back. The store write goes through `slot` (or one
/// free now) while the registry is locked, so it is ordered with every other decision about
/// this client identifier.
#[allow(clippy::too_many_arguments)]
fn settle_owned(
    shared: &Shared,
    control: &Arc<ControlSlot>,
    mailbox: &Arc<Mailbox>,
    state: SessionState,
    will: Option<WillMessage>,
    session_expiry: u32,
    slot: Option<Slot<'_>>,
    now: Instant,
) -> Option<(SessionState, Option<WillMessage>)> {
    let client_id = state.client_id().clone();
    let mut registry = shared.registry();
    let Some(entry) = registry
        .get_mut(&client_id)
        .filter(|entry| entry.is_held_by(control))
    else {
        return Some((state, will));
    };
    let slot = || slot.or_else(|| shared.persist.try_reserve());
    if session_expiry == 0 {
        if let Some(entry) = registry.remove(&client_id) {
            if entry.stored.is_some() {
                remove_stored(slot(), &client_id);
            }
        }
        drop(registry);
        end_session(shared, &state, mailbox);
        if let Some(will) = will {
            routing::publish_will(shared, will.message, now);
        }
        return None;
    }
    // A persistent session: it waits offline for its client, its will delay or expiry.
    mailbox.set_online(false);
    let will = publish_due_will(shared, will, now);
    match slot() {
        Some(slot) => {
            let record = StoredSession::from_state(&state, session_expiry, will.clone());
            slot.send(StoreOp::Save(record));
            entry.stored = Some(session_expiry);
        }
        None => tracing::warn!(
            "Client {client_id}: the session store is unavailable; session kept in memory only."
        ),
    }
    entry.holder = Holder::Offline(Box::new(OfflineSession::new(
        state,
        will,
        session_expiry,
        now,
    )));
    drop(registry);
    shared.sweeper_wake.notify_one();
    None
}

/// Sends the removal of a stored session through `slot`; logs it when there is none.
pub(crate) fn remove_stored(slot: Option<Slot<'_>>, client_id: &crate::types::ClientId) {
    match slot {
        Some(slot) => slot.send(StoreOp::Remove(client_id.clone())),
        None => tracing::warn!(
            "Client {client_id}: the session store is unavailable; its stored session is not removed."
        ),
    }
}

/// Publishes a will whose delay is 0 now; gives back a delayed one.
fn publish_due_will(
    shared: &Shared,
    will: Option<WillMessage>,
    now: Instant,
) -> Option<WillMessage> {
    match will {
        Some(will) if will.delay == 0 => {
            routing::publish_will(shared, will.message, now);
            None
        }
        other => other,
    }
}

/// Waits for the takeover request of the connection that holds the identifier now, and
/// answers it with the session.
async fn hand_over_late(
    control: &ControlSlot,
    state: SessionState,
    will: Option<WillMessage>,
    session_expiry: u32,
) {
    let request = tokio::time::timeout(HANDOVER_TIMEOUT, control.takeover_requested()).await;
    if let Some(reply) = request.ok().and_then(|()| control.take_reply()) {
        let reply: oneshot::Sender<Handover> = reply;
        let _ = reply.send(Handover {
            state,
            will,
            session_expiry,
        });
    }
}
