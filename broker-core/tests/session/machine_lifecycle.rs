//! The session state machine's end: keep-alive, DISCONNECT, wills, takeover, the offline
//! session's will delay and expiry. All on a virtual clock.

use std::time::Duration;

use broker_core::codec::{DecodeError, Disconnect, Packet, Will};
use broker_core::session::{CloseReason, OfflineSession, SessionState};
use broker_core::types::{ClientId, ProtocolVersion, QoS, ReasonCode};

use crate::harness::{topic, Harness};

fn will(delay: Option<u32>) -> Will {
    let properties = broker_core::codec::WillProperties {
        will_delay_interval: delay,
        ..Default::default()
    };
    Will {
        topic: topic("wills/c1"),
        payload: "gone".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties,
    }
}

fn connected_with_will(version: ProtocolVersion, keep_alive: u16, delay: Option<u32>) -> Harness {
    let mut h = Harness::new(version);
    let mut connect = h.connect_packet("c1");
    connect.keep_alive = keep_alive;
    connect.will = Some(will(delay));
    h.connect_with(connect, None);
    h
}

#[test]
fn keep_alive_timeout_after_one_and_a_half_times_mqtt_3_1_2_22() {
    let mut h = connected_with_will(ProtocolVersion::V5, 10, None);
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(15))
    );
    h.advance(Duration::from_secs(14));
    h.send(Packet::PingReq);
    let _ = h.sent();
    // Any packet restarts the count.
    h.advance(Duration::from_secs(14));
    assert!(!h.session.is_closed());
    h.advance(Duration::from_secs(1));
    assert!(h.session.is_closed());
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::KeepAliveTimeout)
    );
    let close = h.expect_close();
    assert_eq!(close.reason, CloseReason::KeepAliveTimeout);
    assert_eq!(
        close.will.unwrap().message.topic.as_str(),
        "wills/c1",
        "[MQTT-3.1.2-8]"
    );
}

/// [MQTT-3.1.2-22] is about a client that sends nothing: while the runtime holds its input
/// unread (its rate limit), the Keep Alive counts from the last time it did.
#[test]
fn input_held_by_the_runtime_restarts_the_keep_alive_count_mqtt_3_1_2_22() {
    let mut h = connected_with_will(ProtocolVersion::V5, 10, None);
    h.advance(Duration::from_secs(14));
    h.session.handle_input_held(h.now);
    h.advance(Duration::from_secs(14));
    assert!(!h.session.is_closed());
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(1))
    );
    h.advance(Duration::from_secs(1));
    assert!(h.session.is_closed());
}

#[test]
fn keep_alive_zero_never_times_out() {
    let mut h = connected_with_will(ProtocolVersion::V3_1_1, 0, None);
    assert_eq!(h.session.poll_timeout(), None);
    h.advance(Duration::from_secs(100_000));
    assert!(!h.session.is_closed());
}

#[test]
fn v3_keep_alive_timeout_closes_without_disconnect_packet() {
    let mut h = connected_with_will(ProtocolVersion::V3_1_1, 2, None);
    h.advance(Duration::from_secs(3));
    assert!(h.sent().is_empty());
    assert!(h.expect_close().will.is_some());
}

#[test]
fn normal_disconnect_discards_the_will_mqtt_3_1_2_10() {
    let mut h = connected_with_will(ProtocolVersion::V3_1_1, 60, None);
    h.send(Packet::Disconnect(Disconnect::new(ReasonCode::Success)));
    let close = h.expect_close();
    assert_eq!(
        close.reason,
        CloseReason::ClientDisconnect(ReasonCode::Success)
    );
    assert!(close.will.is_none());
    // Said to the runtime, which takes the will out of a stored record before the socket
    // closes (issue 13).
    assert!(close.discarded_will);
}

#[test]
fn disconnect_with_will_message_publishes_it() {
    let mut h = connected_with_will(ProtocolVersion::V5, 60, None);
    h.send(Packet::Disconnect(Disconnect::new(
        ReasonCode::DisconnectWithWill,
    )));
    let close = h.expect_close();
    assert!(close.will.is_some());
    assert!(!close.discarded_will);
}

#[test]
fn lost_connection_publishes_the_will_with_its_delay_mqtt_3_1_2_8() {
    let mut h = connected_with_will(ProtocolVersion::V5, 60, Some(30));
    h.session.connection_lost(h.now);
    let close = h.expect_close();
    assert_eq!(close.reason, CloseReason::ConnectionLost);
    assert!(!close.discarded_will);
    assert_eq!(close.will.unwrap().delay, 30);
}

#[test]
fn decode_error_after_connack_sends_disconnect_and_publishes_will() {
    let mut h = connected_with_will(ProtocolVersion::V5, 60, None);
    h.session
        .handle_decode_error(&DecodeError::PacketTooLarge { size: 10, max: 5 }, h.now);
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::PacketTooLarge)
    );
    assert!(h.expect_close().will.is_some());
}

#[test]
fn unsupported_protocol_level_gets_return_code_1() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    h.session
        .handle_decode_error(&DecodeError::UnsupportedProtocolVersion(9), h.now);
    assert!(
        matches!(&h.sent()[..], [Packet::ConnAck(c)] if c.code == ReasonCode::UnsupportedProtocolVersion)
    );
    assert!(h.expect_close().will.is_none());
}

#[test]
fn session_expiry_can_change_at_disconnect() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.properties.session_expiry_interval = Some(60);
    h.connect_with(connect, None);
    let mut d = Disconnect::new(ReasonCode::Success);
    d.properties.session_expiry_interval = Some(0);
    h.send(Packet::Disconnect(d));
    assert_eq!(h.expect_close().session_expiry, 0);
}

#[test]
fn session_expiry_set_at_disconnect_after_zero_is_a_protocol_error_mqtt_3_14_2_2() {
    let mut h = connected_with_will(ProtocolVersion::V5, 60, None);
    let mut d = Disconnect::new(ReasonCode::Success);
    d.properties.session_expiry_interval = Some(60);
    h.send(Packet::Disconnect(d));
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::ProtocolError)
    );
    let close = h.expect_close();
    assert_eq!(close.session_expiry, 0);
    assert!(close.will.is_some());
}

#[test]
fn takeover_sends_0x8e_to_v5_and_hands_the_will_to_the_runtime_mqtt_3_1_4_3() {
    let mut h = connected_with_will(ProtocolVersion::V5, 60, Some(10));
    h.session.take_over(h.now);
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::SessionTakenOver)
    );
    let close = h.expect_close();
    assert_eq!(close.reason, CloseReason::TakenOver);
    assert_eq!(close.will.unwrap().delay, 10);
}

#[test]
fn server_shutdown_sends_0x8b() {
    let mut h = connected_with_will(ProtocolVersion::V5, 60, None);
    h.session
        .server_disconnect(ReasonCode::ServerShuttingDown, h.now);
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::ServerShuttingDown)
    );
    assert!(h.session.is_closed());
    // Nothing more is accepted.
    h.send(Packet::PingReq);
    assert!(h.sent().is_empty());
}

#[test]
fn no_disconnect_before_connack_mqtt_3_14_0_1() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let connect = h.connect_packet("c1");
    h.send(Packet::Connect(Box::new(connect)));
    let _ = h.expect_connect_request();
    h.session
        .server_disconnect(ReasonCode::ServerShuttingDown, h.now);
    assert!(h.sent().is_empty());
}

fn offline(will_delay: Option<u32>, expiry: u32, h: &Harness) -> OfflineSession {
    let mut g = connected_with_will(ProtocolVersion::V5, 60, will_delay);
    g.session.connection_lost(g.now);
    let close = g.expect_close();
    OfflineSession::new(
        SessionState::new(ClientId::new("c1").unwrap()),
        close.will,
        expiry,
        h.now,
    )
}

#[test]
fn delayed_will_is_published_after_its_delay() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut s = offline(Some(5), 100, &h);
    assert_eq!(s.poll_timeout(), Some(h.now + Duration::from_secs(5)));
    h.now += Duration::from_secs(4);
    let event = s.handle_timeout(h.now);
    assert!(event.will.is_none() && !event.expired);
    h.now += Duration::from_secs(1);
    let event = s.handle_timeout(h.now);
    let will = event.will.unwrap();
    assert_eq!(will.received_at, h.now, "expiry counts from publication");
    assert!(!event.expired);
    assert_eq!(s.poll_timeout(), Some(h.now + Duration::from_secs(95)));
    h.now += Duration::from_secs(95);
    assert!(s.handle_timeout(h.now).expired);
}

#[test]
fn will_is_published_when_the_session_expires_first_mqtt_3_1_3_9() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut s = offline(Some(600), 60, &h);
    assert_eq!(s.poll_timeout(), Some(h.now + Duration::from_secs(60)));
    h.now += Duration::from_secs(60);
    let event = s.handle_timeout(h.now);
    assert!(event.will.is_some() && event.expired);
}

#[test]
fn resumed_session_drops_the_pending_will_mqtt_3_1_3_9() {
    let h = Harness::new(ProtocolVersion::V5);
    let s = offline(Some(600), 3600, &h);
    assert!(s.has_will());
    let state = s.resume();
    assert_eq!(state.client_id().as_str(), "c1");
}

#[test]
fn ended_session_publishes_the_pending_will_now() {
    let h = Harness::new(ProtocolVersion::V5);
    let s = offline(Some(600), 3600, &h);
    let (_, will) = s.end(h.now);
    assert!(will.is_some());
}

#[test]
fn never_expiring_session_has_no_deadline_without_a_will() {
    let h = Harness::new(ProtocolVersion::V3_1_1);
    let s = OfflineSession::new(
        SessionState::new(ClientId::new("c1").unwrap()),
        None,
        u32::MAX,
        h.now,
    );
    assert_eq!(s.poll_timeout(), None);
}
