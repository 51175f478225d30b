//! A hook that lets everyone in and allows everything.

use async_trait::async_trait;

use crate::hooks::{
    AuthDecision, AuthenticateRequest, AuthorizePublishRequest, AuthorizeSubscribeRequest,
    AuthzDecision, Hook, HookError, Interest,
};

/// Authenticates every plain CONNECT and authorizes every publish and subscription.
///
/// Useful at the end of a chain that refuses anonymous clients, to let in what the hooks
/// before it had no opinion on. It has no opinion on MQTT 5 enhanced authentication: it
/// cannot complete an exchange it does not know.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

#[async_trait]
impl Hook for AllowAll {
    fn name(&self) -> &str {
        "allow-all"
    }

    fn interest(&self) -> Interest {
        Interest::AUTHENTICATE | Interest::AUTHORIZE
    }

    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        Ok(if request.enhanced.is_some() {
            AuthDecision::Next
        } else {
            AuthDecision::allow()
        })
    }

    async fn authorize_publish(
        &self,
        _request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        Ok(AuthzDecision::allow())
    }

    async fn authorize_subscribe(
        &self,
        _request: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        Ok(AuthzDecision::allow())
    }
}
