//! MQTT 5 enhanced authentication end to end (MQTT 5.0 §4.12) with a SCRAM-SHA-256-style
//! challenge/response hook and a raw-packet client: the exchange before CONNACK, a failed
//! exchange, re-authentication (AUTH 0x19) that succeeds and one that fails, and the
//! protocol errors of the exchange.
//!
//! The hook follows RFC 5802's messages and proofs (PBKDF2-HMAC-SHA-256 salted password,
//! client proof, server signature), with hex instead of base64 and few iterations; it keeps
//! nothing between rounds: what it needs travels in the challenge's state.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use broker_core::codec::{ConnAck, Connect};
use broker_core::hooks::{
    AuthDecision, AuthSuccess, AuthenticateRequest, Hook, HookError, Interest, Refusal,
};
use broker_core::types::{MqttString, QoS, ReasonCode};
use broker_core::Broker;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::support;
use crate::support::{connect_packet, Client, V5};

const METHOD: &str = "SCRAM-SHA-256";
const ITERATIONS: u32 = 64;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// RFC 5802 Hi(): PBKDF2-HMAC-SHA-256, one block.
fn salted_password(password: &[u8], salt: &[u8]) -> [u8; 32] {
    let mut u = hmac(password, &[salt, &[0, 0, 0, 1]].concat());
    let mut out = u;
    for _ in 1..ITERATIONS {
        u = hmac(password, &u);
        out.iter_mut().zip(u).for_each(|(o, b)| *o ^= b);
    }
    out
}

fn xor(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = a;
    out.iter_mut().zip(b).for_each(|(o, b)| *o ^= b);
    out
}

/// What the server stores for a user: never the password.
struct Credentials {
    salt: Vec<u8>,
    stored_key: [u8; 32],
    server_key: [u8; 32],
}

impl Credentials {
    fn new(password: &str, salt: &[u8]) -> Self {
        let salted = salted_password(password.as_bytes(), salt);
        let client_key = hmac(&salted, b"Client Key");
        Credentials {
            salt: salt.to_vec(),
            stored_key: Sha256::digest(client_key).into(),
            server_key: hmac(&salted, b"Server Key"),
        }
    }
}

/// The `key=value` attribute of a SCRAM message.
fn attribute<'a>(message: &'a str, key: &str) -> Option<&'a str> {
    message
        .split(',')
        .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
}

struct ScramHook {
    users: HashMap<&'static str, Credentials>,
    nonces: AtomicU64,
}

impl ScramHook {
    fn new() -> Self {
        let mut users = HashMap::new();
        users.insert("alice", Credentials::new("wonderland", b"salt-of-alice"));
        ScramHook {
            users,
            nonces: AtomicU64::new(1),
        }
    }

    /// Round 0: `n,,n=<user>,r=<client nonce>` -> `r=<nonce>,s=<salt>,i=<iterations>`.
    fn first(&self, data: &str) -> AuthDecision {
        let Some(bare) = data.strip_prefix("n,,") else {
            return AuthDecision::deny(ReasonCode::MalformedPacket);
        };
        let (Some(user), Some(client_nonce)) = (attribute(bare, "n"), attribute(bare, "r")) else {
            return AuthDecision::deny(ReasonCode::MalformedPacket);
        };
        let Some(credentials) = self.users.get(user) else {
            return AuthDecision::deny(ReasonCode::BadUserNameOrPassword);
        };
        let nonce = format!(
            "{client_nonce}S{}",
            self.nonces.fetch_add(1, Ordering::Relaxed)
        );
        let server_first = format!(
            "r={nonce},s={},i={ITERATIONS}",
            hex::encode(&credentials.salt)
        );
        // The state: what round 1 needs to check the proof.
        let state = format!("{user}\n{bare}\n{server_first}");
        AuthDecision::challenge(Bytes::from(server_first), Some(Bytes::from(state)))
    }

    /// Round 1: `c=biws,r=<nonce>,p=<proof>` -> success with `v=<server signature>`, or a
    /// refusal.
    fn last(&self, data: &str, state: &str) -> AuthDecision {
        let refused = || {
            AuthDecision::Deny(
                Refusal::not_authorized().with_reason(MqttString::new("bad proof").unwrap()),
            )
        };
        let mut lines = state.split('\n');
        let (Some(user), Some(client_first_bare), Some(server_first)) =
            (lines.next(), lines.next(), lines.next())
        else {
            return refused();
        };
        let Some(credentials) = self.users.get(user) else {
            return refused();
        };
        let Some((without_proof, proof)) = data.rsplit_once(",p=") else {
            return refused();
        };
        if attribute(without_proof, "r") != attribute(server_first, "r") {
            return refused();
        }
        let Some(proof) = hex::decode(proof)
            .ok()
            .and_then(|p| <[u8; 32]>::try_from(p).ok())
        else {
            return refused();
        };
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let client_signature = hmac(&credentials.stored_key, auth_message.as_bytes());
        let client_key = xor(proof, client_signature);
        if <[u8; 32]>::from(Sha256::digest(client_key)) != credentials.stored_key {
            return refused();
        }
        let server_signature = hmac(&credentials.server_key, auth_message.as_bytes());
        AuthDecision::Allow(AuthSuccess {
            data: Some(Bytes::from(format!("v={}", hex::encode(server_signature)))),
            reason: None,
            ..AuthSuccess::default()
        })
    }
}

#[async_trait]
impl Hook for ScramHook {
    fn name(&self) -> &str {
        "scram"
    }

    fn interest(&self) -> Interest {
        Interest::AUTHENTICATE
    }

    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        let Some(step) = request
            .enhanced
            .as_ref()
            .filter(|step| step.method.as_str() == METHOD)
        else {
            return Ok(AuthDecision::Next);
        };
        let data = std::str::from_utf8(step.data.as_deref().unwrap_or_default())
            .map_err(|_| HookError::Failed("not UTF-8".into()))?;
        Ok(match (step.round, &step.state) {
            (0, None) => self.first(data),
            (1, Some(state)) => self.last(data, &String::from_utf8_lossy(state)),
            _ => AuthDecision::deny(ReasonCode::ProtocolError),
        })
    }
}

/// The client side of the exchange.
struct ScramClient {
    password: &'static str,
    client_first_bare: String,
}

impl ScramClient {
    fn new(user: &'static str, password: &'static str, nonce: &str) -> Self {
        ScramClient {
            password,
            client_first_bare: format!("n={user},r={nonce}"),
        }
    }

    fn first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// The client-final message for `server_first`, and the server signature to expect.
    fn last(&self, server_first: &[u8]) -> (Vec<u8>, String) {
        let server_first = std::str::from_utf8(server_first).unwrap();
        let nonce = attribute(server_first, "r").unwrap();
        assert!(nonce.starts_with(attribute(&self.client_first_bare, "r").unwrap()));
        let salt = hex::decode(attribute(server_first, "s").unwrap()).unwrap();
        let salted = salted_password(self.password.as_bytes(), &salt);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let proof = xor(client_key, hmac(&stored_key, auth_message.as_bytes()));
        let server_signature = hmac(&hmac(&salted, b"Server Key"), auth_message.as_bytes());
        (
            format!("{without_proof},p={}", hex::encode(proof)).into_bytes(),
            format!("v={}", hex::encode(server_signature)),
        )
    }
}

fn scram_connect(id: &str, scram: &ScramClient) -> Connect {
    let mut connect = connect_packet(V5, id, true);
    connect.properties.authentication_method = Some(MqttString::new(METHOD).unwrap());
    connect.properties.authentication_data = Some(Bytes::from(scram.first()));
    connect
}

async fn start() -> (Broker, SocketAddr) {
    support::start_built(
        Broker::builder()
            .config(support::config())
            .hook(ScramHook::new()),
    )
    .await
}

/// Runs the CONNECT exchange; returns the client, the CONNACK and the server signature the
/// client expects.
async fn scram_login(addr: SocketAddr, id: &str, scram: &ScramClient) -> (Client, ConnAck, String) {
    let mut client = Client::open(addr, V5).await;
    client
        .send(broker_core::codec::Packet::Connect(Box::new(
            scram_connect(id, scram),
        )))
        .await;
    // [MQTT-4.12.0-2]: the challenge is AUTH 0x18, with the CONNECT's method
    // ([MQTT-4.12.0-5]).
    let challenge = client.expect_auth().await;
    assert_eq!(challenge.code, ReasonCode::ContinueAuthentication);
    assert_eq!(
        challenge
            .properties
            .authentication_method
            .as_ref()
            .map(MqttString::as_str),
        Some(METHOD)
    );
    let server_first = challenge.properties.authentication_data.unwrap();
    let (client_final, signature) = scram.last(&server_first);
    // [MQTT-4.12.0-3]: the answer is AUTH 0x18.
    client
        .send_auth(ReasonCode::ContinueAuthentication, METHOD, &client_final)
        .await;
    let connack = client.expect_connack().await;
    (client, connack, signature)
}

#[tokio::test]
async fn scram_exchange_succeeds_in_two_rounds_mqtt_4_12_0_2_mqtt_4_12_0_5() {
    let (broker, addr) = start().await;
    let scram = ScramClient::new("alice", "wonderland", "c-nonce-1");
    let (mut client, connack, signature) = scram_login(addr, "alice-1", &scram).await;
    assert_eq!(connack.code, ReasonCode::Success);
    // [MQTT-4.12.0-5]: a successful CONNACK carries the method; its data is the server's
    // signature, which proves the server knows the password too.
    assert_eq!(
        connack
            .properties
            .authentication_method
            .as_ref()
            .map(MqttString::as_str),
        Some(METHOD)
    );
    assert_eq!(
        connack.properties.authentication_data.as_deref(),
        Some(signature.as_bytes())
    );
    // The connection is live.
    client.subscribe(1, "t", QoS::AtLeastOnce).await;
    client.publish("t", "hi", QoS::AtLeastOnce, false, 2).await;
    assert_eq!(client.recv_publish().await.payload, "hi");
    client.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn scram_wrong_password_is_refused_with_connack_0x87_mqtt_4_12_0_4() {
    let (broker, addr) = start().await;
    let scram = ScramClient::new("alice", "looking-glass", "c-nonce-2");
    let (mut client, connack, _) = scram_login(addr, "alice-2", &scram).await;
    assert_eq!(connack.code, ReasonCode::NotAuthorized);
    assert_eq!(
        connack
            .properties
            .reason_string
            .as_ref()
            .map(MqttString::as_str),
        Some("bad proof")
    );
    // No Authentication Method on a refusal; the connection closes.
    assert_eq!(connack.properties.authentication_method, None);
    assert!(client.until_closed().await.is_empty());
    assert_eq!(broker.handle().stats().auth_failures, 1);
    broker.shutdown().await;
}

#[tokio::test]
async fn scram_unknown_user_is_refused_with_connack_0x86() {
    let (broker, addr) = start().await;
    let scram = ScramClient::new("mallory", "x", "c-nonce-3");
    let (mut client, connack) = Client::connect_with(addr, scram_connect("m", &scram)).await;
    assert_eq!(connack.code, ReasonCode::BadUserNameOrPassword);
    assert!(client.until_closed().await.is_empty());
    broker.shutdown().await;
}

#[tokio::test]
async fn scram_reauthentication_succeeds_while_the_client_keeps_publishing_mqtt_4_12_1_1() {
    let (broker, addr) = start().await;
    let scram = ScramClient::new("alice", "wonderland", "c-nonce-4");
    let (mut client, connack, _) = scram_login(addr, "alice-4", &scram).await;
    assert_eq!(connack.code, ReasonCode::Success);
    // [MQTT-4.12.1-1]: AUTH 0x19 with the CONNECT's method starts a re-authentication.
    let again = ScramClient::new("alice", "wonderland", "c-nonce-5");
    client
        .send_auth(ReasonCode::ReAuthenticate, METHOD, &again.first())
        .await;
    let challenge = client.expect_auth().await;
    assert_eq!(challenge.code, ReasonCode::ContinueAuthentication);
    // MQTT 5.0 §4.12.1: other packets flow during the re-authentication.
    let ack = client.publish_for_ack("t", QoS::AtLeastOnce, 7).await;
    assert_eq!(ack.code, ReasonCode::NoMatchingSubscribers);
    let (client_final, signature) = again.last(&challenge.properties.authentication_data.unwrap());
    client
        .send_auth(ReasonCode::ContinueAuthentication, METHOD, &client_final)
        .await;
    let done = client.expect_auth().await;
    assert_eq!(done.code, ReasonCode::Success);
    assert_eq!(
        done.properties
            .authentication_method
            .as_ref()
            .map(MqttString::as_str),
        Some(METHOD)
    );
    assert_eq!(
        done.properties.authentication_data.as_deref(),
        Some(signature.as_bytes())
    );
    client.ping().await;
    client.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn scram_failed_reauthentication_disconnects_with_the_code_mqtt_4_12_1_2() {
    let (broker, addr) = start().await;
    let scram = ScramClient::new("alice", "wonderland", "c-nonce-6");
    let (mut client, connack, _) = scram_login(addr, "alice-6", &scram).await;
    assert_eq!(connack.code, ReasonCode::Success);
    let wrong = ScramClient::new("alice", "not-it", "c-nonce-7");
    client
        .send_auth(ReasonCode::ReAuthenticate, METHOD, &wrong.first())
        .await;
    let challenge = client.expect_auth().await;
    let (client_final, _) = wrong.last(&challenge.properties.authentication_data.unwrap());
    client
        .send_auth(ReasonCode::ContinueAuthentication, METHOD, &client_final)
        .await;
    let disconnect = client.expect_disconnect().await;
    assert_eq!(disconnect.code, ReasonCode::NotAuthorized);
    assert_eq!(
        disconnect
            .properties
            .reason_string
            .as_ref()
            .map(MqttString::as_str),
        Some("bad proof")
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn auth_with_another_method_mid_exchange_is_a_protocol_error_mqtt_4_12_0_5() {
    let (broker, addr) = start().await;
    let scram = ScramClient::new("alice", "wonderland", "c-nonce-8");
    let mut client = Client::open(addr, V5).await;
    client
        .send(broker_core::codec::Packet::Connect(Box::new(
            scram_connect("a8", &scram),
        )))
        .await;
    client.expect_auth().await;
    client
        .send_auth(ReasonCode::ContinueAuthentication, "PLAIN", b"x")
        .await;
    assert_eq!(
        client.expect_connack().await.code,
        ReasonCode::ProtocolError
    );
    assert!(client.until_closed().await.is_empty());
    broker.shutdown().await;
}

#[tokio::test]
async fn reauthentication_with_another_method_is_a_protocol_error_mqtt_4_12_1_1() {
    let (broker, addr) = start().await;
    let scram = ScramClient::new("alice", "wonderland", "c-nonce-9");
    let (mut client, _, _) = scram_login(addr, "alice-9", &scram).await;
    client
        .send_auth(ReasonCode::ReAuthenticate, "SCRAM-SHA-1", &scram.first())
        .await;
    let disconnect = client.expect_disconnect().await;
    assert_eq!(disconnect.code, ReasonCode::ProtocolError);
    broker.shutdown().await;
}

#[tokio::test]
async fn auth_from_a_client_that_sent_no_method_is_a_protocol_error_mqtt_4_12_0_7() {
    let (broker, addr) = start().await;
    let (mut client, _) = Client::connect(addr, V5, "plain", true).await;
    client
        .send_auth(ReasonCode::ReAuthenticate, METHOD, b"n,,n=alice,r=x")
        .await;
    assert_eq!(
        client.expect_disconnect().await.code,
        ReasonCode::ProtocolError
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn method_no_hook_knows_is_refused_with_0x8c_mqtt_4_12_0_1() {
    let (broker, addr) = start().await;
    let mut connect = connect_packet(V5, "k", true);
    connect.properties.authentication_method = Some(MqttString::new("GS2-KRB5").unwrap());
    let (mut client, connack) = Client::connect_with(addr, connect.clone()).await;
    assert_eq!(connack.code, ReasonCode::BadAuthenticationMethod);
    assert!(client.until_closed().await.is_empty());
    broker.shutdown().await;
    // With no hooks at all, the same.
    let (broker, addr) = support::start().await;
    let (mut client, connack) = Client::connect_with(addr, connect).await;
    assert_eq!(connack.code, ReasonCode::BadAuthenticationMethod);
    assert!(client.until_closed().await.is_empty());
    broker.shutdown().await;
}
