//! Property tests of the router against brute force over the reference `matches`:
//!
//! - the subscription tree reports exactly the subscriptions whose filter matches a topic,
//!   and routes exactly the deliveries a brute-force merge computes;
//! - any sequence of subscribes and unsubscribes leaves the tree equal to a `BTreeMap` model,
//!   with exactly the nodes the live filters need (no leaked node), and empty at the end;
//! - the retained store returns exactly the live, unexpired messages a filter matches;
//! - `matches` agrees with an independent recursive definition of §4.7.

use std::collections::{BTreeMap, BTreeSet};

use broker_core::codec::SubscriptionOptions;
use broker_core::router::{
    matches, Delivery, Match, RetainedMessage, RetainedStore, SubscriptionEntry, SubscriptionTree,
};
use broker_core::types::{QoS, SubscriptionId, TopicFilter, TopicName};
use bytes::Bytes;
use proptest::prelude::*;

const LITERALS: &[&str] = &["a", "b", "", "$SYS", "$"];

fn literal() -> impl Strategy<Value = String> {
    proptest::sample::select(LITERALS).prop_map(str::to_owned)
}

/// A topic of one to four levels drawn from a small alphabet, so that matches are frequent.
fn topic() -> impl Strategy<Value = String> {
    prop::collection::vec(literal(), 1..5)
        .prop_map(|levels| levels.join("/"))
        .prop_filter("a topic is not empty", |t| !t.is_empty())
}

/// A filter: levels with `+`, maybe a final `#`, maybe shared by one of two groups.
fn filter() -> impl Strategy<Value = String> {
    let level = prop_oneof![3 => literal(), 1 => Just("+".to_owned())];
    (
        prop::collection::vec(level, 0..4),
        any::<bool>(),
        prop::option::weighted(0.25, prop::sample::select(&["g1", "g2"][..])),
    )
        .prop_filter_map(
            "a filter has at least one level",
            |(mut levels, hash, share)| {
                if hash {
                    levels.push("#".to_owned());
                }
                let f = levels.join("/");
                if f.is_empty() {
                    return None;
                }
                Some(match share {
                    Some(group) => format!("$share/{group}/{f}"),
                    None => f,
                })
            },
        )
}

fn qos() -> impl Strategy<Value = QoS> {
    prop::sample::select(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][..])
}

/// A subscription request: filter, subscriber, granted QoS, No Local, Retain As Published.
fn subscription() -> impl Strategy<Value = (String, u32, QoS, bool, bool)> {
    (filter(), 0u32..4, qos(), any::<bool>(), any::<bool>())
}

fn tf(s: &str) -> TopicFilter {
    TopicFilter::new(s).unwrap()
}

fn tn(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

fn entry(qos: QoS, no_local: bool, rap: bool, id: u32) -> SubscriptionEntry {
    SubscriptionEntry::new(
        SubscriptionOptions {
            qos,
            no_local,
            retain_as_published: rap,
            ..SubscriptionOptions::default()
        },
        Some(SubscriptionId::new(id).unwrap()),
    )
}

type Model = BTreeMap<(String, u32), SubscriptionEntry>;

fn key(s: u32, e: &SubscriptionEntry) -> (u32, Option<u32>, u8, bool, bool) {
    (
        s,
        e.id.map(SubscriptionId::get),
        u8::from(e.options.qos),
        e.options.no_local,
        e.options.retain_as_published,
    )
}

/// The nodes a tree holding `model` needs: one per distinct non-empty prefix of the levels of
/// each matching filter, a final `#` excluded.
fn expected_nodes(model: &Model) -> usize {
    let mut prefixes = BTreeSet::new();
    for (f, _) in model.keys() {
        let f = tf(f);
        let mut levels: Vec<&str> = f.matching_filter().split('/').collect();
        if levels.last() == Some(&"#") {
            levels.pop();
        }
        for n in 1..=levels.len() {
            prefixes.insert(levels[..n].join("\u{0}"));
        }
    }
    prefixes.len()
}

/// The deliveries `route` must produce for `topic`, by brute force over the model.
fn brute_force_route(
    model: &Model,
    topic: &str,
    published: QoS,
    publisher: Option<u32>,
) -> (Vec<Delivery<u32>>, BTreeSet<String>) {
    let mut merged: BTreeMap<u32, Delivery<u32>> = BTreeMap::new();
    let mut shared = BTreeSet::new();
    for ((f, s), e) in model {
        let filter = tf(f);
        if !matches(filter.matching_filter(), topic) {
            continue;
        }
        if filter.is_shared() {
            shared.insert(f.clone());
            continue;
        }
        if e.options.no_local && publisher == Some(*s) {
            continue;
        }
        let d = merged.entry(*s).or_insert_with(|| Delivery {
            subscriber: *s,
            qos: QoS::AtMostOnce,
            retain_as_published: false,
            subscription_ids: Vec::new(),
            shared: None,
        });
        d.qos = d.qos.max(published.min(e.options.qos));
        d.retain_as_published |= e.options.retain_as_published;
        d.subscription_ids.extend(e.id);
        d.subscription_ids.sort_unstable();
    }
    (merged.into_values().collect(), shared)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tree_matches_brute_force(
        subs in prop::collection::vec(subscription(), 0..30),
        topics in prop::collection::vec(topic(), 1..8),
        published in qos(),
        publisher in prop::option::of(0u32..4),
    ) {
        let mut tree = SubscriptionTree::new();
        let mut model = Model::new();
        for (i, (f, s, q, no_local, rap)) in subs.iter().enumerate() {
            let e = entry(*q, *no_local, *rap, i as u32 + 1);
            tree.subscribe(&tf(f), *s, e);
            model.insert((f.clone(), *s), e);
        }
        let mut out = Vec::new();
        for t in &topics {
            // Raw matches: every non-shared subscription, every shared group once.
            let mut direct = Vec::new();
            let mut groups = Vec::new();
            tree.for_each_match(&tn(t), |m| match m {
                Match::Subscription { subscriber, entry } => direct.push(key(*subscriber, entry)),
                Match::Shared(group) => groups.push(group.filter().to_string()),
            });
            direct.sort_unstable();
            groups.sort_unstable();
            let mut want_direct: Vec<_> = model
                .iter()
                .filter(|((f, _), _)| !tf(f).is_shared() && matches(f, t))
                .map(|((_, s), e)| key(*s, e))
                .collect();
            want_direct.sort_unstable();
            prop_assert_eq!(&direct, &want_direct, "topic {:?}", t);

            // Routed deliveries.
            let (want, want_shared) = brute_force_route(&model, t, published, publisher);
            prop_assert_eq!(groups.iter().cloned().collect::<BTreeSet<_>>(), want_shared.clone());
            prop_assert_eq!(groups.len(), want_shared.len(), "each group reported once");
            tree.route(&tn(t), published, publisher.as_ref(), |_| true, &mut out);
            let (plain, shared): (Vec<_>, Vec<_>) =
                out.iter().cloned().partition(|d| d.shared.is_none());
            prop_assert_eq!(&plain, &want, "topic {:?}", t);
            prop_assert_eq!(shared.len(), want_shared.len());
            for d in &shared {
                let f = d.shared.as_ref().unwrap().to_string();
                prop_assert!(want_shared.contains(&f));
                let e = model.get(&(f.clone(), d.subscriber)).expect("a member of the group");
                prop_assert_eq!(d.qos, published.min(e.options.qos));
                prop_assert_eq!(&d.subscription_ids, &e.id.into_iter().collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn subscribe_unsubscribe_follow_the_model(
        ops in prop::collection::vec((any::<bool>(), subscription()), 0..80),
    ) {
        let mut tree = SubscriptionTree::new();
        let mut model = Model::new();
        for (i, (subscribe, (f, s, q, no_local, rap))) in ops.iter().enumerate() {
            let filter = tf(f);
            if *subscribe {
                let e = entry(*q, *no_local, *rap, i as u32 + 1);
                prop_assert_eq!(tree.subscribe(&filter, *s, e), model.insert((f.clone(), *s), e));
            } else {
                prop_assert_eq!(tree.unsubscribe(&filter, s), model.remove(&(f.clone(), *s)));
            }
            prop_assert_eq!(tree.len(), model.len());
            prop_assert_eq!(tree.node_count(), expected_nodes(&model), "after {:?}", ops[i]);
            prop_assert_eq!(tree.get(&filter, s), model.get(&(f.clone(), *s)));
            if let Some(group) = tree.shared_group(&filter) {
                let members: Vec<u32> = group.members().map(|(m, _)| *m).collect();
                let want: Vec<u32> =
                    model.keys().filter(|(mf, _)| mf == f).map(|(_, m)| *m).collect();
                prop_assert_eq!(members, want);
            }
        }
        let mut listed = Model::new();
        tree.for_each_subscription(|f, s, e| {
            listed.insert((f.to_owned(), *s), *e);
        });
        prop_assert_eq!(&listed, &model);
        for (f, s) in model.keys() {
            prop_assert!(tree.unsubscribe(&tf(f), s).is_some());
        }
        prop_assert!(tree.is_empty());
        prop_assert_eq!(tree.node_count(), 0);
    }

    #[test]
    fn retained_matches_brute_force(
        ops in prop::collection::vec(
            (topic(), any::<bool>(), prop::option::of(0u32..20), 0u64..20),
            0..40,
        ),
        filters in prop::collection::vec(filter(), 1..8),
        now in 0u64..40,
    ) {
        let mut store = RetainedStore::new();
        // topic -> (stored_at, expires_at)
        let mut model: BTreeMap<String, (u64, Option<u64>)> = BTreeMap::new();
        for (t, empty, expiry, at) in &ops {
            let payload = if *empty { Bytes::new() } else { Bytes::from(t.clone()) };
            let mut m =
                RetainedMessage::new(tn(t), payload, QoS::AtLeastOnce, Default::default(), *at);
            m.properties.message_expiry_interval = *expiry;
            let old = store.set(m);
            let want_old = if *empty { model.remove(t) } else {
                model.insert(t.clone(), (*at, expiry.map(|e| at + u64::from(e))))
            };
            prop_assert_eq!(old.map(|o| o.stored_at), want_old.map(|(at, _)| at));
            prop_assert_eq!(store.len(), model.len());
        }
        let mut prefixes = BTreeSet::new();
        for t in model.keys() {
            let levels: Vec<&str> = t.split('/').collect();
            for n in 1..=levels.len() {
                prefixes.insert(levels[..n].join("\u{0}"));
            }
        }
        prop_assert_eq!(store.node_count(), prefixes.len());
        let live = |t: &String| model[t].1.is_none_or(|at| now < at);
        for f in &filters {
            let filter = tf(f);
            let mut found = Vec::new();
            store.matching(&filter, now, |m| found.push(m.topic.to_string()));
            let want: Vec<String> = model
                .keys()
                .filter(|t| matches(filter.matching_filter(), t) && live(t))
                .cloned()
                .collect();
            let mut sorted = found.clone();
            sorted.sort_unstable();
            prop_assert_eq!(&sorted, &want, "filter {:?}", f);
            prop_assert_eq!(sorted.len(), found.len(), "no duplicates");
        }
        let expiring: Vec<u64> = model.values().filter_map(|(_, at)| *at).collect();
        prop_assert_eq!(store.next_expiry(), expiring.iter().min().copied());
        let expired = model.keys().filter(|t| !live(t)).count();
        prop_assert_eq!(store.remove_expired(now), expired);
        prop_assert_eq!(store.len(), model.len() - expired);
        let remaining: Vec<_> = model.keys().filter(|t| live(t)).cloned().collect();
        for t in &remaining {
            prop_assert!(store.remove(&tn(t)).is_some());
        }
        prop_assert!(store.is_empty());
        prop_assert_eq!(store.node_count(), 0);
        prop_assert_eq!(store.next_expiry(), None);
    }

    #[test]
    fn matches_agrees_with_a_recursive_definition(f in filter(), t in topic()) {
        let filter = tf(&f);
        let f = filter.matching_filter();
        let f_levels: Vec<&str> = f.split('/').collect();
        let t_levels: Vec<&str> = t.split('/').collect();
        let dollar_rule = t.starts_with('$') && (f_levels[0] == "+" || f_levels[0] == "#");
        let want = !dollar_rule && recursive(&f_levels, &t_levels);
        prop_assert_eq!(matches(f, &t), want, "{:?} vs {:?}", f, t);
    }
}

/// §4.7.1 written as a recursion over level slices.
fn recursive(filter: &[&str], topic: &[&str]) -> bool {
    match (filter.split_first(), topic.split_first()) {
        (None, None) => true,
        (Some((&"#", [])), _) => true,
        (Some((&"+", f)), Some((_, t))) => recursive(f, t),
        (Some((f0, f)), Some((t0, t))) => f0 == t0 && recursive(f, t),
        _ => false,
    }
}
