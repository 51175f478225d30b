//! The router: who gets a publish, and which retained messages a new subscription gets.
//!
//! The router owns three data structures and nothing else:
//!
//! - [`SubscriptionTree`]: the subscription index, a trie over topic levels with dedicated
//!   `+` and `#` branches. It answers "who gets this publish" ([`SubscriptionTree::route`])
//!   with one [`Delivery`] per subscriber (overlapping subscriptions merged, MQTT 5.0
//!   §3.3.4) and one per matching shared subscription.
//! - [`SharedGroup`]: the members of one shared subscription `$share/{ShareName}/{filter}`
//!   (MQTT 5.0 §4.8.2) and the round-robin choice of the one member that gets a message.
//! - [`RetainedStore`]: the retained messages, a trie over topic levels so that a filter
//!   such as `a/+/c` visits only the branches it can match.
//!
//! [`matches()`] is the reference definition of topic matching (MQTT 5.0 §4.7); the tree and the
//! store agree with it, and the property tests check that they do.
//!
//! ```
//! use broker_core::codec::SubscriptionOptions;
//! use broker_core::router::{SubscriptionEntry, SubscriptionTree};
//! use broker_core::types::{QoS, TopicFilter, TopicName};
//!
//! let mut tree = SubscriptionTree::new();
//! let entry = SubscriptionEntry::new(SubscriptionOptions::qos(QoS::AtLeastOnce), None);
//! tree.subscribe(&TopicFilter::new("sport/#").unwrap(), "alice", entry);
//! tree.subscribe(&TopicFilter::new("sport/+/player1").unwrap(), "alice", entry);
//! tree.subscribe(&TopicFilter::new("$share/g/sport/#").unwrap(), "bob", entry);
//!
//! let mut out = Vec::new();
//! let topic = TopicName::new("sport/tennis/player1").unwrap();
//! tree.route(&topic, QoS::ExactlyOnce, None, |_member| true, &mut out);
//! // Alice's two subscriptions give her one copy; the shared group gives Bob one.
//! assert_eq!(out.len(), 2);
//! assert_eq!((out[0].subscriber, out[0].qos), ("alice", QoS::AtLeastOnce));
//! assert_eq!(out[1].subscriber, "bob");
//! assert_eq!(out[1].shared.as_ref().map(|f| f.as_str()), Some("$share/g/sport/#"));
//! ```
//!
//! # What the router must never do
//!
//! No I/O, no clock, no tasks, no locks, no `async`. Time is an argument (`now`, in seconds
//! of the caller's clock). Matching takes `&self` and mutation takes `&mut self`, so the
//! runtime can share one router behind a read-mostly lock held only for the match. The one
//! piece of state a match changes, the round-robin cursor of a [`SharedGroup`], is an atomic
//! counter.
//!
//! The router checks no permissions and applies no session rules: it does not know whether a
//! subscriber is connected, how full its queue is, or whether its client asked for No Local
//! on a shared subscription (a Protocol Error the session rejects, [MQTT-3.8.3-4]). The
//! caller tells it what it needs through arguments: the publisher's key for No Local, and a
//! predicate saying which shared-subscription members can receive now.
//!
//! Deep topics never recurse: every walk over a trie, including dropping one, uses an explicit
//! stack, so a 65,535-byte filter of empty levels cannot overflow a task's stack.

mod delivery;
mod entry;
mod retained;
mod retained_message;
mod shared_group;
mod subscription_tree;
mod topic_match;
mod tree_node;

pub use delivery::Delivery;
pub use entry::SubscriptionEntry;
pub use retained::RetainedStore;
pub use retained_message::RetainedMessage;
pub use shared_group::SharedGroup;
pub use subscription_tree::{Match, SubscriptionTree};
pub use topic_match::matches;
