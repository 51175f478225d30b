//! Built-in hooks that read Mosquitto's own files, so an operator can point Skein at the
//! files a Mosquitto 2.0 broker uses:
//!
//! - [`PasswordFile`]: `password_file`, as written by `mosquitto_passwd` (and `skein passwd`),
//!   with [`PasswordHash`] for the `$7$` (PBKDF2-HMAC-SHA512) and `$6$` (SHA-512) lines;
//! - [`AclFile`]: `acl_file`, with `topic`, `user` and `pattern` lines.
//!
//! Both read their file when built and again on `reload()` (the node calls it on SIGHUP); a
//! file that does not parse is refused with the file and line named, and a failed reload
//! keeps what was loaded before. Nothing here reads a file on the connection path.
//!
//! Mosquitto's sources (`src/security_default.c`, `src/password_mosq.c`,
//! `apps/mosquitto_passwd/`) define the behaviour; where Skein differs the type says so.

mod acl_error;
mod acl_file;
mod acl_permission;
mod acl_rule;
mod acl_table;
mod password_error;
mod password_file;
mod password_hash;
mod password_table;
mod snapshot;

pub use acl_error::{AclFileError, AclLineProblem};
pub use acl_file::AclFile;
pub use acl_permission::{AclAccess, AclPermission};
pub use password_error::{PasswordFileError, PasswordLineProblem};
pub use password_file::{PasswordCheck, PasswordFile, UnknownUser};
pub use password_hash::{HashProblem, HashScheme, Iterations, PasswordHash};
