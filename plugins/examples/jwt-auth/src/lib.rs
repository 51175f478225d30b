//! An example Skein plugin: a JSON Web Token in the CONNECT password, signed with HS256 (a
//! shared secret) or RS256 (an RSA key pair; the plugin holds the public key).
//!
//! The token's signature must verify with the configured key for its `alg`, it must not have
//! expired (`exp`, seconds since the Unix epoch, required) nor be used before `nbf` if it has
//! one, and its subject (`sub`) must be the client's user name, or its client identifier when
//! the client sent no user name. Then the client is accepted; otherwise refused with "bad
//! user name or password". A client without a password is left to the next hook.
//!
//! With `prefix-claim` set, the token must carry that claim: the topic prefix the client may
//! use. It is attached to the connection (attribute `topic-prefix`), and the plugin then
//! allows the client's publishes and subscriptions under the prefix and denies the rest: the
//! token is the ACL.
//!
//! ```toml
//! [plugins.config]
//! secret = "${env:JWT_SECRET}"             # the HS256 key; the broker resolves the reference
//! public-key = "${file:/etc/skein/jwt.pem}" # the RS256 key (PEM, "BEGIN PUBLIC KEY")
//! leeway-s = "30"                           # clock skew allowed on exp and nbf (default 30)
//! prefix-claim = "topic_prefix"             # optional: the claim holding the topic prefix
//! ```

use std::cell::RefCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha2::Sha256;

use skein_plugin_sdk::auth_plugin::{exports, skein};

use exports::skein::plugin::authn::{Accepted, AuthRequest, AuthResult, Guest as Authn};
use exports::skein::plugin::authz::Guest as Authz;
use exports::skein::plugin::plugin::{Guest as Plugin, PluginInfo};
use skein::plugin::log::{log, Level};
use skein::plugin::session::Client;
use skein::plugin::types::{Decision, Qos, ReasonCode, Refusal};

struct JwtAuth;

#[derive(Default)]
struct Settings {
    secret: Vec<u8>,
    public_key: Option<VerifyingKey<Sha256>>,
    leeway_s: u64,
    prefix_claim: Option<String>,
}

/// The attribute that carries the client's topic prefix.
const PREFIX: &str = "topic-prefix";

thread_local! {
    static SETTINGS: RefCell<Settings> = RefCell::new(Settings::default());
}

impl Plugin for JwtAuth {
    fn init(config: Vec<(String, String)>) -> Result<PluginInfo, String> {
        skein_plugin_sdk::auth_plugin::install_panic_hook();
        let mut settings = Settings {
            leeway_s: 30,
            ..Settings::default()
        };
        for (key, value) in config {
            match key.as_str() {
                "secret" => settings.secret = value.into_bytes(),
                "public-key" => {
                    let key = RsaPublicKey::from_public_key_pem(value.trim()).map_err(|e| {
                        format!("public-key: not a PEM RSA public key (BEGIN PUBLIC KEY): {e}")
                    })?;
                    settings.public_key = Some(VerifyingKey::new(key));
                }
                "prefix-claim" if !value.is_empty() => settings.prefix_claim = Some(value),
                "leeway-s" => {
                    settings.leeway_s = value
                        .parse()
                        .map_err(|_| format!("leeway-s: {value:?} is not a number of seconds"))?;
                }
                other => return Err(format!("unknown configuration key {other:?}")),
            }
        }
        if settings.secret.is_empty() && settings.public_key.is_none() {
            return Err("a key is required: secret (HS256) or public-key (RS256)".to_owned());
        }
        SETTINGS.with(|s| *s.borrow_mut() = settings);
        Ok(PluginInfo {
            name: "jwt-auth".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            publish_filters: Vec::new(),
            subscribe_filters: Vec::new(),
            events: Vec::new(),
        })
    }
}

/// The token's claims once its signature, expiry and subject are checked; why it is
/// refused otherwise, for the log.
fn check(token: &[u8], expected_subject: &str, now_s: u64) -> Result<serde_json::Value, String> {
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
    let signature = decode(signature_part)?;
    // What the signature covers: the header and the claims, as sent.
    let signed = &token.as_bytes()[..header_part.len() + 1 + claims_part.len()];
    match header.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => verify_hs256(signed, &signature)?,
        Some("RS256") => verify_rs256(signed, &signature)?,
        _ => return Err("the token is not signed with HS256 or RS256".to_owned()),
    }
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
    Ok(claims)
}

fn verify_hs256(signed: &[u8], signature: &[u8]) -> Result<(), String> {
    SETTINGS.with(|s| {
        let s = s.borrow();
        if s.secret.is_empty() {
            return Err("HS256, and no secret is configured".to_owned());
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&s.secret)
            .map_err(|_| "the secret is not a key".to_owned())?;
        mac.update(signed);
        // Compared in constant time.
        mac.verify_slice(signature)
            .map_err(|_| "the signature does not verify".to_owned())
    })
}

fn verify_rs256(signed: &[u8], signature: &[u8]) -> Result<(), String> {
    SETTINGS.with(|s| {
        let s = s.borrow();
        let key = s
            .public_key
            .as_ref()
            .ok_or_else(|| "RS256, and no public-key is configured".to_owned())?;
        let signature = Signature::try_from(signature)
            .map_err(|_| "the signature is not an RSA signature".to_owned())?;
        key.verify(signed, &signature)
            .map_err(|_| "the signature does not verify".to_owned())
    })
}

/// The attributes to attach for `claims`: the topic prefix when `prefix-claim` is set.
fn attributes(claims: &serde_json::Value) -> Result<Vec<(String, String)>, String> {
    let Some(claim) = SETTINGS.with(|s| s.borrow().prefix_claim.clone()) else {
        return Ok(Vec::new());
    };
    let prefix = claims
        .get(&claim)
        .and_then(|p| p.as_str())
        .ok_or_else(|| format!("the token has no {claim} claim (text)"))?;
    Ok(vec![(PREFIX.to_owned(), prefix.to_owned())])
}

/// Allowed under the client's topic prefix, denied elsewhere (both for a minute); no
/// opinion for a client the token gave no prefix.
fn by_prefix(client: &Client, topic: &str) -> Decision {
    match client.attribute(PREFIX) {
        Some(prefix) if topic.starts_with(&prefix) => Decision::Allow(60_000),
        Some(_) => Decision::Deny(Refusal {
            code: ReasonCode::NotAuthorized,
            reason: Some("outside the token's topic prefix".to_owned()),
            cache: 60_000,
        }),
        None => Decision::Next,
    }
}

impl Authn for JwtAuth {
    fn authenticate(client: &Client, request: AuthRequest) -> AuthResult {
        // Tokens come in the password; enhanced authentication is another hook's.
        let (Some(token), None) = (request.password, request.enhanced) else {
            return AuthResult::Next;
        };
        let subject = client.username().unwrap_or_else(|| client.client_id());
        let checked = check(&token, &subject, request.now_ms / 1000)
            .and_then(|claims| attributes(&claims));
        match checked {
            Ok(attributes) => AuthResult::Accept(Accepted {
                data: None,
                reason: None,
                attributes,
            }),
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
    fn authorize_publish(client: &Client, topic: String, _qos: Qos, _retain: bool) -> Decision {
        by_prefix(client, &topic)
    }

    fn authorize_subscribe(client: &Client, filter: String, _qos: Qos) -> Decision {
        by_prefix(client, &filter)
    }
}

skein_plugin_sdk::auth_plugin::export!(JwtAuth);
