//! Three `skein` processes on loopback forming a cluster (`[cluster]`, docs/cluster.md), each
//! with its own MQTT and cluster ports, and rumqttc clients on different nodes: a message
//! published on one node reaches a subscriber on another (QoS downgraded, RETAIN as a live
//! message's), also right after its SUBACK; a client id connecting on another node takes its
//! session over from the node that held it; a shared subscription with members on three nodes
//! gets each message once; a node configured for another cluster is refused, and both logs
//! say so.

use std::time::Duration;

use rumqttc::{Packet, QoS};

use crate::support::rumqttc_client::{publish_fields, Client};
use crate::support::{free_port, python_command, run, ConfiguredSkein, PYTHON_TIMEOUT};

/// Subscribe-then-publish rounds; each must deliver. `SKEIN_IT_CLUSTER_ROUNDS` sets another
/// count (docs/cluster.md reports a longer run).
const ROUNDS: usize = 300;
/// How long one round's message may take to arrive before it counts as a miss.
const ROUND_WAIT: Duration = Duration::from_secs(5);

/// One node's ports.
#[derive(Clone, Copy)]
pub(super) struct Ports {
    pub(super) mqtt: u16,
    pub(super) cluster: u16,
}

/// The config of node `name` of cluster `cluster_id`, with `peers` (name, ports).
pub(super) fn config(name: &str, cluster_id: &str, own: Ports, peers: &[(&str, Ports)]) -> String {
    let peers: Vec<String> = peers
        .iter()
        .map(|(peer, ports)| format!("\"{peer}=127.0.0.1:{}\"", ports.cluster))
        .collect();
    format!(
        "[[listener]]\nbind = \"127.0.0.1:{}\"\n\n[storage]\ndurability = \"memory\"\n\n\
         [cluster]\nenabled = true\nnode = \"{name}\"\ncluster_id = \"{cluster_id}\"\n\
         bind = \"127.0.0.1:{}\"\npeers = [{}]\n",
        own.mqtt,
        own.cluster,
        peers.join(", ")
    )
}

pub(super) fn ports() -> Ports {
    Ports {
        mqtt: free_port(),
        cluster: free_port(),
    }
}

/// Starts the nodes `names` of `cluster_ids` (one each), every one a peer of the others.
fn start_cluster(names: &[&str], cluster_ids: &[&str]) -> Vec<(ConfiguredSkein, Ports)> {
    let all: Vec<(&str, Ports)> = names.iter().map(|name| (*name, ports())).collect();
    all.iter()
        .zip(cluster_ids)
        .map(|((name, own), cluster_id)| {
            let peers: Vec<(&str, Ports)> =
                all.iter().filter(|(n, _)| n != name).copied().collect();
            let text = config(name, cluster_id, *own, &peers);
            let node =
                ConfiguredSkein::start(&format!("cluster-{name}"), |_| (text.clone(), own.mqtt));
            (node, *own)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_across_nodes_right_after_the_suback() {
    let nodes = start_cluster(&["a", "b", "c"], &["it", "it", "it"]);
    for (node, _) in &nodes {
        // Each node's route streams to both peers are open.
        node.wait_for_lines(&["Connected to a peer node"], 2);
    }
    let [(a, on_a), (b, on_b), (c, on_c)] = &nodes[..] else {
        unreachable!("three nodes")
    };
    let (mut sub, _) = Client::connect(on_a.mqtt, a.log_path(), "cl-sub", true).await;
    let (mut pub_b, _) = Client::connect(on_b.mqtt, b.log_path(), "cl-pub-b", true).await;
    let (mut pub_c, _) = Client::connect(on_c.mqtt, c.log_path(), "cl-pub-c", true).await;

    // Delivered across nodes, once, with the publisher's QoS downgraded to the subscription's.
    sub.subscribe("cl/first/#", QoS::AtMostOnce).await;
    pub_b.publish_qos1("cl/first/x", b"from b").await;
    let got = publish_fields("cl-sub", sub.next("the message from node b").await);
    assert_eq!(
        got,
        (
            "cl/first/x".to_owned(),
            b"from b".to_vec(),
            QoS::AtMostOnce,
            false
        )
    );
    // A retained message crosses with RETAIN 0: MQTT 3.1.1 subscribers get it so unless it
    // is sent for their new subscription (MQTT-3.3.1-9).
    pub_c
        .publish_qos1_with("cl/first/kept", b"from c", true)
        .await;
    let got = publish_fields("cl-sub", sub.next("the retained message from node c").await);
    assert_eq!(
        got,
        (
            "cl/first/kept".to_owned(),
            b"from c".to_vec(),
            QoS::AtMostOnce,
            false
        )
    );
    sub.expect_nothing(Duration::from_millis(200)).await;

    // A publish on another node right after the SUBACK is delivered: the SUBACK waited until
    // every peer had recorded the route.
    let rounds = std::env::var("SKEIN_IT_CLUSTER_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ROUNDS);
    let mut misses = Vec::new();
    for round in 0..rounds {
        let topic = format!("cl/round/{round}");
        sub.subscribe(&topic, QoS::AtLeastOnce).await;
        let publisher = if round % 2 == 0 {
            &mut pub_b
        } else {
            &mut pub_c
        };
        publisher
            .publish_qos1(&topic, round.to_string().as_bytes())
            .await;
        match sub.next_within(ROUND_WAIT).await {
            Some(Packet::Publish(p)) if p.topic == topic => {}
            other => misses.push((round, format!("{other:?}"))),
        }
    }
    assert!(
        misses.is_empty(),
        "{} of {rounds} rounds missed their message: {misses:?}\n--- node a ---\n{}",
        misses.len(),
        a.log_tail()
    );
    sub.disconnect().await;
    pub_b.disconnect().await;
    pub_c.disconnect().await;
}

/// [MQTT-3.1.4-3] and [MQTT-3.2.2-3] across nodes (issue 16, takeover): a persistent session
/// left on node a, with QoS 1 messages queued for it from node b, resumes on node b with
/// Session Present 1 and its messages in order; connecting the same client id on node a then
/// closes the connection on b and brings the session back to a.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_connecting_on_another_node_takes_its_session_over() {
    let nodes = start_cluster(&["a", "b"], &["it", "it"]);
    for (node, _) in &nodes {
        node.wait_for_lines(&["Connected to a peer node"], 1);
    }
    let [(a, on_a), (b, on_b)] = &nodes[..] else {
        unreachable!("two nodes")
    };
    let (mut mover, present) = Client::connect(on_a.mqtt, a.log_path(), "tk-mover", false).await;
    assert!(!present);
    mover.subscribe("tk/#", QoS::AtLeastOnce).await;
    mover.disconnect().await;
    // Queued on node a: each PUBACK comes once the offline session's queue took the message.
    let (mut local, _) = Client::connect(on_a.mqtt, a.log_path(), "tk-pub-a", true).await;
    for n in 1..=3 {
        local.publish_qos1("tk/x", format!("m{n}").as_bytes()).await;
    }
    local.disconnect().await;
    let (mut publisher, _) = Client::connect(on_b.mqtt, b.log_path(), "tk-pub", true).await;

    let (mut mover, present) = Client::connect(on_b.mqtt, b.log_path(), "tk-mover", false).await;
    assert!(present, "the session came from node a\n{}", a.log_tail());
    for n in 1..=3 {
        let got = publish_fields("tk-mover", mover.next("a queued message").await);
        assert_eq!(
            (got.0.as_str(), got.1),
            ("tk/x", format!("m{n}").into_bytes())
        );
    }
    a.wait_for_log(&["Client tk-mover connected to node b: its session moves there."]);
    // Its subscription moved with it: a message published on b reaches it on b.
    publisher.publish_qos1("tk/y", b"after").await;
    let got = publish_fields("tk-mover", mover.next("the message published after").await);
    assert_eq!(got.1, b"after".to_vec());

    // The same id on node a: the connection on b is closed, the session comes back.
    let (mut back, present) = Client::connect(on_a.mqtt, a.log_path(), "tk-mover", false).await;
    assert!(present);
    mover
        .expect_closed("its client id connected on node a")
        .await;
    publisher.publish_qos1("tk/z", b"back on a").await;
    let got = publish_fields(
        "tk-mover",
        back.next("the message after the move back").await,
    );
    assert_eq!(got.1, b"back on a".to_vec());
    back.disconnect().await;
    publisher.disconnect().await;
}

/// [MQTT-3.1.4-3] across nodes with paho-mqtt (`python/takeover.py` with a second port): an
/// MQTT 5 client id connecting on node b closes its connection on node a with DISCONNECT
/// 0x8E, resumes the session there with Session Present 1, and its subscription delivers on
/// node b.
#[tokio::test]
async fn paho_v5_takeover_across_nodes_disconnect_0x8e_mqtt_3_1_4_3() {
    let nodes = start_cluster(&["a", "b"], &["it", "it"]);
    for (node, _) in &nodes {
        node.wait_for_lines(&["Connected to a peer node"], 1);
    }
    let [(a, on_a), (b, on_b)] = &nodes[..] else {
        unreachable!("two nodes")
    };
    let other = on_b.mqtt.to_string();
    let finished = run(
        python_command("takeover.py", on_a.mqtt, &["5", &other]),
        PYTHON_TIMEOUT,
    );
    assert!(
        finished.success(),
        "takeover.py across nodes failed: {}\n--- node a ---\n{}\n--- node b ---\n{}",
        finished.describe(),
        a.log_tail(),
        b.log_tail()
    );
}

/// MQTT 5.0 §4.8.2 ([MQTT-4.8.2-1]) across nodes: a shared subscription with a member on each
/// of three nodes gets each message published on any node exactly once, cluster-wide; a plain
/// subscriber beside a member gets every message once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_group_across_three_nodes_gets_each_message_once() {
    const MESSAGES: usize = 30;
    let nodes = start_cluster(&["a", "b", "c"], &["it", "it", "it"]);
    for (node, _) in &nodes {
        node.wait_for_lines(&["Connected to a peer node"], 2);
    }
    let mut members = Vec::new();
    for (i, (node, ports)) in nodes.iter().enumerate() {
        let id = format!("sh-member-{i}");
        let (mut member, _) = Client::connect(ports.mqtt, node.log_path(), &id, true).await;
        member
            .subscribe("$share/workers/sh/#", QoS::AtLeastOnce)
            .await;
        members.push(member);
    }
    let (b, on_b) = &nodes[1];
    let (mut plain, _) = Client::connect(on_b.mqtt, b.log_path(), "sh-plain", true).await;
    plain.subscribe("sh/#", QoS::AtLeastOnce).await;
    let mut publishers = Vec::new();
    for (i, (node, ports)) in nodes.iter().enumerate() {
        let id = format!("sh-pub-{i}");
        publishers.push(
            Client::connect(ports.mqtt, node.log_path(), &id, true)
                .await
                .0,
        );
    }
    for n in 0..MESSAGES {
        let publisher = &mut publishers[n % 3];
        publisher
            .publish_qos1("sh/job", n.to_string().as_bytes())
            .await;
    }
    // Every message once to the plain subscriber: then every copy for the group has left.
    let mut plain_got = Vec::new();
    for _ in 0..MESSAGES {
        plain_got.push(publish_fields("sh-plain", plain.next("a message").await).1);
    }
    plain.expect_nothing(Duration::from_millis(300)).await;
    let mut group_got: Vec<Vec<u8>> = Vec::new();
    let mut per_member = Vec::new();
    for (i, member) in members.iter_mut().enumerate() {
        let mut got = 0;
        while let Some(packet) = member.next_within(Duration::from_millis(500)).await {
            if let Packet::Publish(publish) = packet {
                group_got.push(publish.payload.to_vec());
                got += 1;
            } else {
                panic!("member {i}: {packet:?}");
            }
        }
        per_member.push(got);
    }
    let mut expected: Vec<Vec<u8>> = (0..MESSAGES).map(|n| n.to_string().into_bytes()).collect();
    expected.sort();
    group_got.sort();
    plain_got.sort();
    assert_eq!(plain_got, expected, "the plain subscriber");
    assert_eq!(
        group_got, expected,
        "the group, cluster-wide (per member: {per_member:?})"
    );
    assert!(
        per_member.iter().filter(|&&n| n > 0).count() >= 2,
        "the group's messages went to one node only: {per_member:?}"
    );
}

#[tokio::test]
async fn a_node_of_another_cluster_is_refused_with_a_log_line() {
    let nodes = start_cluster(&["a", "b"], &["blue", "green"]);
    let [(a, _), (b, _)] = &nodes[..] else {
        unreachable!("two nodes")
    };
    let refused = a.wait_for_log(&["Refused a cluster request", "\"green\""]);
    assert!(refused.contains("\"blue\""), "{refused}");
    b.wait_for_log(&["Cannot reach a peer node", "refused by cluster node a"]);
    assert!(
        !a.log().contains("Connected to a peer node")
            && !b.log().contains("Connected to a peer node"),
        "the nodes linked across clusters:\n{}\n{}",
        a.log_tail(),
        b.log_tail()
    );
}
