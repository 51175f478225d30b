//! A real Mosquitto bridge (Debian's `mosquitto`) connecting in: an edge Mosquitto bridges
//! `both/#` both ways into `skein`, with its defaults (`try_private true`: protocol level
//! 0x84, MQTT 3.1.1 with the bridge bit). Skein accepts it as Mosquitto does: messages flow
//! both ways, a message the bridge brought is not sent back to it (the edge's subscriber gets
//! it once), and a retained message keeps its retain flag on the way to the bridge (the edge
//! stores it, and a later edge subscriber gets it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rumqttc::QoS;

use crate::support::rumqttc_client::{publish_fields, Client};
use crate::support::{free_port, require_program, scratch_dir, ConfiguredSkein, Running};

/// The edge Mosquitto, stopped (by its PID) when the test ends.
struct Edge {
    running: Option<Running>,
    port: u16,
    log: PathBuf,
}

impl Edge {
    /// Starts `mosquitto -c` with a listener on a free port and a bridge to skein's `port`.
    fn start(skein_port: u16) -> Edge {
        require_program("mosquitto", &["-h"], "mosquitto (Debian package mosquitto)");
        let dir = scratch_dir("bridge-edge");
        let port = free_port();
        let log = dir.join("mosquitto.log");
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n\
                 log_dest file {}\nlog_type all\n\
                 connection skein\naddress 127.0.0.1:{skein_port}\n\
                 remote_clientid edge-bridge\ntopic both/# both 1\n\
                 bridge_protocol_version mqttv311\ncleansession true\n\
                 notifications false\nrestart_timeout 1\n",
                log.display()
            ),
        )
        .unwrap();
        let mut command = Command::new("mosquitto");
        command.arg("-c").arg(&conf);
        Edge {
            running: Some(Running::start(command)),
            port,
            log,
        }
    }

    fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Edge {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.terminate();
            let _ = running.finish(Duration::from_secs(5));
        }
    }
}

#[tokio::test]
async fn a_mosquitto_bridge_connects_in_and_gets_neither_its_own_messages_nor_cleared_retain_flags()
{
    let mut skein_port = 0;
    let skein = ConfiguredSkein::start("bridge-in", |_| {
        skein_port = free_port();
        (
            format!(
                "[[listener]]\nbind = \"127.0.0.1:{skein_port}\"\n[storage]\ndurability = \"memory\"\n"
            ),
            skein_port,
        )
    });
    let edge = Edge::start(skein_port);
    // Connected with its private level.
    skein.wait_for_log(&["as edge-bridge (p4, c1,", ", bridge)."]);

    let (mut cloud, _) = Client::connect(skein_port, skein.log_path(), "cloud-sub", true).await;
    cloud.subscribe("both/#", QoS::AtLeastOnce).await;
    let (mut edge_sub, _) = Client::connect(edge.port, edge.log_path(), "edge-sub", true).await;
    edge_sub.subscribe("both/#", QoS::AtLeastOnce).await;

    // Edge to cloud.
    let (mut edge_pub, _) = Client::connect(edge.port, edge.log_path(), "edge-pub", true).await;
    edge_pub.publish_qos1("both/up", b"from-edge").await;
    let (topic, payload, ..) = publish_fields("cloud-sub", cloud.next("the edge's message").await);
    assert_eq!(
        (topic.as_str(), &payload[..]),
        ("both/up", &b"from-edge"[..])
    );
    let (topic, ..) = publish_fields("edge-sub", edge_sub.next("its local copy").await);
    assert_eq!(topic, "both/up");

    // Cloud to edge; a retained message keeps its flag on the way to the bridge.
    let (mut cloud_pub, _) = Client::connect(skein_port, skein.log_path(), "cloud-pub", true).await;
    cloud_pub.publish_qos1("both/down", b"from-cloud").await;
    cloud_pub
        .publish_qos1_with("both/kept", b"retained", true)
        .await;
    for expected in ["both/down", "both/kept"] {
        let (topic, ..) = publish_fields("edge-sub", edge_sub.next(expected).await);
        // Not both/up again: skein did not send the bridge its own message back.
        assert_eq!(topic, expected, "{}", skein.log_tail());
    }
    edge_sub.expect_nothing(Duration::from_millis(500)).await;
    // The edge stored it as retained: a new edge subscriber gets it, flagged.
    let (mut late, _) = Client::connect(edge.port, edge.log_path(), "edge-late", true).await;
    late.subscribe("both/kept", QoS::AtLeastOnce).await;
    let (topic, payload, _, retain) =
        publish_fields("edge-late", late.next("the retained message").await);
    assert_eq!(
        (topic.as_str(), &payload[..]),
        ("both/kept", &b"retained"[..])
    );
    assert!(retain);

    for client in [cloud, edge_sub, edge_pub, cloud_pub, late] {
        client.disconnect().await;
    }
}
