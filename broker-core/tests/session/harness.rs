//! A deterministic harness for the sans-I/O session state machine: a virtual clock, packets
//! in, packets and commands out. The test plays the runtime and answers commands itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_core::codec::{
    Connect, Packet, Publish, QosPid, Subscribe, Subscription, SubscriptionOptions,
};
use broker_core::session::{
    Close, Command, ConnectRequest, FilterOutcome, PublishRequest, Session, SessionConfig,
    SessionState, SubscribeRequest,
};
use broker_core::types::{ClientId, PacketId, ProtocolVersion, QoS, TopicFilter, TopicName};

/// One session under test and its virtual clock.
pub(crate) struct Harness {
    pub(crate) session: Session,
    pub(crate) now: Instant,
    pub(crate) version: ProtocolVersion,
}

impl Harness {
    pub(crate) fn new(version: ProtocolVersion) -> Self {
        Self::with_config(version, SessionConfig::default())
    }

    pub(crate) fn with_config(version: ProtocolVersion, config: SessionConfig) -> Self {
        let now = Instant::now();
        Harness {
            session: Session::new(Arc::new(config), now),
            now,
            version,
        }
    }

    /// Advances the virtual clock and lets the session act on its deadlines.
    pub(crate) fn advance(&mut self, by: Duration) {
        self.now += by;
        self.session.handle_timeout(self.now);
    }

    pub(crate) fn send(&mut self, packet: Packet) {
        self.session.handle_packet(packet, self.now);
    }

    /// Every packet the session wants written, in order.
    pub(crate) fn sent(&mut self) -> Vec<Packet> {
        std::iter::from_fn(|| self.session.poll_transmit()).collect()
    }

    /// Every command the session emitted, in order.
    pub(crate) fn commands(&mut self) -> Vec<Command> {
        std::iter::from_fn(|| self.session.poll_command()).collect()
    }

    /// The one command the session emitted.
    pub(crate) fn command(&mut self) -> Command {
        let mut commands = self.commands();
        assert_eq!(commands.len(), 1, "expected one command, got {commands:?}");
        commands.remove(0)
    }

    pub(crate) fn expect_connect_request(&mut self) -> ConnectRequest {
        match self.command() {
            Command::Connect(request) => request,
            other => panic!("expected Connect, got {other:?}"),
        }
    }

    pub(crate) fn expect_close(&mut self) -> Close {
        match self.command() {
            Command::Close(close) => close,
            other => panic!("expected Close, got {other:?}"),
        }
    }

    pub(crate) fn expect_publish(&mut self) -> PublishRequest {
        match self.command() {
            Command::Publish(request) => request,
            other => panic!("expected Publish, got {other:?}"),
        }
    }

    pub(crate) fn expect_subscribe(&mut self) -> SubscribeRequest {
        match self.command() {
            Command::Subscribe(request) => request,
            other => panic!("expected Subscribe, got {other:?}"),
        }
    }

    /// CONNECT with `connect`, accepted with `resumed`; returns the CONNACK and whatever
    /// followed it.
    pub(crate) fn connect_with(
        &mut self,
        connect: Connect,
        resumed: Option<SessionState>,
    ) -> Vec<Packet> {
        self.send(Packet::Connect(Box::new(connect)));
        let _ = self.expect_connect_request();
        self.session.accept(resumed, self.now);
        assert!(self.session.is_connected());
        self.sent()
    }

    /// A clean CONNECT as `client_id`, accepted.
    pub(crate) fn connect(&mut self, client_id: &str) -> Vec<Packet> {
        let connect = self.connect_packet(client_id);
        self.connect_with(connect, None)
    }

    pub(crate) fn connect_packet(&self, client_id: &str) -> Connect {
        Connect::new(self.version, ClientId::new(client_id).unwrap())
    }

    /// SUBSCRIBE to one filter, granted at the requested QoS; returns the SUBACK.
    pub(crate) fn subscribe(&mut self, id: u16, filter: &str, qos: QoS) -> Packet {
        let subscribe = Subscribe {
            packet_id: pid(id),
            subscriptions: vec![Subscription {
                filter: TopicFilter::new(filter).unwrap(),
                options: SubscriptionOptions::qos(qos),
            }],
            properties: Default::default(),
        };
        self.send(Packet::Subscribe(subscribe));
        let request = self.expect_subscribe();
        let outcomes: Vec<FilterOutcome> = request
            .filters
            .iter()
            .map(|f| FilterOutcome::Granted(f.entry.options.qos))
            .collect();
        self.session
            .complete_subscribe(request.packet_id, &outcomes);
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        sent.remove(0)
    }
}

pub(crate) fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap()
}

pub(crate) fn topic(name: &str) -> TopicName {
    TopicName::new(name).unwrap()
}

/// A PUBLISH from a client.
pub(crate) fn publish(name: &str, payload: &'static str, qos_pid: QosPid) -> Publish {
    let mut publish = Publish::new(topic(name), payload.into());
    publish.qos_pid = qos_pid;
    publish
}
