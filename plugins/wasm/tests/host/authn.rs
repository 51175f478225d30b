//! The jwt-auth example through the `authn` interface: an HS256 token in the CONNECT password,
//! its signature, expiry and subject checked against the client.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use broker_core::hooks::{
    AuthDecision, AuthenticateRequest, ClientInfo, Hook, Interest, ListenerName, Password, Username,
};
use broker_core::types::{ClientId, MqttString, ProtocolVersion, ReasonCode};
use sha2::{Digest, Sha256};
use skein_plugin_wasm::{LoadError, PluginEngine, PluginSpec, WasmHook};

use crate::guests;

const SECRET: &[u8] = b"the test secret";

/// HMAC-SHA256 (RFC 2104), for signing the test tokens.
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn token(secret: &[u8], claims: &str) -> Vec<u8> {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(claims);
    let signed = format!("{header}.{claims}");
    let signature = URL_SAFE_NO_PAD.encode(hmac(secret, signed.as_bytes()));
    format!("{signed}.{signature}").into_bytes()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn connect(user: Option<&str>, password: Option<Vec<u8>>) -> AuthenticateRequest {
    let mut client = ClientInfo::new(
        ClientId::new("device-7").unwrap(),
        ProtocolVersion::V5,
        ListenerName::new("test"),
    );
    if let Some(user) = user {
        client = client.with_username(Username::new(MqttString::new(user).unwrap()));
    }
    AuthenticateRequest::connect(Arc::new(client), password.map(Password::new))
}

fn refused(decision: &AuthDecision) -> bool {
    decision.reason_code() == Some(ReasonCode::BadUserNameOrPassword)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwt_example_accepts_a_good_token_and_refuses_a_forged_expired_or_foreign_one() {
    let engine = Arc::new(PluginEngine::new().unwrap());
    let spec =
        PluginSpec::new("jwt", guests::jwt_auth()).with_config([("secret", "the test secret")]);
    let hook = WasmHook::load(&engine, spec).await.unwrap();
    assert_eq!(
        hook.interest(),
        Interest::AUTHENTICATE.union(Interest::AUTHORIZE)
    );
    let later = now() + 3600;
    let alice = token(SECRET, &format!(r#"{{"sub":"alice","exp":{later}}}"#));
    let accepted = hook
        .authenticate(&connect(Some("alice"), Some(alice.clone())))
        .await
        .unwrap();
    assert_eq!(accepted, AuthDecision::allow());
    // Without a user name the subject must be the client identifier.
    let device = token(SECRET, &format!(r#"{{"sub":"device-7","exp":{later}}}"#));
    let by_id = hook
        .authenticate(&connect(None, Some(device)))
        .await
        .unwrap();
    assert_eq!(by_id, AuthDecision::allow());
    // Someone else's token, a forged one, an expired one, one not valid yet, garbage.
    let foreign = hook
        .authenticate(&connect(Some("bob"), Some(alice)))
        .await
        .unwrap();
    assert!(refused(&foreign), "{foreign:?}");
    let forged = token(
        b"another secret",
        &format!(r#"{{"sub":"alice","exp":{later}}}"#),
    );
    let forged = hook
        .authenticate(&connect(Some("alice"), Some(forged)))
        .await
        .unwrap();
    assert!(refused(&forged), "{forged:?}");
    let expired = token(
        SECRET,
        &format!(r#"{{"sub":"alice","exp":{}}}"#, now() - 3600),
    );
    let expired = hook
        .authenticate(&connect(Some("alice"), Some(expired)))
        .await
        .unwrap();
    assert!(refused(&expired), "{expired:?}");
    let early = token(
        SECRET,
        &format!(r#"{{"sub":"alice","exp":{later},"nbf":{}}}"#, now() + 600),
    );
    let early = hook
        .authenticate(&connect(Some("alice"), Some(early)))
        .await
        .unwrap();
    assert!(refused(&early), "{early:?}");
    let garbage = hook
        .authenticate(&connect(Some("alice"), Some(b"not.a.token".to_vec())))
        .await
        .unwrap();
    assert!(refused(&garbage), "{garbage:?}");
    // No password: the next hook decides.
    let none = hook
        .authenticate(&connect(Some("alice"), None))
        .await
        .unwrap();
    assert_eq!(none, AuthDecision::Next);
    // A secret is required.
    let error = WasmHook::load(&engine, PluginSpec::new("jwt", guests::jwt_auth()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LoadError::Init { reason, .. } if reason.contains("secret")),
        "{error}"
    );
}
