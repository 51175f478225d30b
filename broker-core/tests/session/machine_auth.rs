//! The session state machine's side of authentication and authorization (MQTT 5.0 §4.12):
//! the AUTH exchange before CONNACK, re-authentication, refusals mapped for MQTT 3, and
//! publishes the hooks refused. The test plays the runtime (and its hooks).

use std::time::Duration;

use broker_core::codec::{Auth, AuthProperties, ConnAck, Connect, Packet, QosPid, Will};
use broker_core::session::{AuthRequest, AuthStep, CloseReason, Command, ConnectRequest};
use broker_core::types::{MqttString, ProtocolVersion, QoS, ReasonCode};
use bytes::{Bytes, BytesMut};

use crate::harness::{pid, publish, topic, Harness};

const METHOD: &str = "SCRAM-SHA-256";

fn s(text: &str) -> MqttString {
    MqttString::new(text).unwrap()
}

fn connect_with_method(h: &Harness, data: Option<&'static str>) -> Connect {
    let mut connect = h.connect_packet("c1");
    connect.properties.authentication_method = Some(s(METHOD));
    connect.properties.authentication_data = data.map(|d| Bytes::from_static(d.as_bytes()));
    connect
}

fn auth(code: ReasonCode, method: Option<&str>, data: Option<&'static str>) -> Packet {
    Packet::Auth(Auth {
        code,
        properties: AuthProperties {
            authentication_method: method.map(s),
            authentication_data: data.map(|d| Bytes::from_static(d.as_bytes())),
            ..AuthProperties::default()
        },
    })
}

fn only_connack(h: &mut Harness) -> ConnAck {
    match &h.sent()[..] {
        [Packet::ConnAck(connack)] => (**connack).clone(),
        other => panic!("expected one CONNACK, got {other:?}"),
    }
}

fn only_auth(h: &mut Harness) -> Auth {
    match &h.sent()[..] {
        [Packet::Auth(auth)] => auth.clone(),
        other => panic!("expected one AUTH, got {other:?}"),
    }
}

fn expect_authenticate(h: &mut Harness) -> AuthRequest {
    match h.command() {
        Command::Authenticate(request) => request,
        other => panic!("expected Authenticate, got {other:?}"),
    }
}

/// CONNECT with the method, handed to the runtime.
fn start_exchange(h: &mut Harness) -> ConnectRequest {
    let connect = connect_with_method(h, Some("client-first"));
    h.send(Packet::Connect(Box::new(connect)));
    h.expect_connect_request()
}

/// A v5 connection authenticated with the method, live.
fn connected_with_method() -> Harness {
    let mut h = Harness::new(ProtocolVersion::V5);
    start_exchange(&mut h);
    h.session.auth_success(None, None);
    h.session.accept(None, h.now);
    let connack = only_connack(&mut h);
    assert_eq!(connack.code, ReasonCode::Success);
    h
}

#[test]
fn connect_with_method_goes_to_the_runtime_mqtt_4_12_0_1() {
    // The hooks decide whether they know the method ([MQTT-4.12.0-1]).
    let mut h = Harness::new(ProtocolVersion::V5);
    let request = start_exchange(&mut h);
    assert_eq!(request.auth_method, Some(s(METHOD)));
    assert_eq!(request.auth_data.as_deref(), Some(&b"client-first"[..]));
    assert!(h.sent().is_empty(), "nothing before the runtime answers");
    assert_eq!(h.session.auth_method(), Some(&s(METHOD)));
}

#[test]
fn two_round_exchange_ends_in_connack_with_method_and_data_mqtt_4_12_0_2_mqtt_4_12_0_5() {
    let mut h = Harness::new(ProtocolVersion::V5);
    start_exchange(&mut h);
    for round in ["server-first", "server-second"] {
        // [MQTT-4.12.0-2]: the server's challenge is AUTH 0x18, with the CONNECT's method
        // ([MQTT-4.12.0-5]).
        h.session
            .continue_auth(Bytes::from_static(round.as_bytes()), None);
        let challenge = only_auth(&mut h);
        assert_eq!(challenge.code, ReasonCode::ContinueAuthentication);
        assert_eq!(challenge.properties.authentication_method, Some(s(METHOD)));
        assert_eq!(
            challenge.properties.authentication_data.as_deref(),
            Some(round.as_bytes())
        );
        assert!(!h.session.is_connected());
        // [MQTT-4.12.0-3]: the client answers with AUTH 0x18.
        h.send(auth(
            ReasonCode::ContinueAuthentication,
            Some(METHOD),
            Some("proof"),
        ));
        let answer = expect_authenticate(&mut h);
        assert_eq!(answer.step, AuthStep::Continue);
        assert_eq!(answer.method, s(METHOD));
        assert_eq!(answer.data.as_deref(), Some(&b"proof"[..]));
    }
    h.session
        .auth_success(Some(Bytes::from_static(b"server-final")), None);
    assert!(h.sent().is_empty(), "CONNACK waits for accept");
    h.session.accept(None, h.now);
    let connack = only_connack(&mut h);
    assert_eq!(connack.code, ReasonCode::Success);
    // [MQTT-4.12.0-5]: a successful CONNACK carries the CONNECT's method.
    assert_eq!(connack.properties.authentication_method, Some(s(METHOD)));
    assert_eq!(
        connack.properties.authentication_data.as_deref(),
        Some(&b"server-final"[..])
    );
    assert!(h.session.is_connected());
}

#[test]
fn connack_without_method_carries_no_auth_properties_mqtt_4_12_0_6() {
    let mut h = Harness::new(ProtocolVersion::V5);
    h.send(Packet::Connect(Box::new(h.connect_packet("c1"))));
    let request = h.expect_connect_request();
    assert_eq!(request.auth_method, None);
    // A hook's data without enhanced authentication is not sent.
    h.session.auth_success(Some(Bytes::from_static(b"x")), None);
    h.session.accept(None, h.now);
    let connack = only_connack(&mut h);
    assert_eq!(connack.properties.authentication_method, None);
    assert_eq!(connack.properties.authentication_data, None);
}

#[test]
fn challenge_without_method_refuses_instead_mqtt_4_12_0_6() {
    // [MQTT-4.12.0-6]: no AUTH to a client that sent no method.
    let mut h = Harness::new(ProtocolVersion::V5);
    h.send(Packet::Connect(Box::new(h.connect_packet("c1"))));
    h.expect_connect_request();
    h.session.continue_auth(Bytes::from_static(b"x"), None);
    assert_eq!(only_connack(&mut h).code, ReasonCode::NotAuthorized);
    assert!(matches!(
        h.expect_close().reason,
        CloseReason::ConnectRefused(ReasonCode::NotAuthorized)
    ));
}

#[test]
fn failed_exchange_sends_connack_with_code_and_reason_then_closes_mqtt_4_12_0_4() {
    let mut h = Harness::new(ProtocolVersion::V5);
    start_exchange(&mut h);
    h.session
        .continue_auth(Bytes::from_static(b"server-first"), None);
    only_auth(&mut h);
    h.send(auth(
        ReasonCode::ContinueAuthentication,
        Some(METHOD),
        Some("wrong"),
    ));
    expect_authenticate(&mut h);
    h.session
        .auth_failed(ReasonCode::NotAuthorized, Some(s("bad proof")), h.now);
    let connack = only_connack(&mut h);
    assert_eq!(connack.code, ReasonCode::NotAuthorized);
    assert!(!connack.session_present);
    assert_eq!(connack.properties.reason_string, Some(s("bad proof")));
    let close = h.expect_close();
    assert_eq!(
        close.reason,
        CloseReason::ConnectRefused(ReasonCode::NotAuthorized)
    );
    assert!(close.will.is_none());
}

#[test]
fn reason_strings_only_for_clients_that_accept_them_mqtt_3_1_2_29() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = connect_with_method(&h, None);
    connect.properties.request_problem_information = Some(false);
    h.send(Packet::Connect(Box::new(connect)));
    h.expect_connect_request();
    h.session
        .continue_auth(Bytes::from_static(b"c"), Some(s("more please")));
    assert_eq!(only_auth(&mut h).properties.reason_string, None);
    h.send(auth(ReasonCode::ContinueAuthentication, Some(METHOD), None));
    expect_authenticate(&mut h);
    h.session
        .auth_failed(ReasonCode::BadUserNameOrPassword, Some(s("no")), h.now);
    let connack = only_connack(&mut h);
    assert_eq!(connack.code, ReasonCode::BadUserNameOrPassword);
    assert_eq!(connack.properties.reason_string, None);
}

#[test]
fn auth_with_another_method_during_exchange_is_a_protocol_error_mqtt_4_12_0_5() {
    let mut h = Harness::new(ProtocolVersion::V5);
    start_exchange(&mut h);
    h.session.continue_auth(Bytes::from_static(b"c"), None);
    only_auth(&mut h);
    h.send(auth(
        ReasonCode::ContinueAuthentication,
        Some("PLAIN"),
        Some("x"),
    ));
    assert_eq!(only_connack(&mut h).code, ReasonCode::ProtocolError);
    assert_eq!(
        h.expect_close().reason,
        CloseReason::ProtocolError(ReasonCode::ProtocolError)
    );
}

#[test]
fn auth_other_than_0x18_answering_a_challenge_is_a_protocol_error_mqtt_4_12_0_3() {
    let mut h = Harness::new(ProtocolVersion::V5);
    start_exchange(&mut h);
    h.session.continue_auth(Bytes::from_static(b"c"), None);
    only_auth(&mut h);
    h.send(auth(ReasonCode::ReAuthenticate, Some(METHOD), None));
    assert_eq!(only_connack(&mut h).code, ReasonCode::ProtocolError);
}

#[test]
fn packets_other_than_auth_before_connack_are_a_protocol_error_mqtt_3_1_2_30() {
    let mut h = Harness::new(ProtocolVersion::V5);
    start_exchange(&mut h);
    h.session.continue_auth(Bytes::from_static(b"c"), None);
    only_auth(&mut h);
    h.send(Packet::PingReq);
    assert_eq!(only_connack(&mut h).code, ReasonCode::ProtocolError);
    assert!(h.session.is_closed());
}

#[test]
fn client_may_abandon_the_exchange_with_disconnect() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = connect_with_method(&h, None);
    connect.will = Some(will());
    h.send(Packet::Connect(Box::new(connect)));
    h.expect_connect_request();
    h.session.continue_auth(Bytes::from_static(b"c"), None);
    only_auth(&mut h);
    h.send(Packet::Disconnect(broker_core::codec::Disconnect::new(
        ReasonCode::Success,
    )));
    assert!(h.sent().is_empty());
    let close = h.expect_close();
    assert_eq!(
        close.reason,
        CloseReason::ClientDisconnect(ReasonCode::Success)
    );
    assert!(close.will.is_none(), "no will before CONNACK");
}

#[test]
fn silent_client_during_exchange_times_out_with_the_connect_deadline() {
    let mut h = Harness::new(ProtocolVersion::V5);
    start_exchange(&mut h);
    h.session.continue_auth(Bytes::from_static(b"c"), None);
    only_auth(&mut h);
    assert!(h.session.poll_timeout().is_some());
    h.advance(Duration::from_secs(11));
    assert_eq!(h.expect_close().reason, CloseReason::ConnectTimeout);
}

#[test]
fn auth_from_client_without_method_is_a_protocol_error_mqtt_4_12_0_7() {
    let mut h = Harness::new(ProtocolVersion::V5);
    h.connect("c1");
    h.send(auth(ReasonCode::ReAuthenticate, Some(METHOD), None));
    match &h.sent()[..] {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::ProtocolError),
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    assert_eq!(
        h.expect_close().reason,
        CloseReason::ProtocolError(ReasonCode::ProtocolError)
    );
}

#[test]
fn reauthentication_runs_an_exchange_and_ends_in_auth_success_mqtt_4_12_1_1() {
    let mut h = connected_with_method();
    h.send(auth(
        ReasonCode::ReAuthenticate,
        Some(METHOD),
        Some("again"),
    ));
    let start = expect_authenticate(&mut h);
    assert_eq!(start.step, AuthStep::Reauthenticate);
    assert_eq!(start.data.as_deref(), Some(&b"again"[..]));
    assert!(h.session.is_reauthenticating());
    h.session
        .continue_auth(Bytes::from_static(b"challenge"), None);
    assert_eq!(only_auth(&mut h).code, ReasonCode::ContinueAuthentication);
    h.send(auth(
        ReasonCode::ContinueAuthentication,
        Some(METHOD),
        Some("proof"),
    ));
    assert_eq!(expect_authenticate(&mut h).step, AuthStep::Continue);
    h.session
        .auth_success(Some(Bytes::from_static(b"final")), None);
    let done = only_auth(&mut h);
    assert_eq!(done.code, ReasonCode::Success);
    assert_eq!(done.properties.authentication_method, Some(s(METHOD)));
    assert_eq!(
        done.properties.authentication_data.as_deref(),
        Some(&b"final"[..])
    );
    assert!(!h.session.is_reauthenticating());
    assert!(h.session.is_connected());
}

#[test]
fn reauthentication_with_another_method_is_a_protocol_error_mqtt_4_12_1_1() {
    let mut h = connected_with_method();
    h.send(auth(ReasonCode::ReAuthenticate, Some("PLAIN"), None));
    match &h.sent()[..] {
        [Packet::Disconnect(d)] => {
            assert_eq!(d.code, ReasonCode::ProtocolError);
            assert_eq!(d.properties.reason_string, Some(s("[MQTT-4.12.1-1]")));
        }
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    assert!(h.session.is_closed());
}

#[test]
fn auth_0x18_without_a_challenge_is_a_protocol_error() {
    let mut h = connected_with_method();
    h.send(auth(ReasonCode::ContinueAuthentication, Some(METHOD), None));
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::ProtocolError)
    );
}

#[test]
fn failed_reauthentication_disconnects_with_the_code_mqtt_4_12_1_2() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = connect_with_method(&h, None);
    connect.will = Some(will());
    h.send(Packet::Connect(Box::new(connect)));
    h.expect_connect_request();
    h.session.auth_success(None, None);
    h.session.accept(None, h.now);
    only_connack(&mut h);
    h.send(auth(ReasonCode::ReAuthenticate, Some(METHOD), None));
    expect_authenticate(&mut h);
    h.session
        .auth_failed(ReasonCode::NotAuthorized, Some(s("expired")), h.now);
    match &h.sent()[..] {
        [Packet::Disconnect(d)] => {
            assert_eq!(d.code, ReasonCode::NotAuthorized);
            assert_eq!(d.properties.reason_string, Some(s("expired")));
        }
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    let close = h.expect_close();
    assert_eq!(
        close.reason,
        CloseReason::ReauthenticationFailed(ReasonCode::NotAuthorized)
    );
    assert!(
        close.will.is_some(),
        "a server-side close publishes the will"
    );
}

#[test]
fn client_keeps_publishing_during_reauthentication() {
    // MQTT 5.0 §4.12.1: "the flow of other packets between the Client and Server can
    // continue using the previous authentication".
    let mut h = connected_with_method();
    h.send(auth(ReasonCode::ReAuthenticate, Some(METHOD), None));
    expect_authenticate(&mut h);
    h.session.continue_auth(Bytes::from_static(b"c"), None);
    only_auth(&mut h);
    h.send(Packet::Publish(publish(
        "a/b",
        "x",
        QosPid::AtLeastOnce(pid(1)),
    )));
    let request = h.expect_publish();
    assert_eq!(request.message.topic, topic("a/b"));
    h.send(Packet::PingReq);
    assert!(matches!(&h.sent()[..], [Packet::PingResp]));
}

/// The MQTT 3 CONNACK return code a refusal is encoded with.
fn v3_return_code(code: ReasonCode) -> u8 {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    h.send(Packet::Connect(Box::new(h.connect_packet("c1"))));
    h.expect_connect_request();
    h.session.auth_failed(code, Some(s("ignored")), h.now);
    let connack = only_connack(&mut h);
    let mut bytes = BytesMut::new();
    Packet::ConnAck(Box::new(connack))
        .encode(ProtocolVersion::V3_1_1, &mut bytes)
        .unwrap();
    assert_eq!(bytes.len(), 4, "no properties for 3.1.1");
    bytes[3]
}

#[test]
fn v3_refusals_map_to_the_nearest_return_code() {
    // 3.1.1 §3.2.2.3: 3 server unavailable, 4 bad user name or password, 5 not authorized.
    assert_eq!(v3_return_code(ReasonCode::BadUserNameOrPassword), 4);
    assert_eq!(v3_return_code(ReasonCode::NotAuthorized), 5);
    assert_eq!(v3_return_code(ReasonCode::BadAuthenticationMethod), 5);
    assert_eq!(v3_return_code(ReasonCode::ServerUnavailable), 3);
    assert_eq!(v3_return_code(ReasonCode::ServerBusy), 3);
    assert_eq!(v3_return_code(ReasonCode::Banned), 5);
    assert_eq!(v3_return_code(ReasonCode::QuotaExceeded), 5);
}

#[test]
fn refused_qos1_publish_gets_the_code_in_v5_puback() {
    let mut h = Harness::new(ProtocolVersion::V5);
    h.connect("c1");
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::AtLeastOnce(pid(3)),
    )));
    let request = h.expect_publish();
    h.session
        .refuse_publish(request.ack, ReasonCode::NotAuthorized, Some(s("acl")));
    match &h.sent()[..] {
        [Packet::PubAck(ack)] => {
            assert_eq!(ack.packet_id, pid(3));
            assert_eq!(ack.code, ReasonCode::NotAuthorized);
            assert_eq!(ack.properties.reason_string, Some(s("acl")));
        }
        other => panic!("expected PUBACK, got {other:?}"),
    }
}

#[test]
fn refused_qos2_publish_frees_its_packet_id_mqtt_4_3_3_9() {
    let mut h = Harness::new(ProtocolVersion::V5);
    h.connect("c1");
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::ExactlyOnce(pid(4)),
    )));
    let request = h.expect_publish();
    h.session
        .refuse_publish(request.ack, ReasonCode::NotAuthorized, None);
    assert!(matches!(&h.sent()[..], [Packet::PubRec(a)] if a.code == ReasonCode::NotAuthorized));
    // The same packet identifier is a new message again.
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::ExactlyOnce(pid(4)),
    )));
    h.expect_publish();
}

#[test]
fn refused_publish_is_acknowledged_as_usual_in_v3() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    h.connect("c1");
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::AtLeastOnce(pid(5)),
    )));
    let request = h.expect_publish();
    h.session
        .refuse_publish(request.ack, ReasonCode::NotAuthorized, None);
    assert!(matches!(&h.sent()[..], [Packet::PubAck(a)] if a.packet_id == pid(5)));
    // QoS 0: dropped, nothing sent.
    h.send(Packet::Publish(publish("a", "x", QosPid::AtMostOnce)));
    let request = h.expect_publish();
    h.session
        .refuse_publish(request.ack, ReasonCode::NotAuthorized, None);
    assert!(h.sent().is_empty());
}

#[test]
fn will_is_visible_and_its_topic_can_be_rewritten() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.will = Some(will());
    h.send(Packet::Connect(Box::new(connect)));
    h.expect_connect_request();
    assert_eq!(h.session.will().unwrap().message.topic, topic("wills/c1"));
    h.session.set_will_topic(topic("tenant/wills/c1"));
    h.session.accept(None, h.now);
    h.sent();
    h.session.connection_lost(h.now);
    let close = h.expect_close();
    assert_eq!(close.will.unwrap().message.topic, topic("tenant/wills/c1"));
}

fn will() -> Will {
    Will {
        topic: topic("wills/c1"),
        payload: "gone".into(),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    }
}
