//! A [`RetainedChange`] to and from its wire form ([`RetainedEntry`]). Everything from the
//! network is checked as a client's PUBLISH would be (the message by
//! [`from_wire`](crate::wire_message::from_wire): topic, QoS, properties; no `$SYS` topic);
//! an entry that fails is dropped and counted by the caller.

use std::time::Instant;

use broker_core::cluster::{RetainedChange, RetainedStamp};
use broker_core::types::TopicName;

use crate::node_name::NodeName;
use crate::proto::RetainedEntry;
use crate::wire_message::{from_wire, to_wire, WireError};

/// `change`'s wire form, or `None` once its message's expiry has passed (the peers' copies
/// expire too). The expiry sent is what remains at `now`.
pub(crate) fn retained_to_wire(change: &RetainedChange, now: Instant) -> Option<RetainedEntry> {
    let message = match &change.message {
        Some(message) => Some(to_wire(message, now)?),
        None => None,
    };
    Some(RetainedEntry {
        topic: change.topic.as_str().to_owned(),
        message,
        set_at_ms: change.stamp.unix_ms(),
        set_by: change.stamp.node().as_str().to_owned(),
    })
}

/// The change `entry` carries, received at `now`: its topic a valid topic name, its message
/// (if any) a valid retained PUBLISH of that topic, its node a valid node name.
pub(crate) fn retained_from_wire(
    entry: RetainedEntry,
    now: Instant,
) -> Result<RetainedChange, WireError> {
    let topic = TopicName::new(entry.topic)
        .ok()
        .filter(|topic| !is_sys_topic(topic.as_str()))
        .ok_or(WireError::Invalid("topic"))?;
    let node = NodeName::new(entry.set_by).map_err(|_| WireError::Invalid("node name"))?;
    let message = entry.message.map(|wire| from_wire(wire, now)).transpose()?;
    if let Some(message) = &message {
        if message.topic != topic || !message.retain {
            return Err(WireError::Invalid("retained message"));
        }
    }
    let stamp = RetainedStamp::new(entry.set_at_ms, node.to_peer());
    Ok(RetainedChange::new(topic, message, stamp))
}

/// Whether `topic` is one of a broker's `$SYS` topics, which clients may not write (each
/// node keeps its own).
fn is_sys_topic(topic: &str) -> bool {
    topic
        .strip_prefix("$SYS")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use broker_core::codec::PublishProperties;
    use broker_core::session::Message;
    use broker_core::types::QoS;
    use bytes::Bytes;

    use broker_core::cluster::PeerName;

    use super::*;

    fn set(now: Instant) -> RetainedChange {
        let topic = TopicName::new("a/b").unwrap();
        let message = Message::new(
            topic.clone(),
            Bytes::from_static(b"v"),
            QoS::AtLeastOnce,
            true,
            PublishProperties::default(),
            now,
        );
        RetainedChange::new(
            topic,
            Some(message),
            RetainedStamp::new(42, PeerName::new("a")),
        )
    }

    #[test]
    fn a_change_crosses_unchanged() {
        let now = Instant::now();
        let sent = set(now);
        let back = retained_from_wire(retained_to_wire(&sent, now).unwrap(), now).unwrap();
        assert_eq!(back, sent);
        let clear = RetainedChange::new(sent.topic.clone(), None, sent.stamp.clone());
        let back = retained_from_wire(retained_to_wire(&clear, now).unwrap(), now).unwrap();
        assert_eq!(back, clear);
    }

    #[test]
    fn an_invalid_entry_is_refused() {
        let now = Instant::now();
        let good = retained_to_wire(&set(now), now).unwrap();
        let mut bad = good.clone();
        bad.topic = "a/+".into();
        assert_eq!(
            retained_from_wire(bad, now),
            Err(WireError::Invalid("topic"))
        );
        let mut bad = good.clone();
        bad.topic = "$SYS/broker/uptime".into();
        bad.message = None;
        assert_eq!(
            retained_from_wire(bad, now),
            Err(WireError::Invalid("topic")),
            "a node's own figures"
        );
        let mut bad = good.clone();
        bad.set_by = String::new();
        assert!(retained_from_wire(bad, now).is_err());
        let mut bad = good.clone();
        if let Some(message) = bad.message.as_mut() {
            message.qos = 3;
        }
        assert_eq!(retained_from_wire(bad, now), Err(WireError::Invalid("QoS")));
        let mut bad = good;
        if let Some(message) = bad.message.as_mut() {
            message.topic = "other".into();
        }
        assert_eq!(
            retained_from_wire(bad, now),
            Err(WireError::Invalid("retained message"))
        );
    }
}
