//! The session store seam as every writer uses it: the [`handle::Persist`] (the store, the
//! bounded channel to the store task, the clocks). The task that applies the writes and the
//! recovery at start are background tasks ([`store_writer`], [`recovery`]).
//!
//! [`store_writer`]: crate::runtime::background::store_writer
//! [`recovery`]: crate::runtime::background::recovery

pub(crate) mod handle;
pub(crate) mod read_back;
