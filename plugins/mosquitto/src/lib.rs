//! Hooks that read Mosquitto's own files, so an operator can point Skein at the files a
//! Mosquitto 2.0 broker uses:
//!
//! - [`PasswordFile`]: `password_file`, as written by `mosquitto_passwd` (and `skein passwd`),
//!   with [`PasswordHash`] for the `$7$` (PBKDF2-HMAC-SHA512) and `$6$` (SHA-512) lines;
//! - [`AclFile`]: `acl_file`, with `topic`, `user` and `pattern` lines.
//!
//! Both implement broker-core's public [`Hook`](broker_core::hooks::Hook) trait from outside
//! the engine, as any third-party hook does: add them to a broker with
//! [`BrokerBuilder::hook`](broker_core::BrokerBuilder::hook) (or `shared_hook` to keep a
//! handle), the password file before the ACL file, which always decides.
//!
//! ```no_run
//! use broker_core::Broker;
//! use skein_plugin_mosquitto::{AclFile, PasswordFile};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let broker = Broker::builder()
//!     .hook(PasswordFile::load("/etc/skein/passwd")?)
//!     .hook(AclFile::load("/etc/skein/acl")?)
//!     .start()
//!     .await?;
//! // On SIGHUP: both files are read again, the chain's cached decisions cleared.
//! let report = broker.hooks().reload().await;
//! # Ok(())
//! # }
//! ```
//!
//! Both read their file when built and again on reload ([`Hook::reload`], which
//! [`HookChain::reload`] calls; the node does on SIGHUP). A file that does not parse is
//! refused with the file and line named, and a failed reload keeps what was loaded before.
//! Nothing here reads a file on the connection path; PBKDF2 hashes are verified, and files
//! re-read, on tokio's blocking pool when a runtime is running.
//!
//! Mosquitto's sources (`src/security_default.c`, `src/password_mosq.c`,
//! `apps/mosquitto_passwd/`) define the behaviour; where Skein differs the type says so.
//!
//! [`Hook::reload`]: broker_core::hooks::Hook::reload
//! [`HookChain::reload`]: broker_core::hooks::HookChain::reload

mod acl_error;
mod acl_file;
mod acl_permission;
mod acl_rule;
mod acl_table;
mod blocking;
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
