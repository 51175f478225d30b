//! The broker's own tasks beside the connections: recovery from the session store at start,
//! the store writer, the sweeper (offline sessions' timers, expired retained messages), the
//! `$SYS` publisher, the in-process subscribers of the embedding API, and one outbox task per
//! cluster peer.

pub(crate) mod local;
pub(crate) mod peer_outbox;
pub(crate) mod recovery;
pub(crate) mod store_writer;
pub(crate) mod sweeper;
pub(crate) mod sys_topics;
