//! A small deterministic harness for the unit tests of the session state machine: one
//! session, a virtual clock, packets in, packets and commands out. The test plays the
//! runtime. (The integration tests have a fuller one in `tests/session_machine/`.)

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::{Close, Command, Message, QueuedMessage, Session, SessionConfig, SessionState};
use crate::codec::{Connect, Packet, PublishProperties};
use crate::types::{ClientId, PacketId, ProtocolVersion, QoS, TopicName};

/// One session under test and its virtual clock.
pub(super) struct Harness {
    pub(super) session: Session,
    pub(super) now: Instant,
    pub(super) version: ProtocolVersion,
}

impl Harness {
    pub(super) fn new(version: ProtocolVersion) -> Self {
        Self::with_config(version, SessionConfig::default())
    }

    pub(super) fn with_config(version: ProtocolVersion, config: SessionConfig) -> Self {
        let now = Instant::now();
        Harness {
            session: Session::new(Arc::new(config), now),
            now,
            version,
        }
    }

    pub(super) fn send(&mut self, packet: Packet) {
        self.session.handle_packet(packet, self.now);
    }

    /// Every packet the session wants written, in order.
    pub(super) fn sent(&mut self) -> Vec<Packet> {
        std::iter::from_fn(|| self.session.poll_transmit()).collect()
    }

    /// Every command the session emitted, in order.
    pub(super) fn commands(&mut self) -> Vec<Command> {
        std::iter::from_fn(|| self.session.poll_command()).collect()
    }

    /// The one command the session emitted, which must be [`Command::Close`].
    pub(super) fn expect_close(&mut self) -> Close {
        let mut commands = self.commands();
        assert_eq!(commands.len(), 1, "expected one Close, got {commands:?}");
        match commands.remove(0) {
            Command::Close(close) => close,
            other => panic!("expected Close, got {other:?}"),
        }
    }

    pub(super) fn connect_packet(&self, client_id: &str) -> Connect {
        Connect::new(self.version, ClientId::new(client_id).unwrap())
    }

    /// CONNECT with `connect`, accepted with `resumed`; returns what was sent.
    pub(super) fn connect_with(
        &mut self,
        connect: Connect,
        resumed: Option<SessionState>,
    ) -> Vec<Packet> {
        self.send(Packet::Connect(Box::new(connect)));
        match &self.commands()[..] {
            [Command::Connect(_)] => {}
            other => panic!("expected Connect, got {other:?}"),
        }
        self.session.accept(resumed, self.now);
        self.sent()
    }

    /// A clean CONNECT as `client_id`, accepted.
    pub(super) fn connect(&mut self, client_id: &str) -> Vec<Packet> {
        let connect = self.connect_packet(client_id);
        let sent = self.connect_with(connect, None);
        assert!(self.session.is_connected());
        sent
    }

    /// Delivers a message at `qos` to the client; returns the packet identifier it got.
    pub(super) fn deliver(&mut self, qos: QoS) -> Option<PacketId> {
        let message = Message::new(
            TopicName::new("t").unwrap(),
            Bytes::from_static(b"m"),
            qos,
            false,
            PublishProperties::default(),
            self.now,
        );
        let queued = QueuedMessage::new(message, QoS::ExactlyOnce, false, Vec::new());
        assert!(matches!(
            self.session.deliver(queued, self.now),
            super::DeliverOutcome::Sent
        ));
        match &self.sent()[..] {
            [Packet::Publish(p)] => p.qos_pid.packet_id(),
            other => panic!("expected one PUBLISH, got {other:?}"),
        }
    }
}

pub(super) fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap()
}
