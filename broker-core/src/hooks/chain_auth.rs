//! Authentication through the chain: CONNECT, the MQTT 5 enhanced-authentication exchange
//! and re-authentication.

use super::chain::{report, HookEntry};
use super::hook_metrics::Point;
use super::{
    Anonymous, AuthDecision, AuthOutcome, AuthPurpose, AuthSuccess, AuthenticateRequest,
    EnhancedAuth, FailurePolicy, HookChain, HookError, Interest, PendingAuth, Refusal,
};
use crate::codec::PacketType;
use crate::types::ReasonCode;

impl HookChain {
    /// Authenticates a CONNECT, or starts a re-authentication (AUTH 0x19): round 0.
    ///
    /// The answer is [`AuthOutcome::Allowed`] (CONNACK 0x00, or AUTH 0x00 after
    /// re-authentication), [`AuthOutcome::Continue`] (send AUTH 0x18; the client's answer
    /// goes to [`HookChain::continue_authentication`]) or [`AuthOutcome::Denied`] (CONNACK
    /// with the code, or DISCONNECT after a failed re-authentication).
    pub async fn authenticate(&self, request: &AuthenticateRequest) -> AuthOutcome {
        self.authenticate_with(request, self.anonymous).await
    }

    /// [`HookChain::authenticate`] with `anonymous` in place of the chain's own policy for
    /// clients no hook authenticates (a listener's `allow_anonymous` setting).
    pub async fn authenticate_with(
        &self,
        request: &AuthenticateRequest,
        anonymous: Anonymous,
    ) -> AuthOutcome {
        let packet = answer_packet(request.purpose);
        for (index, entry) in self.entries(Interest::AUTHENTICATE) {
            let result = match self
                .guarded(entry, Point::Authenticate, entry.hook.authenticate(request))
                .await
            {
                Ok(decision) => resolve(index, request, decision),
                Err(error) => Err(error),
            };
            match result {
                Ok(Some(outcome)) => return fit(outcome, packet),
                Ok(None) => {}
                Err(error) => match entry.options.on_authenticate_failure {
                    FailurePolicy::Deny => {
                        report(entry, "authenticate", &error, "denied");
                        return AuthOutcome::Denied(Refusal::not_authorized());
                    }
                    FailurePolicy::Next => {
                        report(entry, "authenticate", &error, "next hook asked");
                    }
                },
            }
        }
        if request.enhanced.is_some() {
            // No hook knows the method ([MQTT-4.12.0-1] allows CONNACK 0x8C).
            return fit(
                AuthOutcome::Denied(Refusal::new(ReasonCode::BadAuthenticationMethod)),
                packet,
            );
        }
        match anonymous {
            Anonymous::Allow => AuthOutcome::Allowed(AuthSuccess::default()),
            Anonymous::Deny => AuthOutcome::Denied(Refusal::not_authorized()),
        }
    }

    /// Passes the client's AUTH 0x18 answer to the hook that challenged (`pending`, from the
    /// last [`AuthOutcome::Continue`]), with the state it kept and the next round number.
    ///
    /// `request` is the connection's request with
    /// [`AuthenticateRequest::enhanced`] set from the AUTH packet
    /// ([`EnhancedAuth::new`]`(method, data)`); its round, state and purpose are taken from
    /// `pending`. An AUTH with another method is refused with 0x82 Protocol Error. Only the
    /// challenging hook is asked: if it fails, times out or has no opinion, the exchange is
    /// refused (0x87), whatever its failure policy.
    pub async fn continue_authentication(
        &self,
        pending: &PendingAuth,
        request: &AuthenticateRequest,
    ) -> AuthOutcome {
        let packet = answer_packet(pending.purpose);
        let Some(answer) = &request.enhanced else {
            return fit(
                AuthOutcome::Denied(Refusal::new(ReasonCode::ProtocolError)),
                packet,
            );
        };
        if answer.method != pending.method {
            return fit(
                AuthOutcome::Denied(Refusal::new(ReasonCode::ProtocolError)),
                packet,
            );
        }
        let Some(entry) = self.hooks.get(pending.hook) else {
            // A PendingAuth from another chain.
            return AuthOutcome::Denied(Refusal::new(ReasonCode::ImplementationSpecificError));
        };
        let step = AuthenticateRequest {
            client: request.client.clone(),
            password: request.password.clone(),
            purpose: pending.purpose,
            enhanced: Some(EnhancedAuth {
                method: pending.method.clone(),
                data: answer.data.clone(),
                round: pending.round.saturating_add(1),
                state: pending.state.clone(),
            }),
        };
        let result = match self
            .guarded(entry, Point::Authenticate, entry.hook.authenticate(&step))
            .await
        {
            Ok(decision) => resolve(pending.hook, &step, decision),
            Err(error) => Err(error),
        };
        match result {
            Ok(Some(outcome)) => fit(outcome, packet),
            Ok(None) => refuse_exchange(
                entry,
                &HookError::InvalidDecision("no opinion in the middle of its own exchange"),
            ),
            Err(error) => refuse_exchange(entry, &error),
        }
    }
}

/// The packet that answers an authentication for `purpose` when it fails.
fn answer_packet(purpose: AuthPurpose) -> PacketType {
    match purpose {
        AuthPurpose::Connect => PacketType::ConnAck,
        AuthPurpose::Reauthenticate => PacketType::Disconnect,
    }
}

/// What a hook's decision means for the chain: an outcome, `None` for next, or an error
/// when the decision does not fit the request.
fn resolve(
    index: usize,
    request: &AuthenticateRequest,
    decision: AuthDecision,
) -> Result<Option<AuthOutcome>, HookError> {
    match decision {
        AuthDecision::Next => Ok(None),
        AuthDecision::Deny(refusal) => Ok(Some(AuthOutcome::Denied(refusal))),
        AuthDecision::Allow(success) => {
            if success.data.is_some() && request.enhanced.is_none() {
                return Err(HookError::InvalidDecision(
                    "authentication data without enhanced authentication",
                ));
            }
            Ok(Some(AuthOutcome::Allowed(success)))
        }
        AuthDecision::Continue(challenge) => {
            let Some(enhanced) = &request.enhanced else {
                return Err(HookError::InvalidDecision(
                    "a challenge without enhanced authentication",
                ));
            };
            Ok(Some(AuthOutcome::Continue {
                data: challenge.data,
                reason: challenge.reason,
                pending: PendingAuth {
                    hook: index,
                    method: enhanced.method.clone(),
                    round: enhanced.round,
                    state: challenge.state,
                    purpose: request.purpose,
                },
            }))
        }
    }
}

fn fit(outcome: AuthOutcome, packet: PacketType) -> AuthOutcome {
    match outcome {
        AuthOutcome::Denied(refusal) => AuthOutcome::Denied(refusal.fit_for(packet)),
        other => other,
    }
}

fn refuse_exchange(entry: &HookEntry, error: &HookError) -> AuthOutcome {
    report(entry, "authenticate", error, "exchange refused");
    AuthOutcome::Denied(Refusal::not_authorized())
}
