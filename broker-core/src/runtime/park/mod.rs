//! Idle connections without a task: the [`parker::Parker`] keeps each as a
//! [`Parkable`](parker::Parkable) (a connection's
//! [`Parked`](crate::runtime::connection::parked::Parked) record) until something resumes it.

mod deadlines;
pub(crate) mod parker;
