//! The `password_file` hook: authenticates against a file written by `mosquitto_passwd`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use broker_core::hooks::{
    AuthDecision, AuthenticateRequest, Hook, HookError, Interest, Password, Reload, ReloadError,
};
use broker_core::types::ReasonCode;

use crate::blocking::off_the_workers;
use crate::password_table::PasswordTable;
use crate::snapshot::Snapshot;
use crate::{Iterations, PasswordFileError, PasswordHash};

/// Verifications that cost more SHA-512 blocks than this run on tokio's blocking pool
/// instead of the connection's task. Measured on the (shared, 2-core) development machine,
/// release build: Mosquitto's default `$7$` with 101 iterations (about 206 blocks) takes
/// about 85 µs, 1,000 iterations 0.85 ms, 10,000 iterations 10 ms; a `$6$` hash under 1 µs.
/// 85 µs is at tokio's limit for work between two awaits, and a burst of CONNECTs would
/// stall every other connection of the worker, so PBKDF2 goes to the blocking pool (a few
/// µs of hand-off per CONNECT) and `$6$` runs in place. (Mosquitto hashes on its one
/// thread.)
const INLINE_COST_LIMIT: u64 = 64;

/// What a CONNECT with a user name that is not in the file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UnknownUser {
    /// Refused with 0x86 Bad User Name or Password, as Mosquitto does once a password file
    /// is configured. The refusal takes as long as a wrong password does, so the time does
    /// not tell which user names exist.
    #[default]
    Deny,
    /// No opinion: the next hook (or the anonymous policy) decides. For a chain where other
    /// hooks know other users.
    Next,
}

/// The outcome of [`PasswordFile::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordCheck {
    /// The user is in the file and the password is right.
    Valid,
    /// The user is in the file and the password is wrong.
    WrongPassword,
    /// The user is not in the file.
    UnknownUser,
}

/// Authenticates CONNECTs against a Mosquitto password file (`password_file` in
/// mosquitto.conf): lines `username:$7$...` or `username:$6$...` as `mosquitto_passwd` or
/// `skein passwd` write them.
///
/// | CONNECT | decision |
/// |---|---|
/// | user name in the file, right password | allow (the user name is kept) |
/// | user name in the file, wrong or no password | deny 0x86 Bad User Name or Password (MQTT 3: return code 4) |
/// | user name not in the file | deny 0x86 ([`UnknownUser::Deny`], the default) or next |
/// | no user name | next: the anonymous policy decides |
/// | MQTT 5 enhanced authentication | next |
///
/// Hashes are compared in constant time. The file is read by [`PasswordFile::load`] and
/// again by [`PasswordFile::reload`] or [`Hook::reload`] (the node calls the chain's on
/// SIGHUP), never on the connection path; a reload does not touch connected clients.
pub struct PasswordFile {
    path: PathBuf,
    table: Snapshot<PasswordTable>,
    unknown_user: UnknownUser,
    /// Verified against for unknown users, so their refusal costs what a wrong password does.
    decoy: PasswordHash,
}

impl PasswordFile {
    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    ///
    /// [`PasswordFileError::Read`] when the file cannot be read (or is not UTF-8),
    /// [`PasswordFileError::Line`] naming the first malformed line.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, PasswordFileError> {
        let path = path.into();
        let table = read(&path)?;
        Ok(PasswordFile {
            path,
            table: Snapshot::new(table),
            unknown_user: UnknownUser::default(),
            decoy: PasswordHash::pbkdf2_sha512(b"", [0; 12], Iterations::MOSQUITTO_DEFAULT),
        })
    }

    /// Sets what a user name that is not in the file gets (default: [`UnknownUser::Deny`]).
    #[must_use]
    pub fn unknown_user(mut self, unknown_user: UnknownUser) -> Self {
        self.unknown_user = unknown_user;
        self
    }

    /// Reads the file again and, if it parses, replaces the users all at once; returns the
    /// number of users. Connections being authenticated meanwhile use either the old or the
    /// new table, never a mix. Already connected clients stay connected.
    ///
    /// # Errors
    ///
    /// As [`PasswordFile::load`]; the users loaded before stay in force.
    pub fn reload(&self) -> Result<usize, PasswordFileError> {
        let table = read(&self.path)?;
        let users = table.len();
        self.table.store(table);
        Ok(users)
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of users loaded.
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.with(PasswordTable::len)
    }

    /// Whether no user is loaded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `username` is in the file.
    #[must_use]
    pub fn contains(&self, username: &str) -> bool {
        self.table.with(|table| table.get(username).is_some())
    }

    /// Checks `password` for `username`, on the calling thread (it costs one hash: see
    /// [`PasswordHash::cost`]).
    #[must_use]
    pub fn check(&self, username: &str, password: &[u8]) -> PasswordCheck {
        let hash = self.table.with(|table| table.get(username).cloned());
        match hash {
            Some(hash) if hash.verify(password) => PasswordCheck::Valid,
            Some(_) => PasswordCheck::WrongPassword,
            None => PasswordCheck::UnknownUser,
        }
    }
}

fn read(path: &Path) -> Result<PasswordTable, PasswordFileError> {
    let text = fs::read_to_string(path).map_err(|source| PasswordFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    PasswordTable::parse(path, &text)
}

/// Verifies `password` against `hash`, on the blocking pool when it is expensive.
async fn verify(hash: PasswordHash, password: Password) -> Result<bool, HookError> {
    if hash.cost() > INLINE_COST_LIMIT {
        return off_the_workers(move || hash.verify(password.as_bytes()))
            .await
            .map_err(|error| HookError::Failed(format!("password verification: {error}")));
    }
    Ok(hash.verify(password.as_bytes()))
}

impl fmt::Debug for PasswordFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordFile")
            .field("path", &self.path)
            .field("users", &self.len())
            .field("unknown_user", &self.unknown_user)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Hook for PasswordFile {
    fn name(&self) -> &str {
        "password-file"
    }

    fn interest(&self) -> Interest {
        Interest::AUTHENTICATE
    }

    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        if request.enhanced.is_some() {
            return Ok(AuthDecision::Next);
        }
        let Some(username) = &request.client.username else {
            return Ok(AuthDecision::Next);
        };
        let hash = self
            .table
            .with(|table| table.get(username.as_str()).cloned());
        let password = request.password.clone();
        let valid = match (hash, password) {
            (Some(hash), Some(password)) => verify(hash, password).await?,
            // A user of the file without a password: Mosquitto refuses it too.
            (Some(_), None) => false,
            (None, password) => match self.unknown_user {
                UnknownUser::Next => return Ok(AuthDecision::Next),
                UnknownUser::Deny => {
                    let password = password.unwrap_or_else(|| Password::new(""));
                    let _ = verify(self.decoy.clone(), password).await?;
                    false
                }
            },
        };
        Ok(if valid {
            AuthDecision::allow()
        } else {
            AuthDecision::deny(ReasonCode::BadUserNameOrPassword)
        })
    }

    /// [`PasswordFile::reload`], with the file read on the blocking pool. The summary is
    /// `password file {path} ({n} users)`.
    async fn reload(&self) -> Result<Reload, ReloadError> {
        let path = self.path.clone();
        let kept = || format!("its {} users loaded before stay in force", self.len());
        let table = match off_the_workers(move || read(&path)).await {
            Ok(Ok(table)) => table,
            Ok(Err(problem)) => return Err(ReloadError::new("the password file", kept(), problem)),
            Err(problem) => return Err(ReloadError::new("the password file", kept(), problem)),
        };
        let users = table.len();
        self.table.store(table);
        Ok(Reload::reloaded(format!(
            "password file {} ({users} users)",
            self.path.display()
        )))
    }
}
