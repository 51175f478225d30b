//! Unit tests of [`InboundAliases`], [`OutboundAliases`] and [`AliasUse`].

use bytes::Bytes;

use super::*;

fn topic(name: &str) -> TopicName {
    TopicName::new(name).unwrap()
}

fn alias(value: u16) -> TopicAlias {
    TopicAlias::new(value).unwrap()
}

fn publish(name: Option<&str>, a: Option<u16>) -> Publish {
    let mut p = Publish::new(topic("placeholder"), Bytes::new());
    p.topic = name.map(topic);
    p.properties.topic_alias = a.map(alias);
    p
}

#[test]
fn inbound_alias_above_maximum_is_0x94_mqtt_3_3_2_9() {
    // [MQTT-3.3.2-9] broken by the client; §3.3.4: DISCONNECT 0x94.
    let mut map = InboundAliases::new(2);
    let err = map.resolve(&mut publish(Some("a"), Some(3))).unwrap_err();
    assert_eq!(
        err,
        AliasError::AboveMaximum {
            alias: 3,
            maximum: 2
        }
    );
    assert_eq!(err.reason_code(), ReasonCode::TopicAliasInvalid);
    assert_eq!(err.statement(), Some("MQTT-3.3.2-9"));
    // Maximum 0 (absent): no alias at all, [MQTT-3.2.2-18].
    let mut none = InboundAliases::new(0);
    let err = none.resolve(&mut publish(Some("a"), Some(1))).unwrap_err();
    assert_eq!(err.reason_code().get(), 0x94);
}

#[test]
fn inbound_aliases_up_to_the_maximum_are_accepted_mqtt_3_3_2_12() {
    let mut map = InboundAliases::new(2);
    for a in 1..=2 {
        let mut p = publish(Some("t"), Some(a));
        map.resolve(&mut p).unwrap();
        assert_eq!(p.properties.topic_alias, None);
        assert_eq!(p.topic, Some(topic("t")));
    }
    assert_eq!(map.len(), 2);
}

#[test]
fn inbound_alias_sets_uses_and_replaces_a_mapping() {
    let mut map = InboundAliases::new(5);
    map.resolve(&mut publish(Some("a/b"), Some(1))).unwrap();
    let mut p = publish(None, Some(1));
    map.resolve(&mut p).unwrap();
    assert_eq!(p.topic, Some(topic("a/b")));
    assert_eq!(p.properties.topic_alias, None);
    // A new name with the same alias replaces the mapping (§3.3.4 2b).
    map.resolve(&mut publish(Some("c"), Some(1))).unwrap();
    let mut p = publish(None, Some(1));
    map.resolve(&mut p).unwrap();
    assert_eq!(p.topic, Some(topic("c")));
    assert_eq!(map.get(alias(1)), Some(&topic("c")));
}

#[test]
fn inbound_unmapped_alias_is_0x82() {
    // §3.3.4 3a: empty topic name and no mapping -> Protocol Error.
    let mut map = InboundAliases::new(5);
    let err = map.resolve(&mut publish(None, Some(4))).unwrap_err();
    assert_eq!(err, AliasError::Unmapped(4));
    assert_eq!(err.reason_code(), ReasonCode::ProtocolError);
    let err = map.resolve(&mut publish(None, None)).unwrap_err();
    assert_eq!(err.reason_code().get(), 0x82);
    // A name without alias passes untouched.
    let mut p = publish(Some("x"), None);
    map.resolve(&mut p).unwrap();
    assert_eq!(p.topic, Some(topic("x")));
    assert!(map.is_empty());
}

#[test]
fn inbound_map_copies_the_topic() {
    let mut map = InboundAliases::new(1);
    let p = &mut publish(Some("shared/buffer"), Some(1));
    map.resolve(p).unwrap();
    let kept = map.get(alias(1)).unwrap();
    assert_ne!(kept.as_ptr(), p.topic.as_ref().unwrap().as_ptr());
}

#[test]
fn outbound_no_aliases_when_maximum_is_0_mqtt_3_1_2_27() {
    let mut map = OutboundAliases::new(0);
    assert_eq!(map.choose(&topic("long/a")), AliasUse::NameOnly);
    assert_eq!(map.choose(&topic("long/a")), AliasUse::NameOnly);
    assert!(map.is_empty());
}

#[test]
fn outbound_short_topics_go_by_name() {
    let mut map = OutboundAliases::new(5);
    assert_eq!(map.choose(&topic("a/b")), AliasUse::NameOnly);
    assert_eq!(map.choose(&topic("a/bc")), AliasUse::NameAndAlias(alias(1)));
    assert_eq!(map.len(), 1);
}

#[test]
fn outbound_name_then_alias_only() {
    let mut map = OutboundAliases::new(2);
    assert_eq!(
        map.choose(&topic("long/a")),
        AliasUse::NameAndAlias(alias(1))
    );
    assert_eq!(map.choose(&topic("long/a")), AliasUse::AliasOnly(alias(1)));
    assert_eq!(
        map.choose(&topic("long/b")),
        AliasUse::NameAndAlias(alias(2))
    );
    assert_eq!(map.get(&topic("long/b")), Some(alias(2)));
}

#[test]
fn outbound_lru_replacement_stays_within_maximum_mqtt_3_3_2_11() {
    // [MQTT-3.3.2-11]: never an alias above the client's maximum.
    let mut map = OutboundAliases::new(2);
    map.choose(&topic("long/a")); // 1
    map.choose(&topic("long/b")); // 2
    map.choose(&topic("long/a")); // a used last: b is the LRU
    assert_eq!(
        map.choose(&topic("long/c")),
        AliasUse::NameAndAlias(alias(2))
    );
    assert_eq!(map.get(&topic("long/b")), None);
    assert_eq!(map.choose(&topic("long/a")), AliasUse::AliasOnly(alias(1)));
    // Now c is the LRU.
    assert_eq!(
        map.choose(&topic("long/b")),
        AliasUse::NameAndAlias(alias(2))
    );
    assert_eq!(map.len(), 2);
}

#[test]
fn outbound_forget_frees_the_alias() {
    let mut map = OutboundAliases::new(1);
    assert_eq!(
        map.choose(&topic("long/a")),
        AliasUse::NameAndAlias(alias(1))
    );
    assert!(map.forget(alias(1)));
    assert!(!map.forget(alias(1)));
    // The client never learnt it: the name goes again.
    assert_eq!(
        map.choose(&topic("long/a")),
        AliasUse::NameAndAlias(alias(1))
    );
}

#[test]
fn alias_use_apply() {
    let mut p = publish(Some("a"), None);
    AliasUse::NameAndAlias(alias(3)).apply(&mut p);
    assert_eq!(p.topic, Some(topic("a")));
    assert_eq!(p.properties.topic_alias, Some(alias(3)));
    AliasUse::AliasOnly(alias(3)).apply(&mut p);
    assert_eq!(p.topic, None);
    assert_eq!(p.properties.topic_alias, Some(alias(3)));
    let mut q = publish(Some("a"), Some(1));
    AliasUse::NameOnly.apply(&mut q);
    assert_eq!(q.properties.topic_alias, None);
}
