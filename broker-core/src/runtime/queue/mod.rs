//! Per session, the bounded [`mailbox::Mailbox`] publishers push into and the session's task
//! drains, and the [`signal::Signal`] that wakes that task (or the parker).

pub(crate) mod mailbox;
pub(crate) mod signal;
