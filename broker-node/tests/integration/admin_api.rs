//! The admin API of a running skein (`[admin]`, docs/admin.md) with real MQTT clients: the
//! token, the listings, a client shown and disconnected (DISCONNECT 0x98; with its session
//! discarded, a reconnect finds none), retained messages deleted, a publish delivered, and
//! bad requests answered 400 naming the problem.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use broker_core::codec::Packet;
use broker_core::types::{ProtocolVersion, QoS, ReasonCode};
use serde_json::{json, Value};

use crate::support::admin_skein::{AdminSkein, TOKEN};
use crate::support::mqtt_client::MqttClient;

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V3_1_1;

fn start(tag: &str) -> AdminSkein {
    AdminSkein::start(tag, |_| String::new())
}

/// The client identifiers of a client listing.
fn ids(listing: &Value) -> Vec<&str> {
    listing["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|client| client["client_id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_needs_the_token_and_probes_do_not() {
    let skein = start("admin-token");
    for token in ["", "wrong-token-0123456789"] {
        let (status, answer) = skein.request_as("GET", "/api/v1/clients", Some(token), None);
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"]["code"], "unauthorized");
    }
    let (status, _) = skein.request_as("GET", "/healthz", Some(""), None);
    assert_eq!(status, 200);
    let (status, _) = skein.request_as("GET", "/readyz", Some(""), None);
    assert_eq!(status, 200);
    let status = skein.get("/api/v1/status");
    assert_eq!(status["running"], true);
    let (status, answer) = skein.request("GET", "/api/v1/nothing");
    assert_eq!(status, 404, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_are_listed_filtered_paged_and_shown() {
    let skein = start("admin-clients");
    let port = skein.mqtt_port;
    let (mut one, _) = MqttClient::connect(port, V5, "api-one", true).await;
    one.subscribe("a/+", QoS::AtLeastOnce).await;
    let (_two, _) = MqttClient::connect(port, V311, "api-two", true).await;
    let (_slash, _) = MqttClient::connect(port, V311, "with/slash", true).await;

    let all = skein.get("/api/v1/clients");
    assert_eq!(ids(&all), ["api-one", "api-two", "with/slash"]);
    assert_eq!(all["next_cursor"], Value::Null);
    let first = &all["data"][0];
    assert_eq!(first["connected"], true);
    assert_eq!(first["protocol"], "5.0");
    assert_eq!(first["subscription_count"], 1);
    assert!(first["remote_address"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));

    let filtered = skein.get("/api/v1/clients?prefix=api&connected=true");
    assert_eq!(ids(&filtered), ["api-one", "api-two"]);
    let page = skein.get("/api/v1/clients?limit=2");
    assert_eq!(ids(&page), ["api-one", "api-two"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = skein.get(&format!("/api/v1/clients?limit=2&cursor={cursor}"));
    assert_eq!(ids(&rest), ["with/slash"]);

    let shown = skein.get("/api/v1/clients/api-one");
    assert_eq!(shown["subscriptions"][0]["filter"], "a/+");
    assert_eq!(shown["subscriptions"][0]["qos"], 1);
    assert_eq!(shown["keep_alive"], 60);
    assert_eq!(shown["inflight"], 0);
    let slash = skein.get("/api/v1/clients/with%2Fslash");
    assert_eq!(slash["client_id"], "with/slash");

    let (status, answer) = skein.request("GET", "/api/v1/clients/nobody");
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "not_found");
    let subscriptions = skein.get("/api/v1/subscriptions?client_id=api-one");
    assert_eq!(subscriptions["data"][0]["filter"], "a/+");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kicked_mqtt5_client_gets_0x98_and_keeps_its_session_unless_discarded() {
    let skein = start("admin-kick");
    let port = skein.mqtt_port;
    let (mut kept, _) = MqttClient::connect(port, V5, "kept", false).await;
    let (status, answer) = skein.request("DELETE", "/api/v1/clients/kept");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"client_id": "kept", "disconnected": true, "session_discarded": false})
    );
    match kept.until_closed().await.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::AdministrativeAction),
        other => panic!("expected DISCONNECT 0x98, got {other:?}"),
    }
    skein.skein.wait_for_log(&[
        "Admin API: DELETE /api/v1/clients/kept from 127.0.0.1:",
        ": 200.",
    ]);
    let (status, answer) = skein.request("DELETE", "/api/v1/clients/kept");
    assert_eq!(status, 409, "{answer}");
    let (_back, ack) = MqttClient::connect(port, V5, "kept", false).await;
    assert!(ack.session_present);

    let (mut gone, _) = MqttClient::connect(port, V5, "gone", false).await;
    let (status, answer) = skein.request("DELETE", "/api/v1/clients/gone?discard_session=true");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["session_discarded"], true);
    gone.until_closed().await;
    let (_back, ack) = MqttClient::connect(port, V5, "gone", false).await;
    assert!(!ack.session_present);

    let (status, _) = skein.request("DELETE", "/api/v1/clients/nobody");
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_reaches_a_subscriber_with_its_properties() {
    let skein = start("admin-publish");
    let (mut subscriber, _) = MqttClient::connect(skein.mqtt_port, V5, "listener", true).await;
    subscriber.subscribe("api/#", QoS::AtLeastOnce).await;
    let body = json!({
        "topic": "api/hello",
        "payload": "hi",
        "qos": 1,
        "properties": {"content_type": "text/plain", "user_properties": [{"name": "from", "value": "ops"}]},
    });
    let (status, answer) = skein.request_as("POST", "/api/v1/publish", None, Some(&body));
    assert_eq!(status, 200, "{answer}");
    let publish = subscriber.recv_publish().await;
    assert_eq!(
        publish.topic.as_ref().map(|t| t.as_str()),
        Some("api/hello")
    );
    assert_eq!(&publish.payload[..], b"hi");
    let properties = &publish.properties;
    assert_eq!(
        properties.content_type.as_ref().map(|c| c.as_str()),
        Some("text/plain")
    );
    assert_eq!(properties.user_properties[0].value.as_str(), "ops");
}

#[tokio::test(flavor = "multi_thread")]
async fn retained_messages_are_listed_and_deleted_so_a_new_subscriber_gets_none() {
    let skein = start("admin-retained");
    for topic in ["r/a", "r/b", "q/c"] {
        let body = json!({"topic": topic, "payload": "kept", "retain": true});
        let (status, answer) = skein.request_as("POST", "/api/v1/publish", None, Some(&body));
        assert_eq!(status, 200, "{answer}");
    }
    let listed = skein.get("/api/v1/retained?filter=r/%23");
    let topics: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|message| message["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics, ["r/a", "r/b"]);
    assert_eq!(listed["data"][0]["payload"], "kept");

    let (status, answer) = skein.request("DELETE", "/api/v1/retained?topic=q/c");
    assert_eq!((status, answer), (200, json!({"deleted": 1})));
    let (status, answer) = skein.request("DELETE", "/api/v1/retained?filter=r/%23");
    assert_eq!((status, answer), (200, json!({"deleted": 2})));
    assert_eq!(skein.get("/api/v1/retained")["data"], json!([]));
    let (mut late, _) = MqttClient::connect(skein.mqtt_port, V5, "late", true).await;
    late.subscribe("#", QoS::AtLeastOnce).await;
    late.expect_nothing().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_answered_400_naming_the_problem() {
    let skein = start("admin-bad");
    for (method, path, named) in [
        ("GET", "/api/v1/clients?limit=0", "limit"),
        ("GET", "/api/v1/clients?connected=maybe", "connected"),
        ("GET", "/api/v1/clients?colour=red", "colour"),
        ("GET", "/api/v1/clients?cursor=%21%21", "cursor"),
        ("GET", "/api/v1/clients/bad%ZZ", "client id"),
        ("GET", "/api/v1/retained?filter=a/%23/b", "filter"),
        ("DELETE", "/api/v1/retained", "topic"),
        ("DELETE", "/api/v1/retained?topic=a/%2B", "topic"),
    ] {
        let (status, answer) = skein.request(method, path);
        assert_eq!(status, 400, "{method} {path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{method} {path}: {message}");
    }
    for (body, named) in [
        (json!({"payload": "x"}), "topic"),
        (json!({"topic": "a", "qos": 3}), "qos"),
        (json!({"topic": "a/#"}), "topic"),
    ] {
        let (status, answer) = skein.request_as("POST", "/api/v1/publish", None, Some(&body));
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains(named));
    }
    let (status, _) = skein.request("PUT", "/api/v1/clients");
    assert_eq!(status, 405);

    // limits.max_packet_size is 1 MiB: a larger payload is refused.
    let over = json!({"topic": "a", "payload": "x".repeat(1024 * 1024 + 1)});
    let (status, answer) = skein.request_as("POST", "/api/v1/publish", None, Some(&over));
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("payload: "), "{message}");
}

#[test]
fn a_body_announced_too_large_is_refused_unread() {
    let skein = start("admin-large");
    let addr = skein.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /api/v1/publish HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        64 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0_u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("body_too_large") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"body_too_large\""), "{answer}");
}
