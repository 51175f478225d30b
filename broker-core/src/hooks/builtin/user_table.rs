//! A fixed table of user names and passwords.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use bytes::Bytes;

use crate::hooks::{AuthDecision, AuthenticateRequest, Hook, HookError, Interest, Password};
use crate::types::ReasonCode;

/// Authenticates CONNECTs against an in-memory table of user names and plain passwords.
///
/// - a known user name with its password: allowed;
/// - a known user name with another password, or none: refused with 0x86 Bad User Name or
///   Password (MQTT 3: return code 4);
/// - no user name, an unknown one, or MQTT 5 enhanced authentication: no opinion (the next
///   hook, then the chain's anonymous policy, decide).
///
/// Passwords are compared in time that does not depend on where they differ.
#[derive(Default, Clone)]
pub struct UserTable {
    users: HashMap<String, Password>,
}

impl UserTable {
    /// An empty table.
    #[must_use]
    pub fn new() -> Self {
        UserTable::default()
    }

    /// Adds (or replaces) a user.
    #[must_use]
    pub fn user(mut self, username: impl Into<String>, password: impl Into<Bytes>) -> Self {
        self.users.insert(username.into(), Password::new(password));
        self
    }

    /// The number of users.
    #[must_use]
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the table has no users.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl fmt::Debug for UserTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserTable")
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[async_trait]
impl Hook for UserTable {
    fn name(&self) -> &str {
        "user-table"
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
        let Some(expected) = self.users.get(username.as_str()) else {
            return Ok(AuthDecision::Next);
        };
        let given = request
            .password
            .as_ref()
            .map_or(&[][..], Password::as_bytes);
        Ok(if request.password.is_some() && expected.matches(given) {
            AuthDecision::allow()
        } else {
            AuthDecision::deny(ReasonCode::BadUserNameOrPassword)
        })
    }
}
