//! An example Skein plugin: a JSON Web Token signed with HS256 in the CONNECT password.
//!
//! The token's signature must verify with the configured secret, it must not have expired
//! (`exp`, seconds since the Unix epoch, required) nor be used before `nbf` if it has one, and
//! its subject (`sub`) must be the client's user name, or its client identifier when the
//! client sent no user name. Then the client is accepted; otherwise refused with "bad user
//! name or password". A client without a password is left to the next hook.
//!
//! ```toml
//! [plugins.config]
//! secret = "${env:JWT_SECRET}"   # the HS256 key; the broker resolves the reference
//! leeway-s = "30"                 # clock skew allowed on exp and nbf (default 30)
//! ```

use std::cell::RefCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

wit_bindgen::generate!({
    path: "../../wit",
    world: "auth-plugin",
});

use exports::skein::plugin::authn::{AuthResult, Guest as Authn};
use exports::skein::plugin::authz::Guest as Authz;
use exports::skein::plugin::plugin::{Guest as Plugin, PluginInfo};
use skein::plugin::log::{log, Level};
use skein::plugin::session::Client;
use skein::plugin::types::{Decision, Qos, ReasonCode, Refusal};

struct JwtAuth;

#[derive(Default)]
struct Settings {
    secret: Vec<u8>,
    leeway_s: u64,
}

thread_local! {
    static SETTINGS: RefCell<Settings> = RefCell::new(Settings::default());
}

impl Plugin for JwtAuth {
    fn init(config: Vec<(String, String)>) -> Result<PluginInfo, String> {
        let mut settings = Settings {
            leeway_s: 30,
            ..Settings::default()
        };
        for (key, value) in config {
            match key.as_str() {
                "secret" => settings.secret = value.into_bytes(),
                "leeway-s" => {
                    settings.leeway_s = value
                        .parse()
                        .map_err(|_| format!("leeway-s: {value:?} is not a number of seconds"))?;
                }
                other => return Err(format!("unknown configuration key {other:?}")),
            }
        }
        if settings.secret.is_empty() {
            return Err("secret is required".to_owned());
        }
        SETTINGS.with(|s| *s.borrow_mut() = settings);
        Ok(PluginInfo {
            name: "jwt-auth".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            publish_filters: Vec::new(),
            subscribe_filters: Vec::new(),
        })
    }
}

/// Why a token is refused, for the log.
fn check(token: &[u8], expected_subject: &str, now_s: u64) -> Result<(), String> {
    let token = std::str::from_utf8(token).map_err(|_| "the password is not text".to_owned())?;
    let mut parts = token.split('.');
    let (Some(header_part), Some(claims_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JSON Web Token (three dot-separated parts)".to_owned());
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| "a part is not base64url".to_owned())
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(header_part)?)
        .map_err(|_| "the header is not JSON".to_owned())?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err("the token is not signed with HS256".to_owned());
    }
    let signature = decode(signature_part)?;
    // What the signature covers: the header and the claims, as sent.
    let signed = &token[..header_part.len() + 1 + claims_part.len()];
    SETTINGS.with(|s| {
        let mut mac = Hmac::<Sha256>::new_from_slice(&s.borrow().secret)
            .map_err(|_| "the secret is not a key".to_owned())?;
        mac.update(signed.as_bytes());
        // Compared in constant time.
        mac.verify_slice(&signature)
            .map_err(|_| "the signature does not verify".to_owned())
    })?;
    let claims: serde_json::Value = serde_json::from_slice(&decode(claims_part)?)
        .map_err(|_| "the claims are not JSON".to_owned())?;
    let leeway = SETTINGS.with(|s| s.borrow().leeway_s);
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| "the token has no exp".to_owned())?;
    if now_s > exp.saturating_add(leeway) {
        return Err("the token has expired".to_owned());
    }
    if let Some(nbf) = claims.get("nbf").and_then(serde_json::Value::as_u64) {
        if now_s.saturating_add(leeway) < nbf {
            return Err("the token is not valid yet".to_owned());
        }
    }
    if claims.get("sub").and_then(|s| s.as_str()) != Some(expected_subject) {
        return Err("the token's subject is not this client".to_owned());
    }
    Ok(())
}

impl Authn for JwtAuth {
    fn authenticate(client: &Client, password: Option<Vec<u8>>, now_ms: u64) -> AuthResult {
        let Some(token) = password else {
            return AuthResult::Next;
        };
        let subject = client.username().unwrap_or_else(|| client.client_id());
        match check(&token, &subject, now_ms / 1000) {
            Ok(()) => AuthResult::Accept,
            Err(why) => {
                log(Level::Info, &format!("token of {subject} refused: {why}"));
                AuthResult::Deny(Refusal {
                    code: ReasonCode::BadUserNameOrPassword,
                    reason: None,
                    cache: 0,
                })
            }
        }
    }
}

impl Authz for JwtAuth {
    fn authorize_publish(_client: &Client, _topic: String, _qos: Qos, _retain: bool) -> Decision {
        Decision::Next
    }

    fn authorize_subscribe(_client: &Client, _filter: String, _qos: Qos) -> Decision {
        Decision::Next
    }
}

export!(JwtAuth);
