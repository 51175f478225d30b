//! Parking is invisible: two sessions get the same random inputs (packets, deliveries,
//! timeouts, the runtime's answers); one of them is parked and resumed at random points
//! where [`Session::park`] accepts it. From then on both must produce the same packets,
//! commands and deadlines, and say the same about themselves.

use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_core::codec::{
    Ack, Auth, AuthProperties, Disconnect, Packet, QosPid, Subscribe, Subscription,
    SubscriptionOptions, Unsubscribe, Will,
};
use broker_core::session::{
    Command, FilterOutcome, Message, PublishOutcome, QueuedMessage, Session, SessionConfig,
};
use broker_core::types::{
    MqttString, PacketId, ProtocolVersion, QoS, ReasonCode, TopicAlias, TopicFilter,
};
use proptest::prelude::*;

use crate::harness::{publish, topic, Harness};

const FILTERS: [&str; 4] = ["a", "long/+/one", "#", "$share/g/a"];
const TOPICS: [&str; 4] = ["a", "long/topic/one", "long/topic/two", "x/yz"];
const METHOD: &str = "SCRAM-SHA-1";

/// How the client connects.
#[derive(Debug, Clone)]
struct Setup {
    v5: bool,
    keep_alive: u16,
    clean_start: bool,
    session_expiry: Option<u32>,
    will: bool,
    /// The client's Topic Alias Maximum (MQTT 5).
    alias_maximum: u16,
    /// An Authentication Method (MQTT 5 enhanced authentication).
    auth: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        0u16..25,
        any::<bool>(),
        prop::option::of(0u32..100),
        any::<bool>(),
        0u16..3,
        any::<bool>(),
    )
        .prop_map(
            |(v5, keep_alive, clean_start, session_expiry, will, alias_maximum, auth)| Setup {
                v5,
                keep_alive,
                clean_start,
                session_expiry,
                will,
                alias_maximum,
                auth,
            },
        )
}

#[derive(Debug, Clone)]
enum Op {
    /// A PUBLISH from the client; for MQTT 5, with topic alias `alias` (0: none), naming
    /// its topic or not.
    Publish {
        qos: u8,
        id: u16,
        alias: u16,
        named: bool,
        topic: usize,
    },
    PubAck(u16),
    PubRec(u16),
    PubRel(u16),
    PubComp(u16),
    Subscribe(u16, usize),
    Unsubscribe(u16, usize),
    Ping,
    /// A message from the client's queue.
    Deliver {
        qos: u8,
        topic: usize,
        shared: bool,
    },
    /// Move the clock on, in milliseconds.
    Advance(u64),
    /// Move the clock to the session's deadline exactly.
    Deadline,
    Disconnect {
        with_will: bool,
        expiry: Option<u32>,
    },
    ConnectionLost,
    /// AUTH 0x19 (MQTT 5 re-authentication).
    Reauth,
    /// The runtime answers every command it holds.
    Answer,
    /// Park and resume the second session, if it is quiet.
    Park,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 1u16..5;
    prop_oneof![
        3 => (0u8..3, id.clone(), 0u16..3, any::<bool>(), 0..TOPICS.len()).prop_map(
            |(qos, id, alias, named, topic)| Op::Publish { qos, id, alias, named, topic }
        ),
        1 => id.clone().prop_map(Op::PubAck),
        1 => id.clone().prop_map(Op::PubRec),
        1 => id.clone().prop_map(Op::PubRel),
        1 => id.clone().prop_map(Op::PubComp),
        1 => (id.clone(), 0..FILTERS.len()).prop_map(|(i, f)| Op::Subscribe(i, f)),
        1 => (id, 0..FILTERS.len()).prop_map(|(i, f)| Op::Unsubscribe(i, f)),
        1 => Just(Op::Ping),
        3 => (0u8..3, 0..TOPICS.len(), any::<bool>())
            .prop_map(|(qos, topic, shared)| Op::Deliver { qos, topic, shared }),
        2 => (0u64..20_000).prop_map(Op::Advance),
        1 => Just(Op::Deadline),
        1 => (any::<bool>(), prop::option::of(0u32..50))
            .prop_map(|(with_will, expiry)| Op::Disconnect { with_will, expiry }),
        1 => Just(Op::ConnectionLost),
        1 => Just(Op::Reauth),
        4 => Just(Op::Answer),
        6 => Just(Op::Park),
    ]
}

fn pid(id: u16) -> PacketId {
    PacketId::new(id).unwrap()
}

fn qos(q: u8) -> QoS {
    QoS::try_from(q).unwrap()
}

fn method() -> MqttString {
    MqttString::new(METHOD).unwrap()
}

fn config() -> Arc<SessionConfig> {
    let mut config = SessionConfig::default();
    config.max_inflight_v3 = NonZeroU16::new(3).unwrap();
    config.receive_maximum = NonZeroU16::new(3).unwrap();
    config.topic_alias_maximum = 2;
    config.max_keep_alive = Some(20);
    Arc::new(config)
}

/// The two sessions, `a` never parked and `b` parked at random, on one virtual clock.
struct Twins {
    a: Harness,
    b: Harness,
    config: Arc<SessionConfig>,
    /// Commands the runtime has not answered yet.
    held: Vec<Command>,
    /// How many times `b` was parked.
    parked: usize,
}

impl Twins {
    fn new(setup: &Setup) -> Self {
        let config = config();
        let version = if setup.v5 {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V3_1_1
        };
        let t0 = Instant::now();
        let harness = || Harness {
            session: Session::new(Arc::clone(&config), t0),
            now: t0,
            version,
        };
        let mut twins = Twins {
            a: harness(),
            b: harness(),
            config: Arc::clone(&config),
            held: Vec::new(),
            parked: 0,
        };
        let mut connect = twins.a.connect_packet("twin");
        connect.keep_alive = setup.keep_alive;
        connect.clean_start = setup.clean_start;
        if setup.v5 {
            connect.properties.session_expiry_interval = setup.session_expiry;
            connect.properties.topic_alias_maximum = Some(setup.alias_maximum);
            connect.properties.receive_maximum = NonZeroU16::new(3);
            connect.properties.authentication_method = setup.auth.then(method);
        }
        connect.will = setup.will.then(|| Will {
            topic: topic("wills/twin"),
            payload: "gone".into(),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Default::default(),
        });
        let a = twins.a.connect_with(connect.clone(), None);
        let b = twins.b.connect_with(connect, None);
        assert_eq!(a, b);
        twins
    }

    /// Feeds the same input to both sessions.
    fn both(&mut self, mut input: impl FnMut(&mut Harness)) {
        input(&mut self.a);
        input(&mut self.b);
    }

    fn apply(&mut self, op: &Op) {
        let v5 = self.a.version == ProtocolVersion::V5;
        match *op {
            Op::Publish {
                qos: q,
                id,
                alias,
                named,
                topic: t,
            } => {
                let qos_pid = match q {
                    0 => QosPid::AtMostOnce,
                    1 => QosPid::AtLeastOnce(pid(id)),
                    _ => QosPid::ExactlyOnce(pid(id)),
                };
                let mut packet = publish(TOPICS[t], "p", qos_pid);
                if v5 && alias > 0 {
                    packet.properties.topic_alias = TopicAlias::new(alias).ok();
                    if !named {
                        packet.topic = None;
                    }
                }
                self.both(|h| h.send(Packet::Publish(packet.clone())));
            }
            Op::PubAck(id) => self.both(|h| h.send(Packet::PubAck(Ack::new(pid(id))))),
            Op::PubRec(id) => self.both(|h| h.send(Packet::PubRec(Ack::new(pid(id))))),
            Op::PubRel(id) => self.both(|h| h.send(Packet::PubRel(Ack::new(pid(id))))),
            Op::PubComp(id) => self.both(|h| h.send(Packet::PubComp(Ack::new(pid(id))))),
            Op::Subscribe(id, f) => {
                let subscribe = Subscribe {
                    packet_id: pid(id),
                    subscriptions: vec![Subscription {
                        filter: TopicFilter::new(FILTERS[f]).unwrap(),
                        options: SubscriptionOptions::qos(QoS::ExactlyOnce),
                    }],
                    properties: Default::default(),
                };
                self.both(|h| h.send(Packet::Subscribe(subscribe.clone())));
            }
            Op::Unsubscribe(id, f) => {
                let unsubscribe = Unsubscribe {
                    packet_id: pid(id),
                    filters: vec![TopicFilter::new(FILTERS[f]).unwrap()],
                    properties: Default::default(),
                };
                self.both(|h| h.send(Packet::Unsubscribe(unsubscribe.clone())));
            }
            Op::Ping => self.both(|h| h.send(Packet::PingReq)),
            Op::Deliver {
                qos: q,
                topic: t,
                shared,
            } => {
                let message = Message::new(
                    topic(TOPICS[t]),
                    "d".into(),
                    qos(q),
                    false,
                    Default::default(),
                    self.a.now,
                );
                let mut queued = QueuedMessage::new(message, QoS::ExactlyOnce, false, Vec::new());
                queued.shared = shared.then(|| TopicFilter::new("$share/g/a").unwrap());
                let a = self.a.session.deliver(queued.clone(), self.a.now);
                let b = self.b.session.deliver(queued, self.b.now);
                assert_eq!(format!("{a:?}"), format!("{b:?}"));
            }
            Op::Advance(ms) => self.both(|h| h.advance(Duration::from_millis(ms))),
            Op::Deadline => {
                if let Some(deadline) = self.a.session.poll_timeout() {
                    self.both(|h| {
                        h.now = h.now.max(deadline);
                        h.session.handle_timeout(h.now);
                    });
                }
            }
            Op::Disconnect { with_will, expiry } => {
                let code = if with_will {
                    ReasonCode::DisconnectWithWill
                } else {
                    ReasonCode::Success
                };
                let mut disconnect = Disconnect::new(code);
                if v5 {
                    disconnect.properties.session_expiry_interval = expiry;
                }
                self.both(|h| h.send(Packet::Disconnect(disconnect.clone())));
            }
            Op::ConnectionLost => self.both(|h| h.session.connection_lost(h.now)),
            Op::Reauth => {
                let auth = Auth {
                    code: ReasonCode::ReAuthenticate,
                    properties: AuthProperties {
                        authentication_method: Some(method()),
                        ..Default::default()
                    },
                };
                self.both(|h| h.send(Packet::Auth(auth.clone())));
            }
            Op::Answer => self.answer(),
            Op::Park => self.park(),
        }
        self.compare();
    }

    /// Plays the runtime: routes every message, grants every filter, accepts every
    /// authentication.
    fn answer(&mut self) {
        for command in std::mem::take(&mut self.held) {
            match command {
                Command::Publish(request) => {
                    if let Some(ack) = request.ack {
                        let routed = PublishOutcome::Routed { matched: true };
                        self.both(|h| h.session.complete_publish(ack, routed));
                    }
                }
                Command::Subscribe(request) => {
                    let outcomes: Vec<_> = request
                        .filters
                        .iter()
                        .map(|f| FilterOutcome::Granted(f.entry.options.qos))
                        .collect();
                    self.both(|h| h.session.complete_subscribe(request.packet_id, &outcomes));
                }
                Command::Authenticate(_) => self.both(|h| h.session.auth_success(None, None)),
                Command::Connect(_) | Command::Unsubscribe(_) | Command::Close(_) => {}
            }
        }
    }

    /// Parks `b` and resumes it at once, if it is quiet.
    fn park(&mut self) {
        let placeholder = Session::new(Arc::clone(&self.config), self.b.now);
        let session = std::mem::replace(&mut self.b.session, placeholder);
        let timeout = session.poll_timeout();
        let client_id = session.client_id().cloned();
        let version = session.version();
        self.b.session = match session.park() {
            Ok(parked) => {
                assert_eq!(parked.poll_timeout(), timeout);
                assert_eq!(Some(parked.client_id()), client_id.as_ref());
                assert_eq!(parked.version(), version);
                self.parked += 1;
                parked.resume(Arc::clone(&self.config))
            }
            Err(session) => session,
        };
    }

    /// Drains both sessions and checks they said the same.
    fn compare(&mut self) {
        let (a, b) = (&mut self.a, &mut self.b);
        assert_eq!(a.sent(), b.sent(), "poll_transmit");
        let commands_a = a.commands();
        let commands_b = b.commands();
        assert_eq!(
            format!("{commands_a:?}"),
            format!("{commands_b:?}"),
            "poll_command"
        );
        self.held.extend(commands_a);
        let (a, b) = (&self.a.session, &self.b.session);
        assert_eq!(a.poll_timeout(), b.poll_timeout(), "poll_timeout");
        assert_eq!(a.client_id(), b.client_id());
        assert_eq!(a.version(), b.version());
        assert_eq!(a.is_connected(), b.is_connected());
        assert_eq!(a.is_closed(), b.is_closed());
        assert_eq!(a.keep_alive(), b.keep_alive());
        assert_eq!(a.will(), b.will());
        assert_eq!(a.auth_method(), b.auth_method());
        assert_eq!(a.is_reauthenticating(), b.is_reauthenticating());
        let subscriptions = |s: &Session| {
            let mut held: Vec<String> = s
                .state()
                .subscriptions()
                .map(|(f, e)| format!("{f:?} {e:?}"))
                .collect();
            held.sort();
            held
        };
        assert_eq!(subscriptions(a), subscriptions(b));
        assert_eq!(a.state().outbound().len(), b.state().outbound().len());
        assert_eq!(
            a.state().inbound_qos2().len(),
            b.state().inbound_qos2().len()
        );
    }
}

fn run(setup: &Setup, ops: &[Op]) -> usize {
    let mut twins = Twins::new(setup);
    twins.compare();
    for op in ops {
        twins.apply(op);
    }
    // Whatever is left: the runtime answers, the connection is lost.
    twins.answer();
    twins.compare();
    twins.both(|h| h.session.connection_lost(h.now));
    twins.compare();
    twins.parked
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// [MQTT-3.1.2-22] (the Keep Alive deadline), [MQTT-2.2.1-4] (packet identifiers),
    /// [MQTT-3.3.2-7] (topic aliases live as long as the connection, parked or not),
    /// [MQTT-3.1.2-8] (the will): a parked and resumed session is the session it was.
    #[test]
    fn parking_changes_nothing_observable(
        setup in setup(),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        run(&setup, &ops);
    }
}

/// The property above must actually park: over a fixed spread of inputs, most runs do.
#[test]
fn the_property_parks_sessions() {
    let setup = Setup {
        v5: true,
        keep_alive: 10,
        clean_start: false,
        session_expiry: Some(60),
        will: true,
        alias_maximum: 2,
        auth: true,
    };
    let ops = [
        Op::Subscribe(1, 1),
        Op::Park,
        Op::Answer,
        Op::Park,
        Op::Publish {
            qos: 0,
            id: 1,
            alias: 1,
            named: true,
            topic: 1,
        },
        Op::Deliver {
            qos: 0,
            topic: 2,
            shared: false,
        },
        Op::Park,
        Op::Deliver {
            qos: 1,
            topic: 2,
            shared: true,
        },
        Op::Park,
        Op::PubAck(1),
        Op::Park,
        Op::Publish {
            qos: 0,
            id: 1,
            alias: 1,
            named: false,
            topic: 0,
        },
        Op::Answer,
        Op::Advance(3_000),
        Op::Park,
        Op::Deadline,
    ];
    // Parked: after the SUBACK, after the aliases, after the PUBACK, after the clock moved.
    assert_eq!(run(&setup, &ops), 4);
}
