//! One password hash in the form `mosquitto_passwd` writes after the user name and `:`.
//!
//! Mosquitto 2.0 (`src/password_mosq.c`, `apps/mosquitto_passwd/`) writes two forms, each a
//! 12-byte random salt and a 64-byte hash in standard base64 with padding:
//!
//! - `$7$<iterations>$<salt>$<hash>`: PBKDF2-HMAC-SHA512 of the password with the salt,
//!   101 iterations by default (`mosquitto_passwd -I` changes it);
//! - `$6$<salt>$<hash>`: SHA-512 of the password followed by the salt (Mosquitto 1.6 and
//!   earlier, or `mosquitto_passwd -H sha512`).
//!
//! Mosquitto hashes the password as a C string, up to its first NUL byte; Skein hashes every
//! byte of the CONNECT Password. The two differ only for a password holding a NUL, which no
//! `mosquitto_passwd` can write.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use sha2::{Digest as _, Sha512};
use subtle::ConstantTimeEq as _;

/// The length of a salt, in bytes.
const SALT_LEN: usize = PasswordHash::SALT_LEN;

/// The length of a hash, in bytes (SHA-512).
const HASH_LEN: usize = PasswordHash::HASH_LEN;

/// Standard base64 that accepts a missing or present padding (Mosquitto writes it).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The PBKDF2 iteration count of a `$7$` hash: at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Iterations(NonZeroU32);

impl Iterations {
    /// What `mosquitto_passwd` 2.0 uses without `-I`: 101.
    pub const MOSQUITTO_DEFAULT: Iterations = match NonZeroU32::new(101) {
        Some(n) => Iterations(n),
        None => unreachable!(),
    };

    /// An iteration count; `None` for 0.
    #[must_use]
    pub fn new(iterations: u32) -> Option<Self> {
        NonZeroU32::new(iterations).map(Iterations)
    }

    /// The count.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl Default for Iterations {
    fn default() -> Self {
        Iterations::MOSQUITTO_DEFAULT
    }
}

impl fmt::Display for Iterations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a hash was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashScheme {
    /// `$6$`: SHA-512 of the password followed by the salt.
    Sha512,
    /// `$7$`: PBKDF2-HMAC-SHA512 with this many iterations.
    Pbkdf2Sha512(Iterations),
}

/// Why the text after `user:` is not a Mosquitto password hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashProblem {
    /// It does not start with `$`: most likely a plain-text password.
    #[error(
        "the password is not a `$6$` or `$7$` hash (a plain-text password file? \
         `skein passwd -U FILE` converts it)"
    )]
    NotAHash,
    /// The hash type is neither 6 nor 7.
    #[error("unknown hash type `${0}$` (Mosquitto writes `$6$` and `$7$`)")]
    UnknownScheme(String),
    /// The iteration count is not a whole number from 1.
    #[error("bad iteration count `{0}` (a whole number from 1)")]
    Iterations(String),
    /// A `$`-separated field is missing.
    #[error("the {0} is missing")]
    MissingField(&'static str),
    /// There is more after the hash.
    #[error("unexpected `$` field after the hash")]
    TrailingField,
    /// A field is not base64.
    #[error("the {0} is not valid base64")]
    Base64(&'static str),
    /// A field does not decode to the expected length.
    #[error("the {field} is {actual} bytes long, expected {expected}")]
    Length {
        /// `salt` or `hash`.
        field: &'static str,
        /// The expected length.
        expected: usize,
        /// The decoded length.
        actual: usize,
    },
}

/// A salted password hash as Mosquitto stores it, parsed (`str::parse`) from and written
/// (`Display`) to the `$6$...` / `$7$...` form. `Debug` leaves out the salt and hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    scheme: HashScheme,
    salt: [u8; SALT_LEN],
    hash: [u8; HASH_LEN],
}

impl PasswordHash {
    /// The length of a salt, in bytes.
    pub const SALT_LEN: usize = 12;

    /// The length of a hash, in bytes (SHA-512).
    pub const HASH_LEN: usize = 64;

    /// Hashes `password` with PBKDF2-HMAC-SHA512 (`$7$`), as `mosquitto_passwd` 2.0 does by
    /// default. The salt must be random (the caller draws it, so this crate needs no RNG).
    #[must_use]
    pub fn pbkdf2_sha512(password: &[u8], salt: [u8; SALT_LEN], iterations: Iterations) -> Self {
        PasswordHash {
            scheme: HashScheme::Pbkdf2Sha512(iterations),
            salt,
            hash: digest(HashScheme::Pbkdf2Sha512(iterations), password, &salt),
        }
    }

    /// Hashes `password` with salted SHA-512 (`$6$`, `mosquitto_passwd -H sha512`): weaker
    /// than [`PasswordHash::pbkdf2_sha512`], kept for old files.
    #[must_use]
    pub fn sha512(password: &[u8], salt: [u8; SALT_LEN]) -> Self {
        PasswordHash {
            scheme: HashScheme::Sha512,
            salt,
            hash: digest(HashScheme::Sha512, password, &salt),
        }
    }

    /// How the hash was computed.
    #[must_use]
    pub fn scheme(&self) -> HashScheme {
        self.scheme
    }

    /// Whether `password` hashes to this hash. The comparison takes the same time wherever
    /// the hashes differ.
    #[must_use]
    pub fn verify(&self, password: &[u8]) -> bool {
        let computed = digest(self.scheme, password, &self.salt);
        bool::from(computed.ct_eq(&self.hash))
    }

    /// Roughly how many SHA-512 block computations [`PasswordHash::verify`] costs: 2 per
    /// PBKDF2 iteration (about 0.2 µs each on a current x86-64 core, release build), 2 for
    /// `$6$`.
    #[must_use]
    pub fn cost(&self) -> u64 {
        match self.scheme {
            HashScheme::Sha512 => 2,
            HashScheme::Pbkdf2Sha512(iterations) => 2 * u64::from(iterations.get()) + 4,
        }
    }
}

fn digest(scheme: HashScheme, password: &[u8], salt: &[u8; SALT_LEN]) -> [u8; HASH_LEN] {
    let mut out = [0u8; HASH_LEN];
    match scheme {
        HashScheme::Sha512 => {
            let mut hasher = Sha512::new();
            hasher.update(password);
            hasher.update(salt);
            out.copy_from_slice(&hasher.finalize());
        }
        HashScheme::Pbkdf2Sha512(iterations) => {
            pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations.get(), &mut out);
        }
    }
    out
}

fn decode<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], HashProblem> {
    let bytes = LENIENT_BASE64
        .decode(text)
        .map_err(|_| HashProblem::Base64(field))?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| HashProblem::Length {
        field,
        expected: N,
        actual: bytes.len(),
    })
}

impl FromStr for PasswordHash {
    type Err = HashProblem;

    /// Parses `$7$<iterations>$<salt>$<hash>` or `$6$<salt>$<hash>` (no surrounding blanks).
    fn from_str(text: &str) -> Result<Self, HashProblem> {
        let rest = text.strip_prefix('$').ok_or(HashProblem::NotAHash)?;
        let mut fields = rest.split('$');
        let scheme = match fields.next().unwrap_or_default() {
            "6" => HashScheme::Sha512,
            "7" => {
                let count = fields
                    .next()
                    .ok_or(HashProblem::MissingField("iteration count"))?;
                let iterations = count
                    .parse::<u32>()
                    .ok()
                    .and_then(Iterations::new)
                    .ok_or_else(|| HashProblem::Iterations(count.to_owned()))?;
                HashScheme::Pbkdf2Sha512(iterations)
            }
            other => return Err(HashProblem::UnknownScheme(other.to_owned())),
        };
        let salt = fields.next().ok_or(HashProblem::MissingField("salt"))?;
        let salt = decode::<SALT_LEN>("salt", salt)?;
        let hash = fields.next().ok_or(HashProblem::MissingField("hash"))?;
        let hash = decode::<HASH_LEN>("hash", hash)?;
        if fields.next().is_some() {
            return Err(HashProblem::TrailingField);
        }
        Ok(PasswordHash { scheme, salt, hash })
    }
}

impl fmt::Display for PasswordHash {
    /// The form `mosquitto_passwd` writes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let salt = STANDARD.encode(self.salt);
        let hash = STANDARD.encode(self.hash);
        match self.scheme {
            HashScheme::Sha512 => write!(f, "$6${salt}${hash}"),
            HashScheme::Pbkdf2Sha512(iterations) => write!(f, "$7${iterations}${salt}${hash}"),
        }
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHash")
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; SALT_LEN] = *b"saltsaltsalt";

    #[test]
    fn round_trips_through_text() {
        for hash in [
            PasswordHash::pbkdf2_sha512(b"secret", SALT, Iterations::MOSQUITTO_DEFAULT),
            PasswordHash::sha512(b"secret", SALT),
        ] {
            let text = hash.to_string();
            assert_eq!(text.parse::<PasswordHash>(), Ok(hash.clone()), "{text}");
            assert!(hash.verify(b"secret"));
            assert!(!hash.verify(b"Secret"));
            assert!(!hash.verify(b""));
        }
    }

    #[test]
    fn pbkdf2_form_is_mosquittos() {
        let text =
            PasswordHash::pbkdf2_sha512(b"x", SALT, Iterations::MOSQUITTO_DEFAULT).to_string();
        let fields: Vec<&str> = text.split('$').collect();
        assert_eq!(fields[..3], ["", "7", "101"]);
        assert_eq!(fields[3], "c2FsdHNhbHRzYWx0");
        assert_eq!(fields[4].len(), 88, "64 bytes in padded base64");
        assert!(fields[4].ends_with("=="));
    }

    #[test]
    fn sha512_is_password_then_salt() {
        let hash = PasswordHash::sha512(b"pw", SALT);
        let mut hasher = Sha512::new();
        hasher.update(b"pwsaltsaltsalt");
        let expected = STANDARD.encode(hasher.finalize());
        assert!(hash.to_string().ends_with(&format!("${expected}")));
    }

    #[test]
    fn problems_are_named() {
        let salt = STANDARD.encode(SALT);
        let hash = STANDARD.encode([0u8; HASH_LEN]);
        for (text, problem) in [
            ("plain".to_owned(), HashProblem::NotAHash),
            (
                format!("$5${salt}${hash}"),
                HashProblem::UnknownScheme("5".into()),
            ),
            (
                format!("$7$0${salt}${hash}"),
                HashProblem::Iterations("0".into()),
            ),
            (
                format!("$7$x${salt}${hash}"),
                HashProblem::Iterations("x".into()),
            ),
            (format!("$6${salt}"), HashProblem::MissingField("hash")),
            ("$7$101".to_owned(), HashProblem::MissingField("salt")),
            (format!("$6${salt}${hash}$x"), HashProblem::TrailingField),
            (format!("$6$!!!${hash}"), HashProblem::Base64("salt")),
            (
                format!("$6$AAAA${hash}"),
                HashProblem::Length {
                    field: "salt",
                    expected: SALT_LEN,
                    actual: 3,
                },
            ),
        ] {
            assert_eq!(text.parse::<PasswordHash>(), Err(problem), "{text}");
        }
    }

    #[test]
    fn debug_hides_the_hash() {
        let hash = PasswordHash::sha512(b"pw", SALT);
        let debug = format!("{hash:?}");
        assert!(
            !debug.contains("salt:") && !debug.contains("hash:"),
            "{debug}"
        );
    }
}
