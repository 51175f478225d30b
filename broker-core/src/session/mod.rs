//! Building blocks of one client's session: the pieces of per-client protocol state that the
//! session state machine composes.
//!
//! This module owns, for one client:
//!
//! - [`Message`]: an application message as the broker routes and stores it, and the
//!   PUBLISH a subscriber receives of it (QoS downgrade, remaining Message Expiry Interval,
//!   Subscription Identifiers, topic alias).
//! - [`PacketIdAllocator`]: unused non-zero packet identifiers for the PUBLISH packets the
//!   server sends ([MQTT-2.2.1-4]).
//! - [`OutboundInflight`]: the QoS 1 and QoS 2 messages sent to the client and not yet
//!   acknowledged, bounded by the client's Receive Maximum, in send order for retransmission.
//! - [`InboundQos2`]: the exactly-once receive state of QoS 2 messages the client published.
//! - [`InboundAliases`] and [`OutboundAliases`]: the topic alias maps of one network
//!   connection, one per direction.
//! - [`KeepAlive`]: when the server gives up on a silent client.
//! - [`MessageQueue`]: the bounded queue of messages waiting for the client (offline, or its
//!   in-flight window full), with its overflow policy; every drop is returned as a value.
//!
//! ```
//! use std::num::NonZeroU16;
//! use std::time::{Duration, Instant};
//!
//! use broker_core::codec::{Ack, Publish, QosPid};
//! use broker_core::session::{
//!     Message, OutboundAliases, OutboundInflight, PubAckOutcome, SendOptions,
//! };
//! use broker_core::types::{PacketId, QoS, TopicName};
//!
//! let t0 = Instant::now(); // the caller's clock; the blocks never read one
//! let mut publish = Publish::new(TopicName::new("sport/tennis").unwrap(), "6-4".into());
//! publish.qos_pid = QosPid::AtLeastOnce(PacketId::new(1).unwrap());
//! publish.properties.message_expiry_interval = Some(60);
//! let message = Message::from_publish(publish, t0).unwrap().detach();
//!
//! // One subscriber, granted QoS 2, Receive Maximum 10, Topic Alias Maximum 5.
//! let mut window = OutboundInflight::new(NonZeroU16::new(10).unwrap());
//! let mut aliases = OutboundAliases::new(5);
//! let now = t0 + Duration::from_secs(15);
//! assert_eq!(message.qos_for(QoS::ExactlyOnce), QoS::AtLeastOnce);
//! let mut out = window
//!     .insert(|id| message.to_publish(SendOptions::new(QosPid::AtLeastOnce(id)), now))
//!     .unwrap();
//! aliases.choose(&message.topic).apply(&mut out);
//! assert_eq!(out.properties.message_expiry_interval, Some(45));
//! assert!(out.properties.topic_alias.is_some());
//!
//! // The client acknowledges: the packet identifier is free again.
//! let id = out.qos_pid.packet_id().unwrap();
//! assert!(matches!(window.handle_puback(&Ack::new(id)), PubAckOutcome::Acknowledged(_)));
//! assert!(window.is_empty());
//! ```
//!
//! Each block is a plain value: inputs are method calls, outputs are return values (the
//! packet to send, the reason code to disconnect with), errors are `thiserror` enums that name
//! the normative statement they enforce and the reason code the session answers with.
//!
//! # What this module must never do
//!
//! No I/O, no clock, no tasks, no locks, no `async`. Time is an argument: every method that
//! needs the time takes `now: Instant` from the caller, so tests drive it with a virtual
//! clock. None of these blocks decides when to send: they say what to send, and the session
//! state machine (and the runtime under it) does the rest.

mod command;
mod config;
mod inflight;
mod keep_alive;
mod machine;
mod machine_auth;
mod machine_connect;
mod machine_flow;
mod machine_size;
mod marker_run;
mod message;
mod offline;
mod packet_ids;
mod parked;
mod places;
mod qos2_inbound;
mod queue;
mod spill;
mod state;
mod topic_alias;

#[cfg(test)]
mod machine_acks_test;
#[cfg(test)]
mod machine_details_test;
#[cfg(test)]
mod machine_size_test;
#[cfg(test)]
mod test_harness;

pub use command::{
    AuthRequest, AuthStep, Close, CloseReason, Command, ConnectRequest, FilterOutcome,
    FilterRequest, PublishAck, PublishOutcome, PublishRequest, SubscribeRequest,
    UnsubscribeRequest, WillMessage,
};
pub use config::SessionConfig;
pub use machine::Session;
pub use machine_flow::DeliverOutcome;
pub use offline::{OfflineEvent, OfflineSession};
pub use parked::ParkedSession;
pub use state::SessionState;

pub use inflight::{
    InflightError, InflightState, OutboundInflight, PubAckOutcome, PubCompOutcome, PubRecOutcome,
    Retransmission,
};
pub use keep_alive::KeepAlive;
pub use message::{Message, MessageError, SendOptions};
pub use packet_ids::PacketIdAllocator;
pub use qos2_inbound::{InboundQos2, InboundQos2Publish, ReceiveMaximumExceeded};
pub use queue::{
    DropReason, Dropped, MessageQueue, OverflowPolicy, Presence, PushOutcome, QueueLimits,
    QueuedMessage,
};
pub use spill::{DroppedCopy, Refilled, SpilledCopy};
pub use topic_alias::{AliasError, AliasUse, InboundAliases, OutboundAliases};
