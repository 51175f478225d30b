//! The hook seam: how authentication, authorization, topic rewriting and lifecycle events
//! plug into the broker.
//!
//! - [`Hook`]: the trait every extension implements (native Rust hooks here, and the WASM
//!   plugin host later), one async method per hook point, each with its own request type
//!   and decision type:
//!
//!   | hook point | request | decision |
//!   |---|---|---|
//!   | [`Hook::authenticate`] | [`AuthenticateRequest`] | [`AuthDecision`] |
//!   | [`Hook::authorize_publish`] | [`AuthorizePublishRequest`] | [`AuthzDecision`] |
//!   | [`Hook::authorize_subscribe`] | [`AuthorizeSubscribeRequest`] | [`AuthzDecision`] |
//!   | [`Hook::rewrite_publish_topic`] | [`RewritePublishRequest`] | [`TopicRewrite`] |
//!   | [`Hook::rewrite_subscribe_filter`] | [`RewriteSubscribeRequest`] | [`FilterRewrite`] |
//!   | [`Hook::on_event`] | [`Event`] | none |
//!   | [`Hook::reload`] | none | [`Reload`] or [`ReloadError`] |
//!
//! - [`HookChain`]: the hooks in order, combining their allow / deny / next answers with the
//!   default policy ([`Anonymous`]), each hook's timeout and [`FailurePolicy`], and a
//!   bounded authorization decision cache. Its answers are [`AuthOutcome`] and
//!   [`Authorization`], which never say "no opinion". Each hook's latency and failures go
//!   to the `metrics` facade (`skein_hook_duration_seconds`, `skein_hook_failures_total`).
//!   [`HookChain::reload`] reloads every hook in order and reports each answer by hook name
//!   ([`ReloadReport`]).
//! - Built-in hooks: [`AllowAll`], [`UserTable`], [`TopicRules`]; [`ListenerScoped`] puts
//!   a hook in force on some listeners only. Hooks with their own
//!   dependencies live in crates of their own under `plugins/` and implement [`Hook`] from
//!   outside, as any third-party hook does: Mosquitto's password and ACL files are the crate
//!   `skein-plugin-mosquitto`.
//! - For authorization hooks that judge subscription filters by rule filters:
//!   [`filter_covers`] and [`filters_overlap`] (and [`router::matches`] for a topic name).
//!
//! Requests and decisions are plain data (strings, bytes, numbers, enums): they map one to
//! one onto the plugin host's WIT interface. Refusals carry a [`ReasonCode`]; mapping it to
//! an MQTT 3 return code is the session's job.
//!
//! The chain never does I/O and spawns nothing, except `HookChain::spawn_event_task` with
//! the `runtime` feature. The chain reads no clock and starts no timer of its own: its
//! [`Clock`](crate::clock::Clock) is given at build (a broker gives it the runtime's), and a
//! hook call is cut at its timeout only if that clock has a timer. Without the `runtime`
//! feature failures are not logged; everything else works the same.
//!
//! [`ReasonCode`]: crate::types::ReasonCode
//! [`router::matches`]: crate::router::matches

mod attributes;
mod auth_decision;
mod auth_outcome;
mod authenticate_request;
mod authorization;
mod authorize_publish;
mod authorize_subscribe;
mod authz_decision;
mod builtin;
mod cache;
mod chain;
mod chain_auth;
mod chain_builder;
mod chain_reload;
mod client_info;
mod error;
mod event;
#[cfg(feature = "runtime")]
mod event_task;
mod filter_relation;
mod hook;
mod hook_metrics;
mod interest;
mod listener_scoped;
mod lru;
mod options;
mod refusal;
mod reload;
mod reload_report;
mod rewrite_publish;
mod rewrite_subscribe;
mod values;

pub use attributes::Attributes;
pub use auth_decision::{AuthChallenge, AuthDecision, AuthSuccess};
pub use auth_outcome::{AuthOutcome, PendingAuth};
pub use authenticate_request::{AuthPurpose, AuthenticateRequest, EnhancedAuth};
pub use authorization::Authorization;
pub use authorize_publish::AuthorizePublishRequest;
pub use authorize_subscribe::AuthorizeSubscribeRequest;
pub use authz_decision::AuthzDecision;
pub use builtin::{Access, AllowAll, Effect, TopicRule, TopicRules, UserTable};
pub use chain::HookChain;
pub use chain_builder::{Anonymous, HookChainBuilder};
pub use client_info::ClientInfo;
pub use error::HookError;
pub use event::Event;
#[cfg(feature = "runtime")]
pub use event_task::EventSender;
pub use filter_relation::{filter_covers, filters_overlap};
pub use hook::Hook;
pub use interest::Interest;
pub use listener_scoped::ListenerScoped;
pub use options::{FailurePolicy, HookOptions};
pub use refusal::Refusal;
pub use reload::{Reload, ReloadError};
pub use reload_report::{HookReload, ReloadReport};
pub use rewrite_publish::{RewritePublishRequest, TopicRewrite};
pub use rewrite_subscribe::{FilterRewrite, RewriteSubscribeRequest};
pub use values::{AuthMethod, CertificateDer, ListenerName, Password, Username};
