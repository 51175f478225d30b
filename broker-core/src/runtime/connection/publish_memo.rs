//! A connection's memo of the authorization of its last publish.
//!
//! Most clients publish to one topic, or a few, over and over. The memo answers a publish
//! that repeats the last one (same topic, QoS and RETAIN flag) with no hashing, no lock and
//! no allocation: the decision came from the hook chain's cache, and holds until that
//! decision's expiry and while the chain's cache generation is unchanged (any invalidation,
//! such as a reload of the ACL file or a re-authentication, makes every memo stale).

use std::time::Instant;

use crate::hooks::Authorization;
use crate::session::Message;
use crate::types::{QoS, TopicName};

/// The decision about one publish, and how long it holds.
#[derive(Debug)]
pub(crate) struct PublishMemo {
    /// A copy of the topic (not a slice of the connection's read buffer, which it would keep
    /// alive).
    topic: TopicName,
    qos: QoS,
    retain: bool,
    decision: Authorization,
    /// The cached decision's expiry; `None`: for good.
    expires: Option<Instant>,
    /// The chain's cache generation the decision was read at.
    generation: u64,
}

impl PublishMemo {
    /// The memo of `decision` about `message`, or `None` when the topic cannot be copied.
    pub(crate) fn new(
        message: &Message,
        decision: Authorization,
        expires: Option<Instant>,
        generation: u64,
    ) -> Option<PublishMemo> {
        let topic = TopicName::new(message.topic.as_str()).ok()?;
        Some(PublishMemo {
            topic,
            qos: message.qos,
            retain: message.retain,
            decision,
            expires,
            generation,
        })
    }

    /// The decision, if the memo answers `message` at cache generation `generation`.
    pub(crate) fn answers(&self, message: &Message, generation: u64) -> Option<&Authorization> {
        let fresh = self.generation == generation
            && self
                .expires
                .is_none_or(|expires| message.received_at < expires);
        let same = self.qos == message.qos
            && self.retain == message.retain
            && self.topic.as_str() == message.topic.as_str();
        (fresh && same).then_some(&self.decision)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::codec::PublishProperties;
    use crate::hooks::Refusal;

    fn message(topic: &str, qos: QoS, at: Instant) -> Message {
        let topic = TopicName::new(topic.to_owned()).unwrap();
        Message::new(
            topic,
            "x".into(),
            qos,
            false,
            PublishProperties::default(),
            at,
        )
    }

    #[test]
    fn answers_the_same_publish_until_expiry_or_invalidation() {
        let start = Instant::now();
        let first = message("a/b", QoS::AtLeastOnce, start);
        let expires = Some(start + Duration::from_secs(60));
        let denied = Authorization::Denied(Refusal::not_authorized());
        let memo = PublishMemo::new(&first, denied.clone(), expires, 7).unwrap();
        assert_eq!(memo.answers(&first, 7), Some(&denied));
        let later = message("a/b", QoS::AtLeastOnce, start + Duration::from_secs(59));
        assert_eq!(memo.answers(&later, 7), Some(&denied));
        // Expired, invalidated, or another publish: no answer.
        let expired = message("a/b", QoS::AtLeastOnce, start + Duration::from_secs(60));
        assert_eq!(memo.answers(&expired, 7), None);
        assert_eq!(memo.answers(&first, 8), None);
        assert_eq!(
            memo.answers(&message("a/c", QoS::AtLeastOnce, start), 7),
            None
        );
        assert_eq!(
            memo.answers(&message("a/b", QoS::AtMostOnce, start), 7),
            None
        );
    }
}
