//! Integration tests with the Python `paho-mqtt` client (2.x) against the running `skein`
//! binary, for MQTT 3.1 (`MQIsdp`), 3.1.1 and 5.0.
//!
//! Each test starts its own broker and runs one scenario script from `tests/python/` (port and
//! protocol version as arguments; exit code 0 = pass, the script prints which check failed).
//! The scripts' docstrings cite the normative statements they check; docs/conformance.md lists
//! them. `.ci/run` installs python3's paho-mqtt; without it these tests fail, they never skip.

use crate::support::{python_scenario, Broker};

fn scenario(script: &str, args: &[&str]) {
    let broker = Broker::start();
    python_scenario(&broker, script, args);
}

// QoS 0/1/2 round trips and the downgrade to the granted QoS (v3.1.1 MQTT-3.8.4-6,
// v5 MQTT-3.8.4-8; MQTT-3.3.4-1).
#[test]
fn paho_v311_qos_0_1_2_round_trip_mqtt_3_8_4_6() {
    scenario("qos_roundtrip.py", &["3.1.1"]);
}

#[test]
fn paho_v5_qos_0_1_2_round_trip_mqtt_3_8_4_8() {
    scenario("qos_roundtrip.py", &["5"]);
}

/// An MQTT 3.1 client: protocol name `MQIsdp`, level 3.
#[test]
fn paho_v31_mqisdp_qos_0_1_2_round_trip() {
    scenario("qos_roundtrip.py", &["3.1"]);
}

// Retained: set, replaced, sent with RETAIN 1 to a new subscriber, cleared by an empty payload
// (v3.1.1 MQTT-3.3.1-5, -6, -8, -9, -10, -11, -12; v5 MQTT-3.3.1-5 .. -9, -12).
#[test]
fn paho_v311_retained_set_received_cleared_mqtt_3_3_1_5_to_12() {
    scenario("retained.py", &["3.1.1"]);
}

#[test]
fn paho_v5_retained_set_received_cleared_mqtt_3_3_1_5_to_9() {
    scenario("retained.py", &["5"]);
}

#[test]
fn paho_v31_mqisdp_retained() {
    scenario("retained.py", &["3.1"]);
}

// Will on a SIGKILLed client, none after DISCONNECT (MQTT-3.1.2-8, v3.1.1 MQTT-3.14.4-3,
// MQTT-3.1.2-10).
#[test]
fn paho_v311_will_on_killed_client_mqtt_3_1_2_8_and_none_after_disconnect_mqtt_3_14_4_3() {
    scenario("will.py", &["3.1.1"]);
}

#[test]
fn paho_v5_will_on_killed_client_mqtt_3_1_2_8_and_none_after_disconnect_mqtt_3_1_2_10() {
    scenario("will.py", &["5"]);
}

#[test]
fn paho_v31_mqisdp_will_on_killed_client() {
    scenario("will.py", &["3.1"]);
}

// Takeover with the same client id (v3.1.1 MQTT-3.1.4-2; v5 MQTT-3.1.4-3 with DISCONNECT 0x8E),
// the session inherited (v3.1.1 MQTT-3.2.2-2, v5 MQTT-3.2.2-3).
#[test]
fn paho_v311_takeover_same_client_id_mqtt_3_1_4_2() {
    scenario("takeover.py", &["3.1.1"]);
}

#[test]
fn paho_v5_takeover_same_client_id_disconnect_0x8e_mqtt_3_1_4_3() {
    scenario("takeover.py", &["5"]);
}

// Persistent session resumed with 3 queued QoS 1 messages (v3.1.1 MQTT-3.1.2-4, -5,
// MQTT-3.2.2-2; v5 MQTT-3.1.2-5, MQTT-3.1.2-23, MQTT-3.2.2-3).
#[test]
fn paho_v311_persistent_session_resumed_with_queued_messages_mqtt_3_1_2_5() {
    scenario("persistent_session.py", &["3.1.1"]);
}

#[test]
fn paho_v5_persistent_session_resumed_with_queued_messages_mqtt_3_1_2_23() {
    scenario("persistent_session.py", &["5"]);
}

#[test]
fn paho_v31_mqisdp_persistent_session_resumed() {
    scenario("persistent_session.py", &["3.1"]);
}

// Shared subscription $share/g/t: 20 messages split between two members, each exactly once
// (v5 §4.8.2, MQTT-4.8.2-1, -2, -3). Skein parses `$share/` in every version.
#[test]
fn paho_v311_shared_subscription_load_split() {
    scenario("shared_subscription.py", &["3.1.1"]);
}

#[test]
fn paho_v5_shared_subscription_load_split_mqtt_4_8_2() {
    scenario("shared_subscription.py", &["5"]);
}

// v5 properties forwarded unaltered: user properties in order, response topic, correlation
// data, content type, payload format indicator; message expiry never more than sent
// (MQTT-3.3.2-4, -6, -15, -16, -17, -18, -20).
#[test]
fn paho_v5_properties_echoed_mqtt_3_3_2_4_6_15_16_17_18_20() {
    scenario("properties_v5.py", &[]);
}
