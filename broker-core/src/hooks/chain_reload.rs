//! Reloading through the chain: every hook's [`Hook::reload`](super::Hook::reload), in
//! order, then the decision cache cleared.

use super::{HookChain, HookReload, ReloadReport};

impl HookChain {
    /// Asks every hook, first to last, to reload its configuration
    /// ([`Hook::reload`](super::Hook::reload)), and reports each one's answer under its
    /// name. A hook that fails keeps its old configuration and does not stop the others.
    ///
    /// When at least one hook reloaded, every cached authorization decision is forgotten
    /// afterwards ([`HookChain::invalidate_all`]), so that the next publish and subscription
    /// follow the new rules at once instead of when their TTL ends.
    ///
    /// Reloads run one after the other on the calling task, with no timeout (the hooks'
    /// [`HookOptions::timeout`](super::HookOptions) is for requests). Call it from a task of
    /// its own, as the node does on SIGHUP; requests go on being answered meanwhile.
    pub async fn reload(&self) -> ReloadReport {
        let mut hooks = Vec::with_capacity(self.hooks.len());
        for entry in self.hooks.iter() {
            hooks.push(HookReload {
                hook: entry.hook.name().to_owned(),
                outcome: entry.hook.reload().await,
            });
        }
        let report = ReloadReport::new(hooks);
        if report.any_reloaded() {
            self.invalidate_all();
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;

    use crate::hooks::{
        AuthorizePublishRequest, AuthzDecision, ClientInfo, Hook, HookChain, HookError, Reload,
        ReloadError,
    };
    use crate::types::{ClientId, ProtocolVersion, QoS, TopicName};

    /// A hook that allows every publish (cached for a minute) and answers reloads with
    /// `answer`, counting them.
    struct Reloading {
        name: &'static str,
        answer: Option<Result<Reload, ReloadError>>,
        reloads: AtomicUsize,
    }

    impl Reloading {
        fn new(name: &'static str, answer: Option<Result<Reload, ReloadError>>) -> Arc<Self> {
            Arc::new(Reloading {
                name,
                answer,
                reloads: AtomicUsize::new(0),
            })
        }
    }

    #[async_trait]
    impl Hook for Reloading {
        fn name(&self) -> &str {
            self.name
        }

        async fn authorize_publish(
            &self,
            _request: &AuthorizePublishRequest,
        ) -> Result<AuthzDecision, HookError> {
            Ok(AuthzDecision::allow().cached(Duration::from_secs(60)))
        }

        async fn reload(&self) -> Result<Reload, ReloadError> {
            self.reloads.fetch_add(1, Ordering::Relaxed);
            match &self.answer {
                Some(answer) => answer.clone(),
                None => Ok(Reload::Unsupported),
            }
        }
    }

    /// A hook that keeps the trait's default `reload`.
    struct Plain;

    #[async_trait]
    impl Hook for Plain {
        fn name(&self) -> &str {
            "plain"
        }
    }

    fn chain(hooks: &[Arc<Reloading>]) -> HookChain {
        let mut builder = HookChain::builder().hook(Plain);
        for hook in hooks {
            builder = builder.shared_hook(hook.clone(), Default::default());
        }
        builder.build()
    }

    async fn publish(chain: &HookChain) {
        let client = Arc::new(ClientInfo::new(
            ClientId::new("c").unwrap(),
            ProtocolVersion::V5,
            "test".into(),
        ));
        let request = AuthorizePublishRequest {
            client,
            topic: TopicName::new("a/b").unwrap(),
            qos: QoS::AtMostOnce,
            retain: false,
        };
        chain.authorize_publish(&request).await;
    }

    #[tokio::test]
    async fn every_hook_is_asked_in_order_and_failures_are_named() {
        let failing = Reloading::new(
            "failing",
            Some(Err(ReloadError::new(
                "the file",
                "its 2 rules stay",
                "line 3: bad",
            ))),
        );
        let reloading = Reloading::new("reloading", Some(Ok(Reload::reloaded("file (3 rules)"))));
        let chain = chain(&[failing.clone(), reloading.clone()]);
        publish(&chain).await;
        assert_eq!(chain.cached_decisions(), 1);

        let report = chain.reload().await;
        let names: Vec<&str> = report.iter().map(|entry| entry.hook.as_str()).collect();
        assert_eq!(names, ["plain", "failing", "reloading"]);
        assert_eq!(
            report.iter().next().map(|e| &e.outcome),
            Some(&Ok(Reload::Unsupported))
        );
        assert_eq!(
            report.reloaded().collect::<Vec<_>>(),
            [("reloading", "file (3 rules)")]
        );
        let failures: Vec<_> = report.failures().collect();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].0, "failing");
        assert_eq!(
            failures[0].1.to_string(),
            "reloading the file failed, its 2 rules stay: line 3: bad"
        );
        assert!(!report.is_ok() && report.any_reloaded());
        assert_eq!(failing.reloads.load(Ordering::Relaxed), 1);
        assert_eq!(reloading.reloads.load(Ordering::Relaxed), 1);
        assert_eq!(chain.cached_decisions(), 0, "a reload clears the cache");
    }

    #[tokio::test]
    async fn a_reload_that_changes_nothing_keeps_the_cache() {
        let failing = Reloading::new("failing", Some(Err(ReloadError::new("a", "b", "c"))));
        let unsupported = Reloading::new("unsupported", None);
        let chain = chain(&[failing, unsupported]);
        publish(&chain).await;
        let report = chain.reload().await;
        assert!(!report.any_reloaded());
        assert_eq!(chain.cached_decisions(), 1);
        assert!(HookChain::default().reload().await.is_ok());
    }
}
