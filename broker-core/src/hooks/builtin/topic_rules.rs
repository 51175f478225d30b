//! An ordered list of allow and deny rules by topic filter.

use std::time::Duration;

use async_trait::async_trait;

use super::{Access, Effect, TopicRule};
use crate::hooks::{
    AuthorizePublishRequest, AuthorizeSubscribeRequest, AuthzDecision, Hook, HookError, Interest,
};
use crate::types::{ReasonCode, TopicFilter};

/// Authorizes publishes and subscriptions by topic filter: the first rule that applies
/// decides ([`TopicRule::applies_to_publish`], [`TopicRule::applies_to_subscribe`]); when
/// none applies the hook has no opinion. Denials are 0x87 Not authorized.
///
/// The rules are the same for every client; per-user and per-client rules are the ACL
/// file's job. Decisions carry the configured cache TTL (none by default).
#[derive(Debug, Clone, Default)]
pub struct TopicRules {
    rules: Vec<TopicRule>,
    cache_ttl: Option<Duration>,
}

impl TopicRules {
    /// No rules.
    #[must_use]
    pub fn new() -> Self {
        TopicRules::default()
    }

    /// Adds a rule.
    #[must_use]
    pub fn rule(mut self, rule: TopicRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Adds a rule allowing `access` to `filter`.
    #[must_use]
    pub fn allow(self, access: Access, filter: TopicFilter) -> Self {
        self.rule(TopicRule {
            filter,
            access,
            effect: Effect::Allow,
        })
    }

    /// Adds a rule denying `access` to `filter`.
    #[must_use]
    pub fn deny(self, access: Access, filter: TopicFilter) -> Self {
        self.rule(TopicRule {
            filter,
            access,
            effect: Effect::Deny,
        })
    }

    /// Lets the chain cache this hook's decisions for `ttl`.
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = Some(ttl);
        self
    }

    /// The rules, in order.
    #[must_use]
    pub fn rules(&self) -> &[TopicRule] {
        &self.rules
    }

    fn decide(&self, rule: Option<&TopicRule>) -> AuthzDecision {
        let decision = match rule.map(|rule| rule.effect) {
            None => return AuthzDecision::Next,
            Some(Effect::Allow) => AuthzDecision::allow(),
            Some(Effect::Deny) => AuthzDecision::deny(ReasonCode::NotAuthorized),
        };
        match self.cache_ttl {
            Some(ttl) => decision.cached(ttl),
            None => decision,
        }
    }
}

#[async_trait]
impl Hook for TopicRules {
    fn name(&self) -> &str {
        "topic-rules"
    }

    fn interest(&self) -> Interest {
        Interest::AUTHORIZE
    }

    async fn authorize_publish(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        let rule = self
            .rules
            .iter()
            .find(|rule| rule.applies_to_publish(&request.topic));
        Ok(self.decide(rule))
    }

    async fn authorize_subscribe(
        &self,
        request: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        let rule = self
            .rules
            .iter()
            .find(|rule| rule.applies_to_subscribe(&request.filter));
        Ok(self.decide(rule))
    }
}
