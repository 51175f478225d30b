//! Why a password file could not be loaded.

use std::io;
use std::path::PathBuf;

use crate::HashProblem;

/// What is wrong with one line of a password file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordLineProblem {
    /// A line that is neither blank, a `#` comment, nor `user:hash`.
    #[error("expected `username:password-hash`, found no `:`")]
    MissingSeparator,
    /// Nothing before the `:`.
    #[error("the user name before `:` is empty")]
    EmptyUsername,
    /// A user name longer than an MQTT string can be.
    #[error("the user name is {0} bytes long, at most 65535 fit in CONNECT")]
    UsernameTooLong(usize),
    /// The hash after the `:` is malformed.
    #[error("user `{username}`: {problem}")]
    Hash {
        /// The user name of the line.
        username: String,
        /// What is wrong with the hash.
        problem: HashProblem,
    },
    /// The same user twice.
    #[error("user `{username}` is already defined on line {first_line}")]
    Duplicate {
        /// The user name.
        username: String,
        /// The line that defined it first.
        first_line: usize,
    },
}

/// A password file could not be read or holds a malformed line. The file and the line (from
/// 1) are part of the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordFileError {
    /// The file cannot be read.
    #[error("cannot read the password file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A line is malformed; nothing of the file was loaded.
    #[error("password file {}, line {line}: {problem}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: PasswordLineProblem,
    },
}

impl PasswordFileError {
    /// The line number (from 1) of a malformed line; `None` when the file could not be read.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        match self {
            PasswordFileError::Read { .. } => None,
            PasswordFileError::Line { line, .. } => Some(*line),
        }
    }
}
