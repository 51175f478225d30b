//! One task per network connection ([`task::Connection`]), and the commands of its session
//! carried out, one file per kind: CONNECT ([`connect`]), authentication ([`auth`]),
//! authorization ([`authorize`]), SUBSCRIBE / UNSUBSCRIBE / PUBLISH ([`commands`]), the end
//! ([`close`]), the timer and parking ([`idle`]), lifecycle events ([`events`]).
//! [`serve`] starts, parks and resumes the task.

pub(crate) mod auth;
pub(crate) mod auth_exchange;
pub(crate) mod authorize;
pub(crate) mod close;
pub(crate) mod commands;
pub(crate) mod connect;
pub(crate) mod counted;
pub(crate) mod events;
pub(crate) mod idle;
pub(crate) mod publish_memo;
pub(crate) mod screen;
pub(crate) mod serve;
pub(crate) mod task;
