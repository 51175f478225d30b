//! The MQTT 5 enhanced-authentication exchange and re-authentication.

use std::time::Duration;

use async_trait::async_trait;
use broker_core::hooks::{
    AllowAll, AuthDecision, AuthOutcome, AuthPurpose, AuthSuccess, AuthenticateRequest,
    EnhancedAuth, FailurePolicy, Hook, HookChain, HookError, HookOptions, Interest, Refusal,
};
use broker_core::types::{MqttString, ReasonCode};
use bytes::Bytes;

use super::support::*;

const SCRAM: &str = "SCRAM-TEST";

/// A SCRAM-like two-round challenge/response: the client sends `n=user,r=nonce`; the hook
/// answers with a longer nonce twice, and the client must answer each with
/// `p=secret:nonce`. The hook keeps nothing between rounds: its state travels in the
/// challenge. A real SCRAM proof is an HMAC; the shape of the exchange is the same.
struct ScramLike {
    user: &'static str,
    secret: &'static str,
}

impl ScramLike {
    fn proof(secret: &str, nonce: &str) -> Bytes {
        Bytes::from(format!("p={secret}:{nonce}"))
    }
}

#[async_trait]
impl Hook for ScramLike {
    fn name(&self) -> &str {
        "scram-like"
    }

    fn interest(&self) -> Interest {
        Interest::AUTHENTICATE
    }

    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        let Some(step) = request
            .enhanced
            .as_ref()
            .filter(|step| step.method.as_str() == SCRAM)
        else {
            return Ok(AuthDecision::Next);
        };
        let data = std::str::from_utf8(step.data.as_deref().unwrap_or_default())
            .map_err(|_| HookError::Failed("not UTF-8".into()))?;
        let state = step
            .state
            .as_deref()
            .map(|s| String::from_utf8_lossy(s).into_owned());
        let wrong = || {
            AuthDecision::Deny(
                Refusal::new(ReasonCode::NotAuthorized)
                    .with_reason(MqttString::from_static("bad proof")),
            )
        };
        match (step.round, state) {
            (0, None) => {
                let Some(nonce) = data.strip_prefix(&format!("n={},r=", self.user)) else {
                    return Ok(AuthDecision::deny(ReasonCode::BadUserNameOrPassword));
                };
                let nonce = format!("{nonce}-s1");
                Ok(AuthDecision::challenge(
                    Bytes::from(format!("r={nonce}")),
                    Some(Bytes::from(nonce)),
                ))
            }
            (1, Some(nonce)) => {
                if data.as_bytes() != Self::proof(self.secret, &nonce) {
                    return Ok(wrong());
                }
                let nonce = format!("{nonce}-s2");
                Ok(AuthDecision::challenge(
                    Bytes::from(format!("r={nonce}")),
                    Some(Bytes::from(nonce)),
                ))
            }
            (2, Some(nonce)) => {
                if data.as_bytes() != Self::proof(self.secret, &nonce) {
                    return Ok(wrong());
                }
                Ok(AuthDecision::Allow(AuthSuccess {
                    data: Some(Bytes::from_static(b"v=server-signature")),
                    reason: None,
                    ..AuthSuccess::default()
                }))
            }
            _ => Err(HookError::Failed("unexpected round".into())),
        }
    }
}

fn scram_chain(log: &Log) -> HookChain {
    HookChain::builder()
        .hook(Scripted::new("before", log))
        .hook(ScramLike {
            user: "alice",
            secret: "s3cret",
        })
        .hook(AllowAll)
        .require_authentication()
        .build()
}

/// The client's side: answers each challenge with the proof for the nonce it carries.
fn answer(challenge: &Bytes, secret: &str) -> Option<Bytes> {
    let nonce = std::str::from_utf8(challenge)
        .unwrap()
        .strip_prefix("r=")
        .unwrap();
    Some(ScramLike::proof(secret, nonce))
}

/// Runs the exchange, answering with `secrets[i]` in round `i + 1`; returns the rounds seen
/// and the final outcome.
async fn run_exchange(
    chain: &HookChain,
    start: AuthenticateRequest,
    secrets: &[&str],
) -> (Vec<u32>, AuthOutcome) {
    let mut outcome = chain.authenticate(&start).await;
    let mut rounds = Vec::new();
    for secret in secrets {
        let AuthOutcome::Continue { data, pending, .. } = &outcome else {
            break;
        };
        assert_eq!(outcome.reason_code(), ReasonCode::ContinueAuthentication);
        assert_eq!(pending.method().as_str(), SCRAM);
        assert_eq!(pending.purpose(), start.purpose);
        rounds.push(pending.round());
        let auth_packet = AuthenticateRequest {
            enhanced: Some(EnhancedAuth::new(method(SCRAM), answer(data, secret))),
            ..start.clone()
        };
        outcome = chain.continue_authentication(pending, &auth_packet).await;
    }
    (rounds, outcome)
}

fn scram_connect(id: &str) -> AuthenticateRequest {
    connect(client(id)).with_enhanced(EnhancedAuth::new(
        method(SCRAM),
        Some(Bytes::from_static(b"n=alice,r=abc")),
    ))
}

#[tokio::test]
async fn enhanced_authentication_continues_twice_then_succeeds() {
    let log = new_log();
    let chain = scram_chain(&log);
    let (rounds, outcome) = run_exchange(&chain, scram_connect("c"), &["s3cret", "s3cret"]).await;
    assert_eq!(rounds, [0, 1]);
    assert_eq!(
        outcome,
        AuthOutcome::Allowed(AuthSuccess {
            data: Some(Bytes::from_static(b"v=server-signature")),
            reason: None,
            ..AuthSuccess::default()
        })
    );
    // Only round 0 goes down the chain; the answers go to the challenging hook alone.
    assert_eq!(calls(&log), ["before:authenticate"]);
}

#[tokio::test]
async fn enhanced_authentication_with_a_wrong_answer_fails() {
    let log = new_log();
    let chain = scram_chain(&log);
    for secrets in [&["wrong", "s3cret"][..], &["s3cret", "wrong"][..]] {
        let (_, outcome) = run_exchange(&chain, scram_connect("c"), secrets).await;
        let refusal = denied(&outcome).expect("refused");
        assert_eq!(refusal.code(), ReasonCode::NotAuthorized);
        assert_eq!(refusal.reason().map(MqttString::as_str), Some("bad proof"));
    }
    // A user the hook does not know is refused in round 0.
    let stranger = connect(client("c")).with_enhanced(EnhancedAuth::new(
        method(SCRAM),
        Some(Bytes::from_static(b"n=mallory,r=x")),
    ));
    assert_eq!(
        chain.authenticate(&stranger).await.reason_code(),
        ReasonCode::BadUserNameOrPassword
    );
}

#[tokio::test]
async fn reauthentication_uses_the_same_exchange() {
    let log = new_log();
    let chain = scram_chain(&log);
    let reauth = AuthenticateRequest::reauthenticate(
        client("c"),
        method(SCRAM),
        Some(Bytes::from_static(b"n=alice,r=zz")),
    );
    assert_eq!(reauth.purpose, AuthPurpose::Reauthenticate);
    let (rounds, outcome) = run_exchange(&chain, reauth.clone(), &["s3cret", "s3cret"]).await;
    assert_eq!(rounds, [0, 1]);
    assert!(outcome.is_allowed());
    let (_, outcome) = run_exchange(&chain, reauth, &["s3cret", "nope"]).await;
    assert_eq!(outcome.reason_code(), ReasonCode::NotAuthorized);
}

#[tokio::test]
async fn an_answer_with_another_method_is_a_protocol_error() {
    let chain = scram_chain(&new_log());
    let start = scram_connect("c");
    let AuthOutcome::Continue { pending, .. } = chain.authenticate(&start).await else {
        panic!("expected a challenge");
    };
    let other = AuthenticateRequest {
        enhanced: Some(EnhancedAuth::new(method("OTHER"), None)),
        ..start.clone()
    };
    let outcome = chain.continue_authentication(&pending, &other).await;
    assert_eq!(outcome.reason_code(), ReasonCode::ProtocolError);
    let missing = AuthenticateRequest {
        enhanced: None,
        ..start
    };
    assert_eq!(
        chain
            .continue_authentication(&pending, &missing)
            .await
            .reason_code(),
        ReasonCode::ProtocolError
    );
}

/// Challenges in round 0, then answers the client with its scripted answer.
struct TwoFaced(Answer<AuthDecision>, Scripted);

#[async_trait]
impl Hook for TwoFaced {
    fn name(&self) -> &str {
        "two-faced"
    }
    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        if request
            .enhanced
            .as_ref()
            .is_some_and(|step| step.round == 0)
        {
            return Ok(AuthDecision::challenge(Bytes::from_static(b"?"), None));
        }
        self.1.play("authenticate", &self.0).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_or_silent_challenger_ends_the_exchange() {
    let log = new_log();
    // Round 0 challenges; the answer hangs (timeout), fails, or gets "next".
    for answer_behaviour in [
        Answer::Hang,
        Answer::Fail,
        Answer::Decide(AuthDecision::Next),
    ] {
        let open = HookOptions::default()
            .timeout(Duration::from_secs(1))
            .on_authenticate_failure(FailurePolicy::Next);
        let chain = HookChain::builder()
            .clock(tokio_clock())
            .hook_with(TwoFaced(answer_behaviour, Scripted::new("x", &log)), open)
            .hook(AllowAll)
            .build();
        let start = connect(client("c")).with_enhanced(EnhancedAuth::new(method("M"), None));
        let AuthOutcome::Continue { pending, .. } = chain.authenticate(&start).await else {
            panic!("expected a challenge");
        };
        let outcome = chain.continue_authentication(&pending, &start).await;
        assert_eq!(outcome.reason_code(), ReasonCode::NotAuthorized);
    }
}

#[tokio::test]
async fn a_challenge_without_enhanced_authentication_is_a_hook_failure() {
    let log = new_log();
    let challenge = AuthDecision::challenge(Bytes::from_static(b"?"), None);
    let data_without_method = AuthDecision::Allow(AuthSuccess {
        data: Some(Bytes::from_static(b"x")),
        reason: None,
        ..AuthSuccess::default()
    });
    for bad in [challenge, data_without_method] {
        let chain = HookChain::builder()
            .hook(Scripted::new("confused", &log).auth(Answer::Decide(bad.clone())))
            .hook(AllowAll)
            .build();
        assert_eq!(
            chain
                .authenticate(&connect(client("c")))
                .await
                .reason_code(),
            ReasonCode::NotAuthorized
        );
        let lenient = HookChain::builder()
            .hook_with(
                Scripted::new("confused", &log).auth(Answer::Decide(bad)),
                HookOptions::default().on_authenticate_failure(FailurePolicy::Next),
            )
            .hook(AllowAll)
            .require_authentication()
            .build();
        assert!(lenient
            .authenticate(&connect(client("c")))
            .await
            .is_allowed());
    }
}
