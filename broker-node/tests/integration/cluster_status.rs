//! `skein cluster status` and `GET /api/v1/cluster` on two `skein` processes that find each
//! other by DNS (`discovery = "dns"`, `dns_name = "localhost"`: through /etc/hosts, no DNS
//! server; each node resolves the name on the other's cluster port, since both share
//! 127.0.0.1): each shows the other connected under its node name, with its incarnation, and
//! the routes it announced. A node outside a cluster answers 404, and the command exits 1.

use std::process::Command;
use std::time::Duration;

use rumqttc::QoS;
use serde_json::Value;

use crate::support::admin_skein::{AdminSkein, TOKEN};
use crate::support::rumqttc_client::Client;
use crate::support::{free_port, run, ConfiguredSkein, Finished};

/// One node's ports.
#[derive(Clone, Copy)]
struct Ports {
    mqtt: u16,
    cluster: u16,
    admin: u16,
    metrics: u16,
}

fn ports() -> Ports {
    Ports {
        mqtt: free_port(),
        cluster: free_port(),
        admin: free_port(),
        metrics: free_port(),
    }
}

/// Node `name`, finding its peer as `localhost` on `peer_cluster_port`.
fn start(name: &str, own: Ports, peer_cluster_port: u16) -> ConfiguredSkein {
    let text = format!(
        "[[listener]]\nbind = \"127.0.0.1:{}\"\n\n[storage]\ndurability = \"memory\"\n\n\
         [admin]\nbind = \"127.0.0.1:{}\"\ntoken = \"{TOKEN}\"\n\n\
         [metrics]\nbind = \"127.0.0.1:{}\"\n\n\
         [cluster]\nenabled = true\nnode = \"{name}\"\ncluster_id = \"it-dns\"\n\
         bind = \"127.0.0.1:{}\"\ndiscovery = \"dns\"\ndns_name = \"localhost\"\n\
         dns_port = {peer_cluster_port}\ndns_interval = \"1s\"\n",
        own.mqtt, own.admin, own.metrics, own.cluster
    );
    ConfiguredSkein::start(&format!("cluster-status-{name}"), |_| {
        (text.clone(), own.mqtt)
    })
}

/// `skein cluster status --url ... args...`.
fn cluster_status(admin_port: u16, args: &[&str]) -> Finished {
    let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
    command
        .args(["cluster", "status", "--url"])
        .arg(format!("http://127.0.0.1:{admin_port}"))
        .args(["--token", TOKEN])
        .args(args)
        .env_remove("SKEIN_ADMIN_TOKEN");
    run(command, Duration::from_secs(30))
}

/// The JSON status of the node whose admin port is `admin_port`.
fn status_json(admin_port: u16) -> Value {
    let finished = cluster_status(admin_port, &["--json"]);
    assert!(finished.success(), "{}", finished.describe());
    serde_json::from_str(&finished.stdout).unwrap_or_else(|e| panic!("{e}: {}", finished.stdout))
}

/// Polls the status of `admin_port` (every 100 ms, 30 s at most) until `done` holds for it;
/// returns the last one.
async fn status_until(admin_port: u16, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..300 {
        let status = status_json(admin_port);
        if done(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status_json(admin_port)
}

/// Scrapes `metrics_port` until its exposition has every line of `wanted` (every 100 ms, 30 s
/// at most); returns the last one.
async fn scrape_until(metrics_port: u16, wanted: &[&str]) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let mut body = String::new();
    for _ in 0..300 {
        body = agent
            .get(&url)
            .call()
            .and_then(|mut response| response.body_mut().read_to_string())
            .unwrap_or_else(|error| format!("{error}"));
        if wanted.iter().all(|line| body.lines().any(|l| l == *line)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    body
}

/// Whether `status` shows exactly one peer, `name`, connected, with `routes` routes.
fn shows_connected(status: &Value, name: &str, routes: u64) -> bool {
    let peers = status["peers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    matches!(peers, [peer] if peer["name"] == name
        && peer["state"] == "connected"
        && peer["routes"] == routes
        && peer["route_lag"] == 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_found_by_dns_show_each_other_connected() {
    let (on_a, on_b) = (ports(), ports());
    let a = start("skein-0", on_a, on_b.cluster);
    let b = start("skein-1", on_b, on_a.cluster);
    a.wait_for_log(&["Discovered a peer node", "skein-1"]);
    b.wait_for_log(&["Discovered a peer node", "skein-0"]);

    let status = status_until(on_a.admin, |s| shows_connected(s, "skein-1", 0)).await;
    assert!(
        shows_connected(&status, "skein-1", 0),
        "{status:#}\n--- skein-0 ---\n{}",
        a.log_tail()
    );
    assert_eq!(status["node"], "skein-0");
    assert_eq!(status["cluster_id"], "it-dns");
    assert_eq!(status["discovery"]["kind"], "dns");
    assert_eq!(status["discovery"]["records"], "a");
    assert_eq!(status["discovery"]["name"], "localhost");
    assert_eq!(status["discovery"]["port"], on_b.cluster);
    assert!(status["incarnation"].as_u64().is_some_and(|run| run > 0));
    let peer = &status["peers"][0];
    assert_eq!(peer["address"], format!("127.0.0.1:{}", on_b.cluster));
    assert!(peer["incarnation"].as_u64().is_some_and(|run| run > 0));

    // A subscriber on skein-1: skein-0 records its route, and both show it.
    let (mut sub, _) = Client::connect(on_b.mqtt, b.log_path(), "cs-sub", true).await;
    sub.subscribe("cs/#", QoS::AtLeastOnce).await;
    let status = status_until(on_a.admin, |s| shows_connected(s, "skein-1", 1)).await;
    assert!(shows_connected(&status, "skein-1", 1), "{status:#}");
    let of_b = status_until(on_b.admin, |s| s["routes"] == 1).await;
    assert_eq!(of_b["routes"], 1, "{of_b:#}");
    assert!(shows_connected(&of_b, "skein-0", 0), "{of_b:#}");

    // The same figures as Prometheus gauges.
    let wanted = [
        "skein_cluster_peers{state=\"connected\"} 1",
        "skein_cluster_peer_routes{peer=\"skein-1\"} 1",
        "skein_cluster_peer_route_lag{peer=\"skein-1\"} 0",
        "skein_cluster_peer_forward_queue{peer=\"skein-1\"} 0",
    ];
    let body = scrape_until(on_a.metrics, &wanted).await;
    for line in wanted {
        assert!(body.lines().any(|l| l == line), "{line} not in:\n{body}");
    }

    // The table, as an operator reads it.
    let table = cluster_status(on_a.admin, &[]);
    assert!(table.success(), "{}", table.describe());
    let text = &table.stdout;
    assert!(text.starts_with("Node         skein-0\n"), "{text}");
    assert!(text.contains("Discovery    dns localhost:"), "{text}");
    let row = text
        .lines()
        .find(|line| line.starts_with("skein-1"))
        .unwrap_or_else(|| panic!("no row of skein-1: {text}"));
    assert!(row.contains("connected"), "{text}");
    sub.disconnect().await;
}

#[test]
fn a_node_outside_a_cluster_has_no_cluster_status() {
    let skein = AdminSkein::start("cluster-status-lone", |_| String::new());
    let (status, answer) = skein.request("GET", "/api/v1/cluster");
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "not_clustered");
    let finished = skein.ctl(&["cluster", "status"]);
    assert_eq!(
        finished.status.and_then(|status| status.code()),
        Some(1),
        "{}",
        finished.describe()
    );
    assert!(
        finished.stderr.contains("not in a cluster"),
        "{}",
        finished.describe()
    );
}
