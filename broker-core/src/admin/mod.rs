//! What an operator sees of a running broker and does to it through
//! [`BrokerHandle`](crate::BrokerHandle): the clients and their sessions, the subscriptions,
//! the retained messages, one page at a time ([`Page`]).
//!
//! A page holds at most its query's `limit` items, in the order of their keys (client
//! identifier; client identifier then filter; topic), and the cursor of the next page: the
//! query asks for it with `after`.

mod client_details;
mod client_query;
mod client_summary;
mod disconnection;
mod page;
mod retained_query;
mod retained_summary;
mod subscription_query;
mod subscription_summary;

pub use client_details::ClientDetails;
pub use client_query::ClientQuery;
pub use client_summary::ClientSummary;
pub use disconnection::Disconnection;
pub use page::{Page, DEFAULT_LIMIT, MAX_LIMIT};
pub use retained_query::RetainedQuery;
pub use retained_summary::RetainedSummary;
pub use subscription_query::SubscriptionQuery;
pub use subscription_summary::SubscriptionSummary;
