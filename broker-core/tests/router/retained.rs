//! The retained store: what a new subscription finds, pruning, expiry and deep topics.

use broker_core::router::{RetainedMessage, RetainedStore};
use broker_core::types::{QoS, TopicFilter, TopicName};
use bytes::Bytes;

fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).unwrap()
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

fn message(t: &str, expiry: Option<u32>, at: u64) -> RetainedMessage {
    let mut m = RetainedMessage::new(
        topic(t),
        Bytes::copy_from_slice(t.as_bytes()),
        QoS::AtLeastOnce,
        Default::default(),
        at,
    );
    m.properties.message_expiry_interval = expiry;
    m
}

fn store(topics: &[&str]) -> RetainedStore {
    let mut store = RetainedStore::new();
    for t in topics {
        store.set(message(t, None, 0));
    }
    store
}

fn found(store: &RetainedStore, f: &str) -> Vec<String> {
    let mut found = Vec::new();
    store.matching(&filter(f), 0, |m| found.push(m.topic.to_string()));
    found
}

const TOPICS: &[&str] = &[
    "sport",
    "sport/tennis",
    "sport/tennis/player1",
    "sport/tennis/player2",
    "sport/golf/player1",
    "sport/",
    "/finance",
    "$SYS/uptime",
    "$SYS",
    "a//b",
];

#[test]
fn matching_in_topic_level_order() {
    let s = store(TOPICS);
    assert_eq!(
        found(&s, "sport/#"),
        [
            "sport",
            "sport/",
            "sport/golf/player1",
            "sport/tennis",
            "sport/tennis/player1",
            "sport/tennis/player2"
        ]
    );
    assert_eq!(
        found(&s, "sport/+/player1"),
        ["sport/golf/player1", "sport/tennis/player1"]
    );
    assert_eq!(found(&s, "sport/+"), ["sport/", "sport/tennis"]);
    assert_eq!(found(&s, "+/+"), ["/finance", "sport/", "sport/tennis"]);
    assert_eq!(found(&s, "a/+/b"), ["a//b"]);
    assert_eq!(found(&s, "sport/tennis/player1"), ["sport/tennis/player1"]);
    assert_eq!(found(&s, "nothing/#"), Vec::<String>::new());
}

#[test]
fn dollar_topics_need_a_literal_first_level_mqtt_4_7_2_1() {
    let s = store(TOPICS);
    let all = found(&s, "#");
    assert_eq!(all.len(), TOPICS.len() - 2);
    assert!(all.iter().all(|t| !t.starts_with('$')));
    assert_eq!(found(&s, "+"), ["sport"]);
    assert_eq!(found(&s, "$SYS/#"), ["$SYS", "$SYS/uptime"]);
    assert_eq!(found(&s, "$SYS/+"), ["$SYS/uptime"]);
    // A shared filter matches on its matching part, $-rule included.
    assert_eq!(found(&s, "$share/g/$SYS"), ["$SYS"]);
    assert_eq!(found(&s, "$share/g/#").len(), TOPICS.len() - 2);
}

#[test]
fn remove_prunes_only_empty_branches() {
    let mut s = store(&["a/b/c/d", "a/b", "a/x"]);
    assert_eq!(s.node_count(), 5);
    assert!(s.remove(&topic("a/b/c/d")).is_some());
    assert_eq!(s.node_count(), 3);
    assert!(s.remove(&topic("a/b/c/d")).is_none());
    assert!(s.remove(&topic("a/b/c")).is_none());
    assert!(
        s.remove(&topic("a")).is_none(),
        "an inner node without a message"
    );
    assert_eq!(s.len(), 2);
    assert!(s.remove(&topic("a/b")).is_some());
    assert_eq!(s.node_count(), 2);
    // An inner node loses its message but keeps its children.
    s.set(message("a", None, 0));
    assert!(s.remove(&topic("a")).is_some());
    assert_eq!(found(&s, "#"), ["a/x"]);
    assert!(s.remove(&topic("a/x")).is_some());
    assert_eq!(s.node_count(), 0);
    assert!(s.is_empty());
}

#[test]
fn replacing_keeps_the_expiry_index_right() {
    let mut s = RetainedStore::new();
    s.set(message("t", Some(10), 0));
    // Same topic, same expiry time: the index must still know it.
    s.set(message("t", Some(10), 0));
    assert_eq!(s.next_expiry(), Some(10));
    // Replaced by a message that does not expire: nothing left to expire.
    s.set(message("t", None, 5));
    assert_eq!(s.next_expiry(), None);
    assert_eq!(s.remove_expired(100), 0);
    assert_eq!(s.len(), 1);
    // Removed by an empty payload: the index forgets it too.
    s.set(message("u", Some(3), 0));
    let mut empty = message("u", None, 1);
    empty.payload = Bytes::new();
    assert!(s.set(empty).is_some());
    assert_eq!(s.next_expiry(), None);
}

#[test]
fn expired_messages_are_skipped_then_removed() {
    let mut s = RetainedStore::new();
    for (i, t) in ["e/1", "e/2", "e/3"].into_iter().enumerate() {
        s.set(message(t, Some(10 * (i as u32 + 1)), 0));
    }
    let mut seen = Vec::new();
    s.matching(&filter("e/#"), 20, |m| seen.push(m.topic.to_string()));
    assert_eq!(seen, ["e/3"]);
    assert_eq!(s.len(), 3, "matching does not remove");
    assert!(s.get(&topic("e/1")).is_some());
    assert_eq!(s.remove_expired(19), 1);
    assert_eq!(s.remove_expired(20), 1);
    assert_eq!(s.next_expiry(), Some(30));
    assert_eq!(s.remove_expired(30), 1);
    assert_eq!(s.node_count(), 0);
}

#[test]
fn for_each_visits_everything_in_order() {
    let s = store(TOPICS);
    let mut all = Vec::new();
    s.for_each(|m| all.push(m.topic.to_string()));
    let mut expected: Vec<String> = TOPICS.iter().map(|t| t.to_string()).collect();
    expected.sort_unstable_by(|a, b| a.split('/').cmp(b.split('/')));
    assert_eq!(all, expected);
}

#[test]
fn deep_topics_neither_recurse_nor_leak() {
    let deep = "/".repeat(65_534);
    let mut s = RetainedStore::new();
    s.set(message(&deep, None, 0));
    s.set(message(&("x/".repeat(32_767) + "x"), None, 0));
    assert_eq!(found(&s, "#").len(), 2);
    assert_eq!(found(&s, &("+/".repeat(32_767) + "+")).len(), 1);
    assert!(s.remove(&topic(&deep)).is_some());
    assert!(s.node_count() > 32_000);
    drop(s);
}
