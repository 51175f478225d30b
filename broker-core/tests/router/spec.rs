//! The examples and rules of MQTT 5.0 §4.7 (topic names and filters), §4.8 (subscriptions)
//! and §3.3 (PUBLISH routing, retained messages), checked against the three matchers of the
//! router: the reference `matches`, the `SubscriptionTree` and the `RetainedStore`.

use broker_core::codec::SubscriptionOptions;
use broker_core::router::{
    matches, Delivery, RetainedMessage, RetainedStore, SubscriptionEntry, SubscriptionTree,
};
use broker_core::types::{QoS, SubscriptionId, TopicFilter, TopicName};
use bytes::Bytes;

fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).unwrap()
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

fn entry(qos: QoS) -> SubscriptionEntry {
    SubscriptionEntry::new(SubscriptionOptions::qos(qos), None)
}

fn tree_matches(f: &str, t: &str) -> bool {
    let mut tree = SubscriptionTree::new();
    tree.subscribe(&filter(f), 1u32, entry(QoS::AtMostOnce));
    let mut hit = false;
    tree.for_each_match(&topic(t), |_| hit = true);
    hit
}

fn retained_matches(f: &str, t: &str) -> bool {
    let mut store = RetainedStore::new();
    store.set(retained(t, b"x", None, 0));
    let mut hit = false;
    store.matching(&filter(f), 0, |_| hit = true);
    hit
}

fn retained(t: &str, payload: &'static [u8], expiry: Option<u32>, at: u64) -> RetainedMessage {
    let mut m = RetainedMessage::new(
        topic(t),
        Bytes::from_static(payload),
        QoS::AtLeastOnce,
        Default::default(),
        at,
    );
    m.properties.message_expiry_interval = expiry;
    m
}

/// Checks one example with `matches`, the tree (plain and shared) and the retained store.
#[track_caller]
fn check(f: &str, t: &str, expected: bool) {
    assert_eq!(matches(f, t), expected, "matches({f:?}, {t:?})");
    assert_eq!(tree_matches(f, t), expected, "tree: {f:?} vs {t:?}");
    let shared = format!("$share/group/{f}");
    assert_eq!(
        tree_matches(&shared, t),
        expected,
        "tree: {shared:?} vs {t:?}"
    );
    assert_eq!(retained_matches(f, t), expected, "retained: {f:?} vs {t:?}");
}

// §4.7.1.2, the examples under [MQTT-4.7.1-1].
#[test]
fn multi_level_wildcard_mqtt_4_7_1_1() {
    check("sport/tennis/player1/#", "sport/tennis/player1", true);
    check(
        "sport/tennis/player1/#",
        "sport/tennis/player1/ranking",
        true,
    );
    check(
        "sport/tennis/player1/#",
        "sport/tennis/player1/score/wimbledon",
        true,
    );
    check("sport/tennis/player1/#", "sport/tennis/player2", false);
    // "sport/#" also matches the singular "sport", since # includes the parent level.
    check("sport/#", "sport", true);
    check("sport/#", "sport/", true);
    check("sport/#", "sportsman", false);
    // "#" receives every application message (but see [MQTT-4.7.2-1]).
    check("#", "sport", true);
    check("#", "/", true);
    check("#", "a//b", true);
    check("sport/tennis/#", "sport/tennis", true);
    check("sport/tennis/#", "sport", false);
}

// §4.7.1.3, the examples under [MQTT-4.7.1-2].
#[test]
fn single_level_wildcard_mqtt_4_7_1_2() {
    check("sport/tennis/+", "sport/tennis/player1", true);
    check("sport/tennis/+", "sport/tennis/player2", true);
    check("sport/tennis/+", "sport/tennis/player1/ranking", false);
    // "sport/+" does not match "sport" but it does match "sport/".
    check("sport/+", "sport", false);
    check("sport/+", "sport/", true);
    check("+", "sport", true);
    check("+/tennis/#", "sport/tennis", true);
    check("+/tennis/#", "sport/tennis/player1", true);
    check("sport/+/player1", "sport/tennis/player1", true);
    check("sport/+/player1", "sport/tennis/player2", false);
    // "/finance" matches "+/+" and "/+", but not "+".
    check("+/+", "/finance", true);
    check("/+", "/finance", true);
    check("+", "/finance", false);
    check("+/#", "sport", true);
}

// §4.7.2 and its non-normative examples.
#[test]
fn dollar_topics_mqtt_4_7_2_1() {
    // A subscription to "#" will not receive any messages published to a topic beginning with $.
    check("#", "$SYS", false);
    check("#", "$SYS/broker/uptime", false);
    check("#", "$", false);
    // "+/monitor/Clients" will not receive messages published to "$SYS/monitor/Clients".
    check("+/monitor/Clients", "$SYS/monitor/Clients", false);
    check("+", "$SYS", false);
    check("+/#", "$SYS/a", false);
    // "$SYS/#" receives messages published to topics beginning with "$SYS/".
    check("$SYS/#", "$SYS/monitor/Clients", true);
    check("$SYS/#", "$SYS", true);
    // "$SYS/monitor/+" receives messages published to "$SYS/monitor/Clients".
    check("$SYS/monitor/+", "$SYS/monitor/Clients", true);
    check("$SYS/+/Clients", "$SYS/monitor/Clients", true);
    // Only the first level counts.
    check("a/+", "a/$b", true);
    check("a/#", "a/$b/c", true);
    // A shared subscription follows the rule on its matching part.
    assert!(!tree_matches("$share/g/#", "$SYS/x"));
    assert!(tree_matches("$share/g/$SYS/#", "$SYS/x"));
}

// §4.7.3: case sensitive, spaces allowed, a leading or trailing `/` makes a distinct topic, no
// normalization ([MQTT-4.7.3-4]).
#[test]
fn topic_semantics_mqtt_4_7_3_4() {
    check("ACCOUNTS", "Accounts", false);
    check("Accounts payable", "Accounts payable", true);
    check("/finance", "finance", false);
    check("finance", "/finance", false);
    check("finance/", "finance", false);
    check("/", "/", true);
    check("a//b", "a//b", true);
    check("a//b", "a/b", false);
    check("caf\u{e9}", "cafe\u{301}", false);
}

fn route(tree: &SubscriptionTree<&'static str>, t: &str, qos: QoS) -> Vec<Delivery<&'static str>> {
    route_from(tree, t, qos, None)
}

fn route_from(
    tree: &SubscriptionTree<&'static str>,
    t: &str,
    qos: QoS,
    publisher: Option<&'static str>,
) -> Vec<Delivery<&'static str>> {
    let mut out = Vec::new();
    tree.route(&topic(t), qos, publisher.as_ref(), |_| true, &mut out);
    out
}

// §4.8.2: "$share/consumer1/sport/tennis/+" and "$share/consumer2/sport/tennis/+" are distinct
// shared subscriptions; a message matching sport/tennis/+ goes to exactly one session of each
// and to every non-shared subscriber.
#[test]
fn shared_subscriptions_one_copy_per_group_mqtt_4_8_2() {
    let mut tree = SubscriptionTree::new();
    let g1 = filter("$share/consumer1/sport/tennis/+");
    let g2 = filter("$share/consumer2/sport/tennis/+");
    for member in ["a", "b"] {
        tree.subscribe(&g1, member, entry(QoS::AtLeastOnce));
    }
    for member in ["c", "d", "e"] {
        tree.subscribe(&g2, member, entry(QoS::AtLeastOnce));
    }
    tree.subscribe(&filter("sport/tennis/+"), "x", entry(QoS::AtLeastOnce));
    tree.subscribe(&filter("sport/tennis/+"), "y", entry(QoS::AtLeastOnce));

    let mut firsts = Vec::new();
    for _ in 0..6 {
        let out = route(&tree, "sport/tennis/player1", QoS::AtLeastOnce);
        let plain: Vec<_> = out
            .iter()
            .filter(|d| d.shared.is_none())
            .map(|d| d.subscriber)
            .collect();
        assert_eq!(plain, ["x", "y"]);
        let from_g1: Vec<_> = out
            .iter()
            .filter(|d| d.shared.as_ref() == Some(&g1))
            .collect();
        let from_g2: Vec<_> = out
            .iter()
            .filter(|d| d.shared.as_ref() == Some(&g2))
            .collect();
        assert_eq!((from_g1.len(), from_g2.len()), (1, 1));
        assert!(["a", "b"].contains(&from_g1[0].subscriber));
        assert!(["c", "d", "e"].contains(&from_g2[0].subscriber));
        firsts.push(from_g2[0].subscriber);
    }
    // Every member of a group gets its turn.
    firsts.sort_unstable();
    firsts.dedup();
    assert_eq!(firsts, ["c", "d", "e"]);

    // "$share/consumer1//finance" matches the same topics as "/finance".
    tree.subscribe(
        &filter("$share/consumer1//finance"),
        "a",
        entry(QoS::AtMostOnce),
    );
    let out = route(&tree, "/finance", QoS::AtMostOnce);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].subscriber, "a");
    assert!(route(&tree, "finance", QoS::AtMostOnce).is_empty());
}

// [MQTT-4.8.2-3]: the server respects the granted QoS of the chosen member's subscription.
#[test]
fn shared_member_gets_its_own_granted_qos_mqtt_4_8_2_3() {
    let mut tree = SubscriptionTree::new();
    let g = filter("$share/g/t");
    tree.subscribe(&g, "q0", entry(QoS::AtMostOnce));
    tree.subscribe(&g, "q2", entry(QoS::ExactlyOnce));
    let mut seen = Vec::new();
    for _ in 0..2 {
        let out = route(&tree, "t", QoS::AtLeastOnce);
        seen.push((out[0].subscriber, out[0].qos));
    }
    seen.sort_unstable();
    assert_eq!(seen, [("q0", QoS::AtMostOnce), ("q2", QoS::AtLeastOnce)]);
}

// §4.8.2: a shared subscription survives its creator's unsubscribe and ends with its last
// member; subscribing again does not add a second membership.
#[test]
fn shared_subscription_lifetime_mqtt_4_8_2() {
    let mut tree = SubscriptionTree::new();
    let g = filter("$share/g/a/#");
    assert_eq!(tree.subscribe(&g, "first", entry(QoS::AtMostOnce)), None);
    assert_eq!(tree.subscribe(&g, "second", entry(QoS::AtMostOnce)), None);
    assert!(tree
        .subscribe(&g, "second", entry(QoS::AtLeastOnce))
        .is_some());
    assert_eq!(tree.shared_group(&g).unwrap().len(), 2);
    assert!(tree.unsubscribe(&g, &"first").is_some());
    assert_eq!(
        route(&tree, "a/b", QoS::AtLeastOnce)[0].subscriber,
        "second"
    );
    assert!(tree.unsubscribe(&g, &"second").is_some());
    assert!(tree.shared_group(&g).is_none());
    assert!(tree.is_empty());
    assert_eq!(tree.node_count(), 0);
}

// [MQTT-3.3.4-2], [MQTT-3.3.4-3], [MQTT-3.3.4-4]: overlapping subscriptions of one client give
// one copy at the maximum granted QoS with all subscription identifiers.
#[test]
fn overlapping_subscriptions_one_copy_mqtt_3_3_4_2_to_4() {
    let mut tree = SubscriptionTree::new();
    let id = |v| Some(SubscriptionId::new(v).unwrap());
    tree.subscribe(
        &filter("sport/#"),
        "c",
        SubscriptionEntry::new(SubscriptionOptions::qos(QoS::AtMostOnce), id(5)),
    );
    tree.subscribe(
        &filter("sport/+/player1"),
        "c",
        SubscriptionEntry::new(SubscriptionOptions::qos(QoS::ExactlyOnce), id(2)),
    );
    tree.subscribe(
        &filter("sport/tennis/player1"),
        "c",
        entry(QoS::AtLeastOnce),
    );
    // Same identifier on two subscriptions: carried twice (§3.3.4).
    tree.subscribe(
        &filter("+/tennis/#"),
        "c",
        SubscriptionEntry::new(SubscriptionOptions::qos(QoS::AtMostOnce), id(5)),
    );
    let out = route(&tree, "sport/tennis/player1", QoS::ExactlyOnce);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].qos, QoS::ExactlyOnce);
    let ids: Vec<u32> = out[0].subscription_ids.iter().map(|i| i.get()).collect();
    assert_eq!(ids, [2, 5, 5]);
    // The QoS is never above the published one.
    assert_eq!(
        route(&tree, "sport/tennis/player1", QoS::AtLeastOnce)[0].qos,
        QoS::AtLeastOnce
    );
    // Only the subscriptions that match count.
    let out = route(&tree, "sport/golf", QoS::ExactlyOnce);
    assert_eq!(out[0].qos, QoS::AtMostOnce);
    assert_eq!(out[0].subscription_ids, [SubscriptionId::new(5).unwrap()]);
}

// [MQTT-3.8.3-3]: No Local keeps a client's own messages from it, per subscription.
#[test]
fn no_local_mqtt_3_8_3_3() {
    let mut tree = SubscriptionTree::new();
    let no_local = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        no_local: true,
        ..SubscriptionOptions::default()
    };
    tree.subscribe(
        &filter("chat/#"),
        "alice",
        SubscriptionEntry::new(no_local, None),
    );
    tree.subscribe(
        &filter("chat/#"),
        "bob",
        SubscriptionEntry::new(no_local, None),
    );
    let subscribers = |out: Vec<Delivery<&'static str>>| {
        out.into_iter().map(|d| d.subscriber).collect::<Vec<_>>()
    };
    assert_eq!(
        subscribers(route_from(
            &tree,
            "chat/room",
            QoS::AtMostOnce,
            Some("alice")
        )),
        ["bob"]
    );
    assert_eq!(
        subscribers(route_from(&tree, "chat/room", QoS::AtMostOnce, None)),
        ["alice", "bob"]
    );
    // A second, overlapping subscription without No Local still delivers, at its own QoS.
    tree.subscribe(&filter("chat/room"), "alice", entry(QoS::AtMostOnce));
    let out = route_from(&tree, "chat/room", QoS::ExactlyOnce, Some("alice"));
    assert_eq!(subscribers(out.clone()), ["alice", "bob"]);
    assert_eq!(out[0].qos, QoS::AtMostOnce);
    assert_eq!(out[1].qos, QoS::ExactlyOnce);
}

// [MQTT-3.8.4-3]: a subscription with an existing filter replaces the old one.
#[test]
fn resubscribe_replaces_mqtt_3_8_4_3() {
    let mut tree = SubscriptionTree::new();
    let f = filter("a/+");
    assert_eq!(tree.subscribe(&f, "c", entry(QoS::AtMostOnce)), None);
    assert_eq!(
        tree.subscribe(&f, "c", entry(QoS::ExactlyOnce)),
        Some(entry(QoS::AtMostOnce))
    );
    assert_eq!(tree.len(), 1);
    assert_eq!(tree.get(&f, &"c"), Some(&entry(QoS::ExactlyOnce)));
    assert_eq!(
        route(&tree, "a/b", QoS::ExactlyOnce)[0].qos,
        QoS::ExactlyOnce
    );
}

// [MQTT-3.3.1-5]: a retained message replaces the one on its topic; [MQTT-3.3.1-6] and
// [MQTT-3.3.1-7]: an empty payload removes it and is not stored.
#[test]
fn retained_replace_and_delete_mqtt_3_3_1_5_to_7() {
    let mut store = RetainedStore::new();
    assert!(store.set(retained("a/b", b"1", None, 0)).is_none());
    let old = store.set(retained("a/b", b"2", None, 0)).unwrap();
    assert_eq!(old.payload, Bytes::from_static(b"1"));
    assert_eq!(store.len(), 1);
    assert_eq!(
        store.get(&topic("a/b")).unwrap().payload,
        Bytes::from_static(b"2")
    );
    let removed = store.set(retained("a/b", b"", None, 0)).unwrap();
    assert_eq!(removed.payload, Bytes::from_static(b"2"));
    assert!(store.get(&topic("a/b")).is_none());
    assert!(store.set(retained("a/b", b"", None, 0)).is_none());
    assert!(store.is_empty());
    assert_eq!(store.node_count(), 0);
}

// [MQTT-3.3.2-5]: an expired message is not sent on; [MQTT-3.3.2-6]: the interval sent is
// what is left of it.
#[test]
fn retained_expiry_mqtt_3_3_2_5_and_6() {
    let mut store = RetainedStore::new();
    store.set(retained("t/short", b"s", Some(10), 100));
    store.set(retained("t/long", b"l", Some(60), 100));
    store.set(retained("t/forever", b"f", None, 100));
    assert_eq!(store.next_expiry(), Some(110));
    let found = |now| {
        let mut found = Vec::new();
        store.matching(&filter("t/+"), now, |m| {
            found.push((m.topic.to_string(), m.remaining_expiry(now)))
        });
        found
    };
    assert_eq!(
        found(105),
        [
            ("t/forever".to_owned(), None),
            ("t/long".to_owned(), Some(55)),
            ("t/short".to_owned(), Some(5))
        ]
    );
    assert_eq!(found(110).len(), 2);
    assert_eq!(store.remove_expired(110), 1);
    assert_eq!(store.next_expiry(), Some(160));
    assert_eq!(store.len(), 2);
    assert_eq!(store.remove_expired(1_000), 1);
    assert_eq!(store.next_expiry(), None);
    assert_eq!(store.len(), 1);
}
