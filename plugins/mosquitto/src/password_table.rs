//! The parsed content of a password file: user names and their hashes.

use std::collections::HashMap;
use std::path::Path;

use crate::{PasswordFileError, PasswordHash, PasswordLineProblem};

/// The longest user name CONNECT can carry.
const MAX_USERNAME: usize = 65_535;

/// User names and their hashes, as read from one version of a password file.
///
/// The format is Mosquitto's: one `username:hash` per line, blanks around either part
/// ignored, lines starting with `#` and blank lines skipped. Where Mosquitto logs a
/// malformed line and drops it, this refuses the whole file, so that a typo cannot lock a
/// user out (or keep an old entry alive) unnoticed.
#[derive(Debug, Clone, Default)]
pub(crate) struct PasswordTable {
    users: HashMap<String, PasswordHash>,
}

impl PasswordTable {
    /// Parses the text of the file at `path` (named in errors only).
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, PasswordFileError> {
        let mut users: HashMap<String, (usize, PasswordHash)> = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let error = |problem| PasswordFileError::Line {
                path: path.to_owned(),
                line: number,
                problem,
            };
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (username, hash) = trimmed
                .split_once(':')
                .ok_or_else(|| error(PasswordLineProblem::MissingSeparator))?;
            let username = username.trim();
            if username.is_empty() {
                return Err(error(PasswordLineProblem::EmptyUsername));
            }
            if username.len() > MAX_USERNAME {
                return Err(error(PasswordLineProblem::UsernameTooLong(username.len())));
            }
            let hash = hash.trim().parse::<PasswordHash>().map_err(|problem| {
                error(PasswordLineProblem::Hash {
                    username: username.to_owned(),
                    problem,
                })
            })?;
            if let Some((first_line, _)) = users.get(username) {
                return Err(error(PasswordLineProblem::Duplicate {
                    username: username.to_owned(),
                    first_line: *first_line,
                }));
            }
            users.insert(username.to_owned(), (number, hash));
        }
        Ok(PasswordTable {
            users: users
                .into_iter()
                .map(|(name, (_, hash))| (name, hash))
                .collect(),
        })
    }

    /// The hash of `username`.
    pub(crate) fn get(&self, username: &str) -> Option<&PasswordHash> {
        self.users.get(username)
    }

    /// The number of users.
    pub(crate) fn len(&self) -> usize {
        self.users.len()
    }
}
