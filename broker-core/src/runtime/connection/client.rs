//! The client's side of a connection: its session, who it is, and what it has under way
//! with the hooks and the router. The handlers of the session's commands are methods of
//! [`Client`] that take the shared state (and, for a CONNECT, the socket) as arguments; they
//! never touch the connection's socket or buffers ([`Wire`](super::wire::Wire)).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::codec::Packet;
use crate::hooks::ClientInfo;
use crate::router::Delivery as Route;
use crate::runtime::clipped::Clipped;
use crate::runtime::connection::ack_queue::PendingAcks;
use crate::runtime::connection::auth_exchange::AuthExchange;
use crate::runtime::connection::publish_memo::PublishMemo;
use crate::runtime::queue::backlog::Backlog;
use crate::runtime::queue::mailbox::SubscriberKey;
use crate::runtime::state::control::ControlSlot;
use crate::runtime::state::shared::Shared;
use crate::runtime::transport::listener::Listener;
use crate::session::{Close, Session};
use crate::types::ClientId;

/// How long a takeover waits for the old connection to hand its session over.
pub(crate) const HANDOVER_TIMEOUT: Duration = Duration::from_secs(5);

/// One connection's client: the session and its context.
pub(crate) struct Client {
    /// The protocol state machine.
    pub(super) session: Session,
    /// The client's address; `None` for a stream handed over by the embedder without one
    /// ([`BrokerHandle::serve_stream`](crate::BrokerHandle::serve_stream)).
    pub(super) peer: Option<SocketAddr>,
    /// The listener the connection came in on: its name and settings.
    pub(super) listener: Arc<Listener>,
    /// The client identifier once the CONNECT is taken in: the connection's name in the log
    /// (the peer address before; see [`Client::label`]).
    pub(super) id: Option<ClientId>,
    /// Who the client is, for the hooks: made at CONNECT when the broker has hooks.
    pub(super) client_info: Option<Arc<ClientInfo>>,
    /// The authorization of the last publish, to answer the next one like it at once.
    pub(super) publish_memo: Option<Box<PublishMemo>>,
    /// An MQTT 5 enhanced authentication waiting for the client's next AUTH.
    pub(super) auth: Option<Box<AuthExchange>>,
    /// A SUBSCRIBE or UNSUBSCRIBE whose filters the hooks rewrite before the session
    /// sees it.
    pub(super) held: Option<Box<Packet>>,
    /// Where a connection taking the client identifier over asks for the session.
    pub(super) control: Arc<ControlSlot>,
    /// The client's mailbox as the router knows it (for No Local and subscriptions), once
    /// the CONNECT is accepted.
    pub(super) key: Option<SubscriberKey>,
    /// Reusable buffers for routing, made by the first PUBLISH: many clients never send one.
    pub(super) route_buffers: Option<Box<RouteBuffers>>,
    /// The session's Close command, once it came.
    pub(super) close: Option<Box<Close>>,
    /// The packet being carried out is the first one of what was just read from the socket
    /// (where a PUBLISH racing another client's SUBSCRIBE is: see `SubscribeGate`).
    pub(super) first_in_read: bool,
}

/// A connection's name in the log (see [`Client::label`]).
pub(crate) struct Label<'a> {
    peer: Peer<'a>,
    client: Option<&'a ClientId>,
}

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.client {
            Some(client) => std::fmt::Display::fmt(&Clipped(client), f),
            None => std::fmt::Display::fmt(&self.peer, f),
        }
    }
}

/// Where a connection comes from, for the log: its address (`127.0.0.1:50000`), or, for a
/// stream handed over without one, its listener (`a stream of listener local`).
#[derive(Clone, Copy)]
pub(crate) struct Peer<'a> {
    addr: Option<&'a SocketAddr>,
    listener: &'a Listener,
}

impl std::fmt::Display for Peer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.addr {
            Some(addr) => std::fmt::Display::fmt(addr, f),
            None => write!(f, "a stream of listener {}", self.listener.name),
        }
    }
}

/// A connection's reusable buffers for routing its PUBLISH packets.
#[derive(Default)]
pub(crate) struct RouteBuffers {
    /// Router matches.
    pub(crate) scratch: Vec<Route<SubscriberKey>>,
    /// Copies waiting for room in a full queue, and the slots a turn granted.
    pub(crate) blocked: Backlog,
    /// Acknowledgements waiting for the store.
    pub(crate) pending: PendingAcks,
}

impl Client {
    /// The store numbers of the stored messages this session is done with (the client
    /// acknowledged them, or they were dropped), with the client identifier whose queue in
    /// the store holds them; `None` when there are none.
    pub(crate) fn finished_stored(&mut self) -> Option<(ClientId, Vec<u64>)> {
        let mut seqs = Vec::new();
        self.session.take_finished_stored(&mut seqs);
        let mailbox = self.key.as_ref()?.mailbox();
        let owner = mailbox.durable_owner();
        if owner.is_some() {
            mailbox.take_forgotten(&mut seqs);
        }
        if seqs.is_empty() {
            return None;
        }
        Some((owner.or_else(|| mailbox.owner())?.clone(), seqs))
    }

    /// The client of a connection around `session`, nothing under way.
    pub(super) fn new(
        session: Session,
        peer: Option<SocketAddr>,
        listener: Arc<Listener>,
        control: Arc<ControlSlot>,
    ) -> Client {
        Client {
            session,
            peer,
            listener,
            id: None,
            client_info: None,
            publish_memo: None,
            auth: None,
            held: None,
            control,
            key: None,
            route_buffers: None,
            close: None,
            first_in_read: false,
        }
    }

    /// The connection's name in the log: its client identifier, or its peer address before
    /// the CONNECT is taken in.
    pub(crate) fn label(&self) -> Label<'_> {
        Label {
            peer: self.peer(),
            client: self.id.as_ref(),
        }
    }

    /// Where the connection comes from, for the log.
    pub(crate) fn peer(&self) -> Peer<'_> {
        Peer {
            addr: self.peer.as_ref(),
            listener: &self.listener,
        }
    }

    /// Whether this client's packets are traced (logged at info level).
    pub(super) fn traced(&self, shared: &Shared) -> bool {
        shared.client_trace().is_traced(self.id.as_ref())
    }
}
