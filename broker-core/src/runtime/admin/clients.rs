//! The clients and their sessions: listed, shown, disconnected.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tokio::sync::oneshot;

use crate::admin::{ClientDetails, ClientQuery, ClientSummary, Disconnection, Page};
use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::connection::client::HANDOVER_TIMEOUT;
use crate::runtime::handover;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::state::admin_request::LiveFigures;
use crate::runtime::state::client_entry::ClientEntry;
use crate::runtime::state::control::ControlSlot;
use crate::runtime::state::registry::NeedsSlot;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::will_barrier;
use crate::runtime::wills;
use crate::types::{ClientId, MqttString};

/// How long the figures of the live connections on a page are waited for (together).
const FIGURES_TIMEOUT: Duration = Duration::from_secs(2);

/// A registry entry as copied under the registry's lock.
struct Seen {
    client_id: ClientId,
    mailbox: Arc<Mailbox>,
    username: Option<Box<str>>,
    connected_at: Option<NonZeroU64>,
    holder: SeenHolder,
}

/// Who held the session when it was seen.
enum SeenHolder {
    /// A connection, asked for its figures through this slot.
    Online(Arc<ControlSlot>),
    /// Nobody: the session waits offline.
    Offline {
        inflight: usize,
        subscriptions: usize,
        session_expiry: Option<u32>,
    },
}

impl Seen {
    fn of(client_id: &ClientId, entry: &ClientEntry) -> Seen {
        let holder = match (entry.control(), entry.offline()) {
            (Some(control), _) => SeenHolder::Online(Arc::clone(control)),
            (None, offline) => SeenHolder::Offline {
                inflight: offline.map_or(0, |offline| offline.state().outbound().len()),
                subscriptions: offline.map_or(0, |offline| offline.state().subscription_count()),
                session_expiry: entry.stored_expiry(),
            },
        };
        Seen {
            client_id: client_id.clone(),
            mailbox: Arc::clone(entry.mailbox()),
            username: entry.username().map(Box::from),
            connected_at: entry.connected_at(),
            holder,
        }
    }

    /// The summary, with the connection's figures if it gave them.
    fn summary(&self, live: Option<LiveFigures>) -> ClientSummary {
        let (queued_messages, queued_bytes) = self.mailbox.depth();
        let mut summary = ClientSummary {
            client_id: self.client_id.clone(),
            connected: false,
            username: self
                .username
                .as_deref()
                .and_then(|username| MqttString::new(username.to_owned()).ok()),
            remote_addr: None,
            protocol: None,
            keep_alive: None,
            clean_start: None,
            session_expiry: None,
            connected_at: self
                .connected_at
                .map(|secs| UNIX_EPOCH + Duration::from_secs(secs.get())),
            subscriptions: None,
            queued_messages,
            queued_bytes,
            inflight: None,
        };
        match (&self.holder, live) {
            (SeenHolder::Online(_), live) => {
                summary.connected = true;
                if let Some(live) = live {
                    summary.remote_addr = live.peer;
                    summary.protocol = live.protocol;
                    summary.keep_alive = Some(live.keep_alive);
                    summary.clean_start = Some(live.clean_start);
                    summary.session_expiry = Some(live.session_expiry);
                    summary.subscriptions = Some(live.subscriptions);
                    summary.inflight = Some(live.inflight);
                }
            }
            (
                SeenHolder::Offline {
                    inflight,
                    subscriptions,
                    session_expiry,
                },
                _,
            ) => {
                summary.session_expiry = *session_expiry;
                summary.subscriptions = Some(*subscriptions);
                summary.inflight = Some(*inflight);
            }
        }
        summary
    }
}

/// The page of clients `query` asks for: the matching identifiers are collected and sorted,
/// then the page's entries are read again (one that left meanwhile is left out).
pub(crate) async fn list(shared: &Shared, query: &ClientQuery) -> Page<ClientSummary> {
    let registry = shared.registry();
    let mut matching = Vec::new();
    registry.for_each_session(|client_id, entry| {
        if query.admits(
            client_id.as_str(),
            entry.control().is_some(),
            entry.username(),
        ) {
            matching.push(client_id.clone());
        }
    });
    matching.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    let page = Page::cut(matching, query.limit, |last| last.as_str().to_owned());
    let seen: Vec<Seen> = page
        .items
        .iter()
        .filter_map(|client_id| {
            registry.with_session(client_id, |entry| Seen::of(client_id, entry))
        })
        .collect();
    let figures = live_figures(&seen).await;
    Page {
        items: seen
            .iter()
            .zip(figures)
            .map(|(seen, live)| seen.summary(live))
            .collect(),
        next: page.next,
    }
}

/// One client in full; `None` if no session has this identifier.
pub(crate) async fn show(shared: &Shared, client_id: &ClientId) -> Option<ClientDetails> {
    let seen = shared
        .registry()
        .with_session(client_id, |entry| Seen::of(client_id, entry))?;
    let live = live_figures(std::slice::from_ref(&seen)).await;
    let summary = seen.summary(live.into_iter().next().flatten());
    let subscriptions = super::subscriptions::of_mailbox(shared, client_id, &seen.mailbox);
    Some(ClientDetails {
        summary,
        subscriptions,
    })
}

/// Asks every live connection among `seen` for its figures at once, and waits for their
/// answers together, up to [`FIGURES_TIMEOUT`]; `None` for a connection that did not answer
/// (it closed, or it is busy past the wait).
async fn live_figures(seen: &[Seen]) -> Vec<Option<LiveFigures>> {
    let asked: Vec<Option<oneshot::Receiver<LiveFigures>>> = seen
        .iter()
        .map(|seen| match &seen.holder {
            SeenHolder::Online(control) => {
                let (reply, answer) = oneshot::channel();
                Arc::clone(control).request_figures(reply);
                Some(answer)
            }
            SeenHolder::Offline { .. } => None,
        })
        .collect();
    let deadline = tokio::time::Instant::now() + FIGURES_TIMEOUT;
    let mut figures = Vec::with_capacity(asked.len());
    for answer in asked {
        let live = match answer {
            Some(answer) => tokio::time::timeout_at(deadline, answer)
                .await
                .ok()
                .and_then(Result::ok),
            None => None,
        };
        figures.push(live);
    }
    figures
}

/// Closes `client_id`'s connection (MQTT 5: DISCONNECT 0x98 Administrative action), its
/// session ended with it when `discard_session`, or ends its offline session when
/// `discard_session`. Returns once the connection has settled its session (bounded by
/// [`HANDOVER_TIMEOUT`]), or the offline session is ended.
pub(crate) async fn disconnect(
    shared: &Shared,
    client_id: &ClientId,
    discard_session: bool,
) -> Disconnection {
    let holder = shared
        .registry()
        .with_session(client_id, |entry| entry.control().cloned());
    match holder {
        None => Disconnection::NotFound,
        Some(Some(control)) => {
            let (settled, done) = oneshot::channel();
            control.request_close(discard_session, settled);
            // Answered or closed once the session is settled; the wait is bounded.
            let _ = tokio::time::timeout(HANDOVER_TIMEOUT, done).await;
            tracing::info!(
                "Client {} disconnected by an operator{}.",
                Clipped(client_id),
                if discard_session {
                    ", its session discarded"
                } else {
                    ""
                }
            );
            if discard_session {
                Disconnection::DisconnectedAndDiscarded
            } else {
                Disconnection::Disconnected
            }
        }
        Some(None) if discard_session => {
            if discard_offline(shared, client_id).await {
                tracing::info!(
                    "Session of client {} discarded by an operator.",
                    Clipped(client_id)
                );
                Disconnection::Discarded
            } else {
                Disconnection::NotFound
            }
        }
        Some(None) => Disconnection::NotConnected,
    }
}

/// Ends `client_id`'s offline session as its expiry would: subscriptions removed, shared
/// messages handed over, stored record removed, will published. `false` if it was not
/// offline any more.
async fn discard_offline(shared: &Shared, client_id: &ClientId) -> bool {
    let registry = shared.registry();
    let persist = shared.persist();
    let mut slot = None;
    // Twice at most: the second time with a slot (or the store has closed).
    let (state, will, mailbox, removal) = loop {
        match registry.discard_offline(client_id, persist, slot.take(), now()) {
            Ok(Some(ended)) => break ended,
            Ok(None) => return false,
            Err(NeedsSlot) => slot = persist.reserve().await,
        }
    };
    let stored = mailbox.durable_owner().cloned();
    let handed_over = handover::end_session(shared, &state, &mailbox);
    let rest = removal.send(handed_over);
    handover::place_handed_over(shared, rest);
    if let Some(will) = will {
        if let Some(stored) = &stored {
            will_barrier::store_caught_up(persist, stored).await;
        }
        wills::publish_will(shared, will, now()).await;
    }
    true
}
