//! Why an ACL file could not be loaded.

use std::io;
use std::path::PathBuf;

use broker_core::codec::Violation;

/// What is wrong with one line of an ACL file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AclLineProblem {
    /// The first word is not `topic`, `pattern` or `user`.
    #[error("unknown keyword `{0}` (expected `topic`, `pattern` or `user`)")]
    UnknownKeyword(String),
    /// `topic` or `pattern` with nothing after it.
    #[error("`{0}` without a topic")]
    MissingTopic(&'static str),
    /// The access word is not `read`, `write`, `readwrite` or `deny`.
    #[error("unknown access `{0}` (expected `read`, `write`, `readwrite` or `deny`)")]
    UnknownAccess(String),
    /// The topic is not a valid MQTT topic filter.
    #[error("invalid topic filter `{topic}`: {violation}")]
    InvalidTopic {
        /// The topic as written.
        topic: String,
        /// The rule it breaks.
        violation: Violation,
    },
    /// `user` with no name after it.
    #[error("`user` without a user name")]
    MissingUsername,
}

/// An ACL file could not be read or holds a malformed line. The file and the line (from 1)
/// are part of the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AclFileError {
    /// The file cannot be read.
    #[error("cannot read the ACL file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A line is malformed; nothing of the file was loaded.
    #[error("ACL file {}, line {line}: {problem}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: AclLineProblem,
    },
}

impl AclFileError {
    /// The line number (from 1) of a malformed line; `None` when the file could not be read.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        match self {
            AclFileError::Read { .. } => None,
            AclFileError::Line { line, .. } => Some(*line),
        }
    }
}
