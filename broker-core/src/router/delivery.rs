//! One copy of a message for one subscriber: what the session needs to build its PUBLISH.

use super::entry::SubscriptionEntry;
use crate::types::{QoS, SubscriptionId, TopicFilter};

/// One copy of a published message for one subscriber, produced by
/// [`SubscriptionTree::route`](super::SubscriptionTree::route).
///
/// For non-shared subscriptions there is one `Delivery` per subscriber however many of its
/// subscriptions match: the router sends a single copy ([MQTT-3.3.4-2]) at the highest QoS
/// the matching subscriptions allow, carrying the identifiers of all of them
/// ([MQTT-3.3.4-3], [MQTT-3.3.4-4]). Each matching shared subscription adds one `Delivery`
/// for the member chosen for it ([`shared`](Self::shared) is set), never merged with others:
/// shared subscriptions are independent of each other and of non-shared ones (§4.8.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery<S> {
    /// Who gets the copy.
    pub subscriber: S,
    /// The QoS to send at: the publish QoS downgraded to the highest granted QoS of the
    /// matching subscriptions ([MQTT-3.3.4-2], [MQTT-4.8.2-3]).
    pub qos: QoS,
    /// Whether the outgoing RETAIN flag keeps the published one ([MQTT-3.3.1-13]) rather than
    /// being cleared ([MQTT-3.3.1-12]). When several subscriptions are merged into one copy it
    /// is set if any of them asked for it. See [`retain_flag`](Self::retain_flag).
    pub retain_as_published: bool,
    /// The Subscription Identifiers of the matching subscriptions that have one, in ascending
    /// order, repeated when two subscriptions share an identifier (§3.3.4). Ready to move into
    /// [`PublishProperties::subscription_identifiers`]; empty for 3.x subscribers.
    ///
    /// [`PublishProperties::subscription_identifiers`]: crate::codec::PublishProperties
    pub subscription_ids: Vec<SubscriptionId>,
    /// For a copy chosen for a shared subscription, its full filter
    /// (`$share/{ShareName}/{filter}`): the key to find the group again with
    /// [`SubscriptionTree::shared_group`](super::SubscriptionTree::shared_group), for instance
    /// to hand an unacknowledged QoS 1 message to another member. `None` otherwise.
    pub shared: Option<TopicFilter>,
}

impl<S> Delivery<S> {
    /// The copy that one subscription entry asks for.
    pub(super) fn from_entry(
        subscriber: S,
        entry: &SubscriptionEntry,
        publish_qos: QoS,
        shared: Option<TopicFilter>,
    ) -> Self {
        Delivery {
            subscriber,
            qos: publish_qos.min(entry.options.qos),
            retain_as_published: entry.options.retain_as_published,
            subscription_ids: entry.id.into_iter().collect(),
            shared,
        }
    }

    /// The RETAIN flag of the outgoing PUBLISH for a message published with `published`
    /// ([MQTT-3.3.1-12], [MQTT-3.3.1-13]). This is for messages routed as they are published;
    /// retained messages sent because a subscription was made follow §3.3.1.3 instead.
    #[must_use]
    pub fn retain_flag(&self, published: bool) -> bool {
        published && self.retain_as_published
    }

    /// Folds `other`, a copy for the same subscriber, into `self`.
    fn absorb(&mut self, other: &mut Delivery<S>) {
        self.qos = self.qos.max(other.qos);
        self.retain_as_published |= other.retain_as_published;
        self.subscription_ids.append(&mut other.subscription_ids);
    }
}

/// Sorts `deliveries` (non-shared copies first, by subscriber; then shared copies by filter
/// and subscriber) and merges the non-shared copies of each subscriber into one.
pub(super) fn merge<S: Ord>(deliveries: &mut Vec<Delivery<S>>) {
    deliveries.sort_unstable_by(|a, b| {
        a.shared
            .cmp(&b.shared)
            .then_with(|| a.subscriber.cmp(&b.subscriber))
    });
    let mut merged = false;
    deliveries.dedup_by(|later, earlier| {
        let same = later.shared.is_none()
            && earlier.shared.is_none()
            && later.subscriber == earlier.subscriber;
        if same {
            earlier.absorb(later);
            merged = true;
        }
        same
    });
    if merged {
        for delivery in deliveries.iter_mut() {
            delivery.subscription_ids.sort_unstable();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::SubscriptionOptions;

    fn entry(qos: QoS, rap: bool, id: Option<u32>) -> SubscriptionEntry {
        SubscriptionEntry {
            options: SubscriptionOptions {
                qos,
                retain_as_published: rap,
                ..SubscriptionOptions::default()
            },
            id: id.map(|v| SubscriptionId::new(v).unwrap()),
        }
    }

    #[test]
    fn merge_takes_max_qos_all_ids_and_any_rap_mqtt_3_3_4_2_and_3() {
        let mut d = vec![
            Delivery::from_entry(
                "b",
                &entry(QoS::AtMostOnce, false, Some(7)),
                QoS::ExactlyOnce,
                None,
            ),
            Delivery::from_entry(
                "a",
                &entry(QoS::AtMostOnce, false, None),
                QoS::ExactlyOnce,
                None,
            ),
            Delivery::from_entry(
                "b",
                &entry(QoS::ExactlyOnce, true, Some(3)),
                QoS::AtLeastOnce,
                None,
            ),
            Delivery::from_entry(
                "b",
                &entry(QoS::AtMostOnce, false, Some(3)),
                QoS::ExactlyOnce,
                None,
            ),
        ];
        merge(&mut d);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].subscriber, "a");
        assert_eq!(d[1].subscriber, "b");
        assert_eq!(d[1].qos, QoS::AtLeastOnce);
        assert!(d[1].retain_as_published);
        let ids: Vec<u32> = d[1].subscription_ids.iter().map(|i| i.get()).collect();
        assert_eq!(ids, [3, 3, 7]);
    }

    #[test]
    fn shared_copies_are_never_merged() {
        let f1 = TopicFilter::new("$share/g/a").unwrap();
        let f2 = TopicFilter::new("$share/h/a").unwrap();
        let e = entry(QoS::AtLeastOnce, false, None);
        let mut d = vec![
            Delivery::from_entry("a", &e, QoS::AtLeastOnce, Some(f2.clone())),
            Delivery::from_entry("a", &e, QoS::AtLeastOnce, Some(f1.clone())),
            Delivery::from_entry("a", &e, QoS::AtLeastOnce, None),
        ];
        merge(&mut d);
        let shared: Vec<_> = d.iter().map(|d| d.shared.clone()).collect();
        assert_eq!(shared, [None, Some(f1), Some(f2)]);
    }

    #[test]
    fn retain_flag_mqtt_3_3_1_12_and_13() {
        let keep = Delivery::from_entry(
            (),
            &entry(QoS::AtMostOnce, true, None),
            QoS::AtMostOnce,
            None,
        );
        let clear = Delivery::from_entry(
            (),
            &entry(QoS::AtMostOnce, false, None),
            QoS::AtMostOnce,
            None,
        );
        assert!(keep.retain_flag(true));
        assert!(!keep.retain_flag(false));
        assert!(!clear.retain_flag(true));
    }
}
