//! Per session, the bounded [`mailbox::Mailbox`] publishers push into and the session's task
//! drains, the [`signal::Signal`] that wakes that task (or the parker), the
//! [`waiting::WaitingLine`] of publishers waiting for room, in order, with the
//! [`grant::Grant`] a turn gives, and a publisher's [`backlog::Backlog`] of copies waiting.

pub(crate) mod backlog;
pub(crate) mod grant;
pub(crate) mod mailbox;
#[cfg(test)]
mod mailbox_test;
pub(crate) mod signal;
pub(crate) mod waiting;
