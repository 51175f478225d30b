//! The clients and their sessions: listed, shown, disconnected.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::admin::{ClientDetails, ClientQuery, ClientSummary, Disconnection, Page};
use crate::runtime::clipped::Clipped;
use crate::runtime::clock::now;
use crate::runtime::connection::client::HANDOVER_TIMEOUT;
use crate::runtime::handover;
use crate::runtime::queue::mailbox::Mailbox;
use crate::runtime::state::admin_request::LiveFigures;
use crate::runtime::state::client_entry::ClientEntry;
use crate::runtime::state::connection_facts::ConnectionFacts;
use crate::runtime::state::control::ControlSlot;
use crate::runtime::state::registry::NeedsSlot;
use crate::runtime::state::shared::Shared;
use crate::runtime::state::will_barrier;
use crate::runtime::wills;
use crate::types::ClientId;

/// How long the figures of the live connections on a page are waited for (together).
const FIGURES_TIMEOUT: Duration = Duration::from_secs(2);

/// A registry entry as copied under the registry's lock.
struct Seen {
    client_id: ClientId,
    mailbox: Arc<Mailbox>,
    facts: Option<Arc<ConnectionFacts>>,
    holder: SeenHolder,
}

/// Who held the session when it was seen.
enum SeenHolder {
    Online(Arc<ControlSlot>),
    Offline(LiveFigures),
}

impl Seen {
    fn of(client_id: &ClientId, entry: &ClientEntry) -> Seen {
        let facts = entry.facts().cloned();
        let holder = match (entry.control(), entry.offline()) {
            (Some(control), _) => SeenHolder::Online(Arc::clone(control)),
            (None, offline) => SeenHolder::Offline(LiveFigures {
                inflight: offline.map_or(0, |offline| offline.state().outbound().len()),
                subscriptions: offline.map_or(0, |offline| offline.state().subscription_count()),
                session_expiry: facts.as_ref().map_or(0, |facts| facts.session_expiry),
                keep_alive: facts.as_ref().map_or(0, |facts| facts.keep_alive),
            }),
        };
        Seen {
            client_id: client_id.clone(),
            mailbox: Arc::clone(entry.mailbox()),
            facts,
            holder,
        }
    }

    /// The summary, with the live connection's figures if it gave them.
    fn summary(&self, live: Option<LiveFigures>) -> ClientSummary {
        let facts = self.facts.as_deref();
        let (connected, figures) = match &self.holder {
            SeenHolder::Online(_) => (true, live),
            SeenHolder::Offline(figures) => (false, Some(*figures)),
        };
        let (queued_messages, queued_bytes) = self.mailbox.depth();
        ClientSummary {
            client_id: self.client_id.clone(),
            connected,
            username: facts.and_then(|facts| facts.username.clone()),
            remote_addr: facts.map(|facts| facts.peer),
            protocol: facts.map(|facts| facts.protocol),
            keep_alive: figures
                .map(|figures| figures.keep_alive)
                .or(facts.map(|facts| facts.keep_alive)),
            clean_start: facts.map(|facts| facts.clean_start),
            session_expiry: figures
                .map(|figures| figures.session_expiry)
                .or(facts.map(|facts| facts.session_expiry)),
            connected_at: facts.map(|facts| facts.connected_at),
            subscriptions: figures.map(|figures| figures.subscriptions),
            queued_messages,
            queued_bytes,
            inflight: figures.map(|figures| figures.inflight),
        }
    }
}

/// The page of clients `query` asks for.
pub(crate) async fn list(shared: &Shared, query: &ClientQuery) -> Page<ClientSummary> {
    let mut seen = Vec::new();
    shared.registry().for_each_session(|client_id, entry| {
        let username = entry
            .facts()
            .and_then(|facts| facts.username.as_ref())
            .map(|username| username.as_str());
        if query.admits(client_id.as_str(), entry.control().is_some(), username) {
            seen.push(Seen::of(client_id, entry));
        }
    });
    seen.sort_unstable_by(|a, b| a.client_id.as_str().cmp(b.client_id.as_str()));
    let page = Page::cut(seen, query.limit, |seen| seen.client_id.as_str().to_owned());
    let figures = live_figures(&page.items).await;
    Page {
        items: page
            .items
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
            SeenHolder::Offline(_) => None,
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
