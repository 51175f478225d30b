//! The subscription tree as the session layer uses it: subscribe, unsubscribe, route, find a
//! shared group again; pruning, deep filters and deterministic output.

use broker_core::codec::SubscriptionOptions;
use broker_core::router::{Delivery, Match, SubscriptionEntry, SubscriptionTree};
use broker_core::types::{QoS, SubscriptionId, TopicFilter, TopicName};

fn filter(s: &str) -> TopicFilter {
    TopicFilter::new(s).unwrap()
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

fn entry(qos: QoS, id: Option<u32>) -> SubscriptionEntry {
    SubscriptionEntry::new(
        SubscriptionOptions::qos(qos),
        id.map(|v| SubscriptionId::new(v).unwrap()),
    )
}

fn route(tree: &SubscriptionTree<u32>, t: &str) -> Vec<Delivery<u32>> {
    let mut out = Vec::new();
    tree.route(&topic(t), QoS::ExactlyOnce, None, |_| true, &mut out);
    out
}

fn subscribers(out: &[Delivery<u32>]) -> Vec<u32> {
    out.iter().map(|d| d.subscriber).collect()
}

#[test]
fn unsubscribe_prunes_only_empty_branches() {
    let mut tree = SubscriptionTree::new();
    let e = entry(QoS::AtMostOnce, None);
    tree.subscribe(&filter("a/b/c/d"), 1, e);
    assert_eq!(tree.node_count(), 4);
    tree.subscribe(&filter("a/b"), 1, e);
    tree.subscribe(&filter("a/+/x"), 2, e);
    tree.subscribe(&filter("a/b/#"), 3, e);
    assert_eq!(tree.node_count(), 6);

    // "a/b" still holds a subscription: only "c/d" goes.
    assert!(tree.unsubscribe(&filter("a/b/c/d"), &1).is_some());
    assert_eq!(tree.node_count(), 4);
    // Nothing there: nothing changes.
    assert!(tree.unsubscribe(&filter("a/b/c/d"), &1).is_none());
    assert!(tree.unsubscribe(&filter("a/b"), &2).is_none());
    assert!(tree.unsubscribe(&filter("x/y"), &1).is_none());
    assert_eq!(tree.len(), 3);
    // "a/b" keeps its `#` subscribers.
    assert!(tree.unsubscribe(&filter("a/b"), &1).is_some());
    assert_eq!(tree.node_count(), 4);
    assert!(tree.unsubscribe(&filter("a/b/#"), &3).is_some());
    assert_eq!(tree.node_count(), 3);
    assert!(tree.unsubscribe(&filter("a/+/x"), &2).is_some());
    assert_eq!(tree.node_count(), 0);
    assert!(tree.is_empty());
}

#[test]
fn root_level_wildcards_and_empty_levels() {
    let mut tree = SubscriptionTree::new();
    let e = entry(QoS::AtMostOnce, None);
    for (i, f) in ["#", "+", "/", "//", "+/+", "/#"].into_iter().enumerate() {
        tree.subscribe(&filter(f), i as u32, e);
    }
    assert_eq!(subscribers(&route(&tree, "a")), [0, 1]);
    assert_eq!(subscribers(&route(&tree, "/")), [0, 2, 4, 5]);
    assert_eq!(subscribers(&route(&tree, "//")), [0, 3, 5]);
    assert_eq!(subscribers(&route(&tree, "$x")), Vec::<u32>::new());
    for (i, f) in ["#", "+", "/", "//", "+/+", "/#"].into_iter().enumerate() {
        assert!(tree.unsubscribe(&filter(f), &(i as u32)).is_some(), "{f}");
    }
    assert_eq!(tree.node_count(), 0);
}

#[test]
fn for_each_match_reports_shared_groups_once() {
    let mut tree = SubscriptionTree::new();
    let e = entry(QoS::AtMostOnce, None);
    for member in 0..5 {
        tree.subscribe(&filter("$share/g/a/#"), member, e);
    }
    tree.subscribe(&filter("a/b"), 9, e);
    tree.subscribe(&filter("+/b"), 9, e);
    let (mut plain, mut groups) = (Vec::new(), Vec::new());
    tree.for_each_match(&topic("a/b"), |m| match m {
        Match::Subscription { subscriber, .. } => plain.push(*subscriber),
        Match::Shared(group) => groups.push((group.filter().to_string(), group.len())),
    });
    assert_eq!(plain, [9, 9], "one report per matching subscription");
    assert_eq!(groups, [("$share/g/a/#".to_owned(), 5)]);
}

#[test]
fn shared_route_skips_members_that_cannot_receive_and_hands_over() {
    let mut tree = SubscriptionTree::new();
    let g = filter("$share/workers/jobs/+");
    for member in [1, 2, 3] {
        tree.subscribe(&g, member, entry(QoS::AtLeastOnce, Some(member)));
    }
    let mut out = Vec::new();
    let mut chosen = Vec::new();
    for _ in 0..4 {
        tree.route(
            &topic("jobs/7"),
            QoS::AtLeastOnce,
            None,
            |m| *m != 2,
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].shared.as_ref(), Some(&g));
        // The member's own subscription identifier comes with its copy.
        assert_eq!(
            out[0].subscription_ids,
            [SubscriptionId::new(out[0].subscriber).unwrap()]
        );
        chosen.push(out[0].subscriber);
    }
    assert_eq!(chosen, [1, 3, 1, 3]);

    // Member 1 leaves with a message in flight: the session finds the group again from the
    // delivery and hands the message to another member.
    let group = tree.shared_group(out[0].shared.as_ref().unwrap()).unwrap();
    for _ in 0..3 {
        let (next, _) = group.pick_excluding(&1, |_| true).unwrap();
        assert_ne!(*next, 1);
    }
    assert!(tree.shared_group(&filter("$share/other/jobs/+")).is_none());
    assert!(tree.shared_group(&filter("jobs/+")).is_none());
}

#[test]
fn same_share_name_different_filters_are_distinct_groups() {
    let mut tree = SubscriptionTree::new();
    let e = entry(QoS::AtMostOnce, None);
    tree.subscribe(&filter("$share/g/a/+"), 1, e);
    tree.subscribe(&filter("$share/g/a/#"), 1, e);
    tree.subscribe(&filter("$share/h/a/+"), 1, e);
    tree.subscribe(&filter("a/+"), 1, e);
    let out = route(&tree, "a/b");
    let shared: Vec<_> = out
        .iter()
        .map(|d| d.shared.as_ref().map(|f| f.to_string()))
        .collect();
    assert_eq!(
        shared,
        [
            None,
            Some("$share/g/a/#".to_owned()),
            Some("$share/g/a/+".to_owned()),
            Some("$share/h/a/+".to_owned())
        ]
    );
    assert_eq!(tree.len(), 4);
}

#[test]
fn route_output_is_sorted_and_reuses_the_buffer() {
    let mut tree = SubscriptionTree::new();
    let e = entry(QoS::AtMostOnce, None);
    for s in [5, 3, 9, 1] {
        tree.subscribe(&filter("t/#"), s, e);
        tree.subscribe(&filter("t/x"), s + 100, e);
    }
    let mut out = Vec::new();
    tree.route(&topic("t/x"), QoS::AtMostOnce, None, |_| true, &mut out);
    assert_eq!(subscribers(&out), [1, 3, 5, 9, 101, 103, 105, 109]);
    tree.route(&topic("t/y"), QoS::AtMostOnce, None, |_| true, &mut out);
    assert_eq!(subscribers(&out), [1, 3, 5, 9]);
    tree.route(&topic("u"), QoS::AtMostOnce, None, |_| true, &mut out);
    assert!(out.is_empty());
}

#[test]
fn for_each_subscription_lists_full_filters() {
    let mut tree = SubscriptionTree::new();
    let filters = [
        "#",
        "+",
        "a",
        "a/#",
        "a/+/c",
        "/",
        "//#",
        "/+/",
        "$SYS/#",
        "$share/g/a/+/c",
        "$share/g/#",
        "$share/h//",
    ];
    for (i, f) in filters.iter().enumerate() {
        tree.subscribe(
            &filter(f),
            i as u32,
            entry(QoS::AtMostOnce, Some(i as u32 + 1)),
        );
    }
    let mut listed = Vec::new();
    tree.for_each_subscription(|f, s, e| {
        assert_eq!(e.id.unwrap().get(), s + 1);
        listed.push((f.to_owned(), *s));
    });
    listed.sort_unstable_by_key(|(_, s)| *s);
    let expected: Vec<_> = filters
        .iter()
        .enumerate()
        .map(|(i, f)| (f.to_string(), i as u32))
        .collect();
    assert_eq!(listed, expected);
}

#[test]
fn deep_filters_neither_recurse_nor_leak() {
    // 65,535 bytes: the longest filter, 32,768 levels.
    let deep = "a/".repeat(32_767) + "#";
    let deep_topic = "a/".repeat(32_767) + "a";
    let empty_levels = "/".repeat(65_534);
    let mut tree = SubscriptionTree::new();
    let e = entry(QoS::AtMostOnce, None);
    tree.subscribe(&filter(&deep), 1, e);
    tree.subscribe(&filter(&empty_levels), 2, e);
    tree.subscribe(&filter(&("+/".repeat(32_767) + "+")), 3, e);
    assert_eq!(subscribers(&route(&tree, &deep_topic)), [1, 3]);
    assert_eq!(subscribers(&route(&tree, &empty_levels)), [2]);
    assert!(tree.unsubscribe(&filter(&deep), &1).is_some());
    assert!(tree.node_count() > 32_000);
    // Dropping the tree must not overflow the stack either.
    drop(tree);
}

#[test]
fn the_router_can_be_shared_between_tasks() {
    fn shareable<T: Send + Sync>() {}
    shareable::<SubscriptionTree<String>>();
    shareable::<broker_core::router::RetainedStore>();
    shareable::<Delivery<String>>();
}
