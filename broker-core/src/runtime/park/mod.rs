//! Idle connections without a task: the [`parker::Parker`] keeps them, each in its compact
//! [`parked::Parked`] form, until something resumes them.

pub(crate) mod parked;
pub(crate) mod parker;
