//! The broker's own tasks beside the connections: the sweeper (offline sessions' timers,
//! expired retained messages), the `$SYS` publisher, and the in-process subscribers of the
//! embedding API.

pub(crate) mod local;
pub(crate) mod sweeper;
pub(crate) mod sys_topics;
