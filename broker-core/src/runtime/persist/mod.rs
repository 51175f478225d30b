//! The session store seam: the [`handle::Persist`] every writer goes through, the task that
//! applies the writes in order ([`writer`]), and recovery at start ([`recovery`]).

pub(crate) mod handle;
pub(crate) mod recovery;
pub(crate) mod writer;
