//! Hooks that ship in the box: small, in memory, enough to secure a test broker and to
//! prove the chain end to end. (Mosquitto password and ACL files come as their own hooks.)

mod allow_all;
mod topic_rule;
mod topic_rules;
mod user_table;

pub use allow_all::AllowAll;
pub use topic_rule::{Access, Effect, TopicRule};
pub use topic_rules::TopicRules;
pub use user_table::UserTable;
