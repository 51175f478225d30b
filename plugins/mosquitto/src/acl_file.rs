//! The `acl_file` hook: authorizes publishes and subscriptions with a Mosquitto ACL file.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use broker_core::hooks::{
    AuthorizePublishRequest, AuthorizeSubscribeRequest, AuthzDecision, ClientInfo, Hook, HookError,
    Interest, Reload, ReloadError,
};
use broker_core::types::{ReasonCode, TopicFilter, TopicName};

use crate::acl_rule::Target;
use crate::acl_table::AclTable;
use crate::blocking::off_the_workers;
use crate::snapshot::Snapshot;
use crate::{AclAccess, AclFileError};

/// Authorizes publishes and subscriptions with a Mosquitto ACL file (`acl_file` in
/// mosquitto.conf):
///
/// ```text
/// # clients without a user name (lines before the first `user`)
/// topic read public/#
///
/// user alice
/// topic readwrite alice/#
/// topic deny alice/secret/#
///
/// # every client: %c is its client id, %u its user name
/// pattern write devices/%c/status
/// pattern read users/%u/#
/// ```
///
/// Mosquitto's semantics: once the file is configured everything it does not grant is
/// refused (0x87 Not authorized; MQTT 3: SUBACK 0x80, PUBLISH dropped); a client's own
/// lines (its `user` block, or the anonymous lines) are tried first, then the patterns; in
/// each list `deny` lines come first and win; a client id or user name holding `+` or `#`
/// gets nothing from patterns. See [`AclFile::allows`].
///
/// The hook always decides (allow or deny, never next), so it is the last authorization
/// hook of a chain.
///
/// # Subscriptions
///
/// Mosquitto 2.0 grants every SUBSCRIBE and checks `read` access on each message it would
/// deliver (and each retained message). The hook chain authorizes subscriptions, not
/// deliveries, so this hook checks the filter when subscribing
/// ([`AclFile::allows_subscription`]): a filter is granted when a line giving `read` covers
/// every topic it can match, and refused when a `deny` line could match one of its topics.
/// The client never receives a message Mosquitto would withhold; the difference is that a
/// filter wider than the client's rights (`#` for a client that may read `a/#`) is refused
/// in SUBACK instead of being granted and filtered. [`AclFile::allows`] with
/// [`AclAccess::Read`] is the per-message check, for a runtime that adds one.
///
/// # Caching and reloading
///
/// Decisions carry a cache TTL (60 s by default, [`AclFile::cache_ttl`]). Reloaded through
/// the chain ([`HookChain::reload`], which calls [`Hook::reload`]), the chain then forgets
/// its cached decisions. After [`AclFile::reload`] called directly, call
/// [`HookChain::invalidate_all`], or decisions made under the old rules live on until their
/// TTL ends.
///
/// [`HookChain::reload`]: broker_core::hooks::HookChain::reload
/// [`HookChain::invalidate_all`]: broker_core::hooks::HookChain::invalidate_all
pub struct AclFile {
    path: PathBuf,
    table: Snapshot<AclTable>,
    cache_ttl: Option<Duration>,
}

impl AclFile {
    /// The cache TTL decisions carry unless [`AclFile::cache_ttl`] changes it.
    pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    ///
    /// [`AclFileError::Read`] when the file cannot be read (or is not UTF-8),
    /// [`AclFileError::Line`] naming the first malformed line.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, AclFileError> {
        let path = path.into();
        let table = read(&path)?;
        Ok(AclFile {
            path,
            table: Snapshot::new(table),
            cache_ttl: Some(AclFile::DEFAULT_CACHE_TTL),
        })
    }

    /// Sets how long the chain may reuse a decision; `None`: decide every time.
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Reads the file again and, if it parses, replaces all rules at once; returns the
    /// number of rules (`topic` and `pattern` lines). Requests decided meanwhile use either
    /// the old or the new rules, never a mix.
    ///
    /// Then call [`HookChain::invalidate_all`](broker_core::hooks::HookChain::invalidate_all)
    /// so that cached decisions follow the new rules ([`HookChain::reload`] does both). Subscriptions granted before stay (as in
    /// Mosquitto, whose per-message checks would apply the new rules to them: see the
    /// type's documentation).
    ///
    /// # Errors
    ///
    /// As [`AclFile::load`]; the rules loaded before stay in force.
    ///
    /// [`HookChain::reload`]: broker_core::hooks::HookChain::reload
    pub fn reload(&self) -> Result<usize, AclFileError> {
        let table = read(&self.path)?;
        let rules = table.len();
        self.table.store(table);
        Ok(rules)
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of rules loaded (`topic` and `pattern` lines).
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.with(AclTable::len)
    }

    /// Whether no rule is loaded (everything is refused).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `client` may publish to (`Write`) or receive a message on (`Read`) `topic`:
    /// Mosquitto's per-message check.
    #[must_use]
    pub fn allows(&self, client: &ClientInfo, topic: &TopicName, access: AclAccess) -> bool {
        self.decide(client, Target::Topic(topic.as_str(), access))
    }

    /// Whether `client` may subscribe to `filter` (for a shared subscription, the part after
    /// `$share/{ShareName}/`): see the type's documentation.
    #[must_use]
    pub fn allows_subscription(&self, client: &ClientInfo, filter: &TopicFilter) -> bool {
        self.decide(client, Target::Subscription(filter.matching_filter()))
    }

    fn decide(&self, client: &ClientInfo, target: Target<'_>) -> bool {
        let username = client.username.as_ref().map(|name| name.as_str());
        self.table
            .with(|table| table.decide(client.client_id.as_str(), username, target))
    }

    fn decision(&self, allowed: bool) -> AuthzDecision {
        let decision = if allowed {
            AuthzDecision::allow()
        } else {
            AuthzDecision::deny(ReasonCode::NotAuthorized)
        };
        match self.cache_ttl {
            Some(ttl) => decision.cached(ttl),
            None => decision,
        }
    }
}

fn read(path: &Path) -> Result<AclTable, AclFileError> {
    let text = fs::read_to_string(path).map_err(|source| AclFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    AclTable::parse(path, &text)
}

impl fmt::Debug for AclFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AclFile")
            .field("path", &self.path)
            .field("rules", &self.len())
            .field("cache_ttl", &self.cache_ttl)
            .finish()
    }
}

#[async_trait]
impl Hook for AclFile {
    fn name(&self) -> &str {
        "acl-file"
    }

    fn interest(&self) -> Interest {
        Interest::AUTHORIZE
    }

    async fn authorize_publish(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        Ok(self.decision(self.allows(&request.client, &request.topic, AclAccess::Write)))
    }

    async fn authorize_subscribe(
        &self,
        request: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        Ok(self.decision(self.allows_subscription(&request.client, &request.filter)))
    }

    /// [`AclFile::reload`], with the file read on the blocking pool. The summary is
    /// `ACL file {path} ({n} rules)`; the chain clears its cached decisions afterwards.
    async fn reload(&self) -> Result<Reload, ReloadError> {
        let path = self.path.clone();
        let kept = || format!("its {} rules loaded before stay in force", self.len());
        let table = match off_the_workers(move || read(&path)).await {
            Ok(Ok(table)) => table,
            Ok(Err(problem)) => return Err(ReloadError::new("the ACL file", kept(), problem)),
            Err(problem) => return Err(ReloadError::new("the ACL file", kept(), problem)),
        };
        let rules = table.len();
        self.table.store(table);
        Ok(Reload::reloaded(format!(
            "ACL file {} ({rules} rules)",
            self.path.display()
        )))
    }
}
