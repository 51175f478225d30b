//! The jwt-auth example with RS256 tokens (the plugin holds the public key) and a claim as
//! the client's topic prefix: attached at CONNECT, it is the client's ACL.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use broker_core::hooks::{
    AuthDecision, AuthenticateRequest, AuthorizePublishRequest, AuthorizeSubscribeRequest,
    AuthzDecision, ClientInfo, Hook, ListenerName, Password, Username,
};
use broker_core::types::{
    ClientId, MqttString, ProtocolVersion, QoS, ReasonCode, TopicFilter, TopicName,
};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use sha2::Sha256;
use skein_plugin_wasm::{LoadError, PluginEngine, PluginSpec, WasmHook};

use crate::guests;

/// A 2048-bit key made for these tests with `openssl genpkey`; it guards nothing.
const TEST_KEY: &str = include_str!("../data/rs256-test-key.pem");

fn private_key() -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_pem(TEST_KEY).unwrap()
}

fn public_pem(key: &RsaPrivateKey) -> String {
    key.to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}

fn rs256(key: &RsaPrivateKey, claims: &str) -> Vec<u8> {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(claims);
    let signed = format!("{header}.{claims}");
    let signature = SigningKey::<Sha256>::new(key.clone())
        .sign(signed.as_bytes())
        .to_bytes();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)).into_bytes()
}

fn later() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600
}

fn client(user: &str) -> Arc<ClientInfo> {
    Arc::new(
        ClientInfo::new(
            ClientId::new("car-1").unwrap(),
            ProtocolVersion::V5,
            ListenerName::new("test"),
        )
        .with_username(Username::new(MqttString::new(user).unwrap())),
    )
}

fn connect(client: &Arc<ClientInfo>, token: Vec<u8>) -> AuthenticateRequest {
    AuthenticateRequest::connect(Arc::clone(client), Some(Password::new(token)))
}

async fn load(config: Vec<(&str, String)>) -> Result<WasmHook, LoadError> {
    let engine = Arc::new(PluginEngine::new().unwrap());
    WasmHook::load(
        &engine,
        PluginSpec::new("jwt", guests::jwt_auth()).with_config(config),
    )
    .await
}

fn refused(decision: &AuthDecision) -> bool {
    decision.reason_code() == Some(ReasonCode::BadUserNameOrPassword)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_tokens_verify_with_the_public_key_and_forged_ones_do_not() {
    let key = private_key();
    let hook = load(vec![("public-key", public_pem(&key))]).await.unwrap();
    let alice = client("alice");
    let claims = format!(r#"{{"sub":"alice","exp":{}}}"#, later());
    let good = hook
        .authenticate(&connect(&alice, rs256(&key, &claims)))
        .await
        .unwrap();
    assert_eq!(good, AuthDecision::allow());

    // The claims changed after signing.
    let token = String::from_utf8(rs256(&key, &claims)).unwrap();
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged_claims =
        URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"alice","exp":{}}}"#, later() + 99));
    parts[1] = &forged_claims;
    let forged = hook
        .authenticate(&connect(&alice, parts.join(".").into_bytes()))
        .await
        .unwrap();
    assert!(refused(&forged), "{forged:?}");
    // An HS256 token, and no secret configured; an unsigned one ("alg": "none").
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(&claims)
    );
    let unsigned = hook
        .authenticate(&connect(&alice, unsigned.into_bytes()))
        .await
        .unwrap();
    assert!(refused(&unsigned), "{unsigned:?}");

    // A key that is not one is refused at load, naming the key.
    let error = load(vec![("public-key", "not a key".to_owned())])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LoadError::Init { reason, .. } if reason.contains("public-key")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prefix_claim_is_attached_at_connect_and_is_the_clients_acl() {
    let key = private_key();
    let hook = load(vec![
        ("public-key", public_pem(&key)),
        ("prefix-claim", "topic_prefix".to_owned()),
    ])
    .await
    .unwrap();
    let alice = client("alice");
    let claims = format!(
        r#"{{"sub":"alice","exp":{},"topic_prefix":"fleet/7/"}}"#,
        later()
    );
    let AuthDecision::Allow(success) = hook
        .authenticate(&connect(&alice, rs256(&key, &claims)))
        .await
        .unwrap()
    else {
        panic!("the token must be accepted");
    };
    assert_eq!(success.attributes.get("topic-prefix"), Some("fleet/7/"));
    // A token without the claim is refused: it would give the client no ACL.
    let bare = format!(r#"{{"sub":"alice","exp":{}}}"#, later());
    let bare = hook
        .authenticate(&connect(&alice, rs256(&key, &bare)))
        .await
        .unwrap();
    assert!(refused(&bare), "{bare:?}");

    let accepted = Arc::new((*alice).clone().with_attributes(success.attributes));
    let publish = |topic: &str| AuthorizePublishRequest {
        client: Arc::clone(&accepted),
        topic: TopicName::new(topic).unwrap(),
        qos: QoS::AtLeastOnce,
        retain: false,
    };
    let inside = hook
        .authorize_publish(&publish("fleet/7/speed"))
        .await
        .unwrap();
    assert!(matches!(inside, AuthzDecision::Allow { .. }), "{inside:?}");
    let outside = hook
        .authorize_publish(&publish("fleet/8/speed"))
        .await
        .unwrap();
    assert!(
        matches!(&outside, AuthzDecision::Deny { refusal, .. } if refusal.code() == ReasonCode::NotAuthorized),
        "{outside:?}"
    );
    let subscribe = hook
        .authorize_subscribe(&AuthorizeSubscribeRequest {
            client: Arc::clone(&accepted),
            filter: TopicFilter::new("fleet/#").unwrap(),
            qos: QoS::AtLeastOnce,
        })
        .await
        .unwrap();
    assert!(
        matches!(subscribe, AuthzDecision::Deny { .. }),
        "{subscribe:?}"
    );
    // A client the token gave no prefix: no opinion.
    let other = hook
        .authorize_publish(&AuthorizePublishRequest {
            client: client("bob"),
            topic: TopicName::new("fleet/8/speed").unwrap(),
            qos: QoS::AtLeastOnce,
            retain: false,
        })
        .await
        .unwrap();
    assert_eq!(other, AuthzDecision::Next);
}
