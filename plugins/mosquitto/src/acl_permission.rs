//! The access keyword of an ACL line, and the access a check asks for.

use std::fmt;
use std::str::FromStr;

/// What a client asks to do with a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AclAccess {
    /// Receive messages on the topic (checked when subscribing: see
    /// [`AclFile`](crate::AclFile)).
    Read,
    /// Publish to the topic.
    Write,
}

/// The access an ACL line grants: `read`, `write`, `readwrite` (also what a line without a
/// keyword means), or `deny`, which refuses both and wins over the grants of its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AclPermission {
    /// `read`: subscribe and receive.
    Read,
    /// `write`: publish.
    Write,
    /// `readwrite`: both.
    ReadWrite,
    /// `deny`: neither, whatever other lines of the same list grant.
    Deny,
}

impl AclPermission {
    /// Whether the line grants `access`.
    #[must_use]
    pub fn grants(self, access: AclAccess) -> bool {
        matches!(
            (self, access),
            (AclPermission::ReadWrite, _)
                | (AclPermission::Read, AclAccess::Read)
                | (AclPermission::Write, AclAccess::Write)
        )
    }

    /// Whether this is `deny`.
    #[must_use]
    pub fn is_deny(self) -> bool {
        self == AclPermission::Deny
    }

    /// The keyword.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AclPermission::Read => "read",
            AclPermission::Write => "write",
            AclPermission::ReadWrite => "readwrite",
            AclPermission::Deny => "deny",
        }
    }
}

impl FromStr for AclPermission {
    type Err = ();

    /// Parses a keyword, exactly (lower case, as Mosquitto).
    fn from_str(keyword: &str) -> Result<Self, ()> {
        match keyword {
            "read" => Ok(AclPermission::Read),
            "write" => Ok(AclPermission::Write),
            "readwrite" => Ok(AclPermission::ReadWrite),
            "deny" => Ok(AclPermission::Deny),
            _ => Err(()),
        }
    }
}

impl fmt::Display for AclPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
