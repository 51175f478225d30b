//! `skein passwd`: manages a Mosquitto password file, like `mosquitto_passwd` 2.0.
//!
//! ```text
//! skein passwd [-H sha512-pbkdf2|sha512] [-I N] -c FILE USER          create (or overwrite), prompt
//! skein passwd [-H ...] [-I N] [-c] -b FILE USER PASSWORD             batch: password as argument
//! skein passwd [-H ...] [-I N] FILE USER                              add or change a user, prompt
//! skein passwd -D FILE USER                                           delete a user
//! skein passwd -U FILE                                                hash plain-text `user:password` lines
//! ```
//!
//! Lines are written as Mosquitto 2.0 writes them: `user:$7$101$<salt>$<hash>` (PBKDF2-HMAC-
//! SHA512, 101 iterations, a random 12-byte salt), or `user:$6$<salt>$<hash>` with
//! `-H sha512`. The file is replaced atomically (written next to it, then renamed); an
//! existing file keeps its permissions, a new one is created with mode 0640 (less the umask).
//!
//! Where it differs from `mosquitto_passwd`: comment and blank lines are kept instead of
//! refused, and `-U` leaves lines that already hold a hash alone (running it twice does not
//! hash the hashes).

use std::fs;
use std::io::{self, BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context as _};
use clap::{Args, ValueEnum};
use skein_plugin_mosquitto::{Iterations, PasswordHash};

/// The longest user name or password CONNECT can carry.
const MAX_LEN: usize = 65_535;

/// The hash algorithm of new lines (`-H`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HashKind {
    /// PBKDF2-HMAC-SHA512, `$7$` (the default, as in Mosquitto 2.0).
    #[value(name = "sha512-pbkdf2")]
    Sha512Pbkdf2,
    /// Salted SHA-512, `$6$` (Mosquitto 1.6 and earlier).
    #[value(name = "sha512")]
    Sha512,
}

/// Manage a Mosquitto password file (the format of `mosquitto_passwd`).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub(crate) struct PasswdArgs {
    /// Create a new password file, overwriting an existing one.
    #[arg(short = 'c', conflicts_with_all = ["delete", "update"])]
    pub(crate) create: bool,

    /// Batch mode: take the password from the command line instead of prompting.
    #[arg(short = 'b', conflicts_with_all = ["delete", "update"])]
    pub(crate) batch: bool,

    /// Delete the user instead of adding or updating it.
    #[arg(short = 'D', conflicts_with = "update")]
    pub(crate) delete: bool,

    /// Update a plain-text password file (`user:password` lines) to hashed passwords.
    #[arg(short = 'U')]
    pub(crate) update: bool,

    /// The hash algorithm of new lines.
    #[arg(
        short = 'H',
        value_enum,
        value_name = "HASH",
        default_value = "sha512-pbkdf2"
    )]
    pub(crate) hash: HashKind,

    /// PBKDF2 iterations of new `sha512-pbkdf2` lines.
    #[arg(short = 'I', value_name = "N", default_value_t = Iterations::MOSQUITTO_DEFAULT.get(),
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) iterations: u32,

    /// The password file.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,

    /// The user name (not with -U).
    #[arg(value_name = "USER")]
    pub(crate) username: Option<String>,

    /// The password (with -b only).
    #[arg(value_name = "PASSWORD")]
    pub(crate) password: Option<String>,
}

/// What the arguments ask for, checked.
enum Action {
    Create { username: String },
    Set { username: String },
    Delete { username: String },
    Update,
}

impl PasswdArgs {
    fn action(&self) -> anyhow::Result<Action> {
        if self.update {
            ensure!(
                self.username.is_none() && self.password.is_none(),
                "-U takes the password file only"
            );
            return Ok(Action::Update);
        }
        let Some(username) = self.username.clone() else {
            bail!("the user name is missing");
        };
        check_username(&username)?;
        match (&self.password, self.batch) {
            (None, true) => bail!("-b needs the password after the user name"),
            (Some(_), false) => {
                bail!("a password on the command line needs -b (without -b you are prompted)")
            }
            (Some(password), true) => ensure!(
                password.len() <= MAX_LEN,
                "the password must be at most {MAX_LEN} bytes long"
            ),
            (None, false) => {}
        }
        Ok(if self.delete {
            Action::Delete { username }
        } else if self.create {
            Action::Create { username }
        } else {
            Action::Set { username }
        })
    }

    /// Hashes `password` as the options ask, with a fresh random salt.
    fn hash(&self, password: &str) -> anyhow::Result<PasswordHash> {
        let mut salt = [0u8; PasswordHash::SALT_LEN];
        getrandom::fill(&mut salt)
            .map_err(|error| anyhow::anyhow!("drawing a random salt: {error}"))?;
        Ok(match self.hash {
            HashKind::Sha512 => PasswordHash::sha512(password.as_bytes(), salt),
            HashKind::Sha512Pbkdf2 => {
                let iterations = Iterations::new(self.iterations)
                    .context("the iteration count must be at least 1")?;
                PasswordHash::pbkdf2_sha512(password.as_bytes(), salt, iterations)
            }
        })
    }

    /// The password: from the command line (`-b`) or prompted twice.
    fn password(&self) -> anyhow::Result<String> {
        match &self.password {
            Some(password) => Ok(password.clone()),
            None => prompt_password(),
        }
    }
}

/// Runs `skein passwd`.
pub(crate) fn run(args: &PasswdArgs) -> anyhow::Result<()> {
    let action = args.action()?;
    let file = &args.file;
    match action {
        Action::Create { username } => {
            let line = format!("{username}:{}\n", args.hash(&args.password()?)?);
            write_atomically(file, &line)
        }
        Action::Set { username } => {
            let text = read(file)?;
            let line = format!("{username}:{}", args.hash(&args.password()?)?);
            write_atomically(file, &set_user(&text, &username, &line))
        }
        Action::Delete { username } => {
            let text = read(file)?;
            let Some(text) = delete_user(&text, &username) else {
                bail!(
                    "user {username} not found in password file {}",
                    file.display()
                );
            };
            write_atomically(file, &text)
        }
        Action::Update => {
            let text = read(file)?;
            let text = hash_plain_lines(&text, |password| args.hash(password))
                .with_context(|| format!("password file {}", file.display()))?;
            write_atomically(file, &text)
        }
    }
}

/// Mosquitto's rules for a user name in a password file: at most 65535 bytes, no control
/// characters, no `:`. (And not empty.)
fn check_username(username: &str) -> anyhow::Result<()> {
    ensure!(!username.is_empty(), "the user name must not be empty");
    ensure!(
        username.len() <= MAX_LEN,
        "the user name must be at most {MAX_LEN} bytes long"
    );
    ensure!(
        !username.chars().any(char::is_control),
        "the user name must not contain control characters"
    );
    ensure!(
        !username.contains(':'),
        "the user name must not contain the ':' character"
    );
    Ok(())
}

/// Prompts twice on the terminal (echo off), or reads two lines from a piped standard input.
fn prompt_password() -> anyhow::Result<String> {
    let stdin = io::stdin();
    let (first, second) = if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading the password")?;
        let second =
            rpassword::prompt_password("Reenter password: ").context("reading the password")?;
        (first, second)
    } else {
        let mut lines = stdin.lock().lines();
        let mut next = || -> anyhow::Result<String> {
            Ok(lines
                .next()
                .transpose()
                .context("reading the password from standard input")?
                .unwrap_or_default())
        };
        (next()?, next()?)
    };
    let first = first.trim_end_matches(['\r', '\n']).to_owned();
    ensure!(!first.is_empty(), "empty password");
    ensure!(
        first == second.trim_end_matches(['\r', '\n']),
        "passwords do not match"
    );
    ensure!(
        first.len() <= MAX_LEN,
        "the password must be at most {MAX_LEN} bytes long"
    );
    Ok(first)
}

fn read(file: &Path) -> anyhow::Result<String> {
    fs::read_to_string(file)
        .with_context(|| format!("cannot read the password file {}", file.display()))
}

/// The user name of a `user:...` line; `None` for blank and comment lines (and lines
/// without `:`, which are kept as they are).
fn line_user(line: &str) -> Option<&str> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    trimmed.split_once(':').map(|(user, _)| user.trim())
}

/// `text` with `username`'s line replaced by `line` (where it was), or `line` appended.
fn set_user(text: &str, username: &str, line: &str) -> String {
    let mut out = String::with_capacity(text.len() + line.len() + 1);
    let mut found = false;
    for existing in text.lines() {
        if line_user(existing) == Some(username) {
            if !found {
                out.push_str(line);
                out.push('\n');
            }
            found = true;
        } else {
            out.push_str(existing);
            out.push('\n');
        }
    }
    if !found {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `text` without `username`'s lines; `None` if it had none.
fn delete_user(text: &str, username: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut found = false;
    for line in text.lines() {
        if line_user(line) == Some(username) {
            found = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    found.then_some(out)
}

/// `text` with every `user:password` line's password replaced by `hash(password)`; lines
/// that already hold a `$6$`/`$7$` hash, blank lines and comments are kept.
fn hash_plain_lines(
    text: &str,
    hash: impl Fn(&str) -> anyhow::Result<PasswordHash>,
) -> anyhow::Result<String> {
    let mut out = String::with_capacity(text.len() * 4);
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let Some((username, password)) = trimmed.split_once(':') else {
            bail!("line {}: expected `user:password`, found no `:`", index + 1);
        };
        let (username, password) = (username.trim(), password.trim());
        ensure!(
            !username.is_empty() && !password.is_empty(),
            "line {}: empty user name or password",
            index + 1
        );
        if password.parse::<PasswordHash>().is_ok() {
            out.push_str(line);
        } else {
            out.push_str(username);
            out.push(':');
            out.push_str(&hash(password)?.to_string());
        }
        out.push('\n');
    }
    Ok(out)
}

/// Replaces `file` with `contents`: written to a temporary file in the same directory, then
/// renamed over it, so a reader (a broker reloading) sees the old file or the new one. A
/// symbolic link is followed; the file's permissions are kept; a new file gets 0640 less
/// the umask.
fn write_atomically(file: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write as _;

    let target = fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let existing = fs::metadata(&target).ok().map(|meta| meta.permissions());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".skein-passwd-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(fs::Permissions::from_mode(0o640));
    }
    let context = || format!("cannot write the password file {}", file.display());
    let mut temp = builder.tempfile_in(&dir).with_context(context)?;
    temp.write_all(contents.as_bytes()).with_context(context)?;
    temp.as_file().sync_all().with_context(context)?;
    if let Some(permissions) = existing {
        fs::set_permissions(temp.path(), permissions).with_context(context)?;
    }
    temp.persist(&target)
        .map_err(|error| error.error)
        .with_context(context)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: PasswdArgs,
    }

    fn parse(args: &[&str]) -> Result<PasswdArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("passwd").chain(args.iter().copied()))
            .map(|w| w.args)
    }

    #[test]
    fn options_like_mosquitto_passwd() {
        let args = parse(&["-c", "-b", "f", "u", "p"]).unwrap();
        assert!(args.create && args.batch);
        assert!(matches!(args.action().unwrap(), Action::Create { username } if username == "u"));
        let args = parse(&["-H", "sha512", "-I", "5", "f", "u"]).unwrap();
        assert_eq!((args.hash, args.iterations), (HashKind::Sha512, 5));
        assert!(matches!(args.action().unwrap(), Action::Set { .. }));
        assert!(matches!(
            parse(&["-D", "f", "u"]).unwrap().action().unwrap(),
            Action::Delete { .. }
        ));
        assert!(matches!(
            parse(&["-U", "f"]).unwrap().action().unwrap(),
            Action::Update
        ));
        for bad in [
            &["-c", "-D", "f", "u"][..],
            &["-c", "-U", "f"],
            &["-D", "-U", "f", "u"],
            &["-b", "-D", "f", "u", "p"],
            &["-I", "0", "f", "u"],
            &["-H", "md5", "f", "u"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for bad in [
            &["-b", "f", "u"][..],
            &["f", "u", "p"],
            &["-U", "f", "u"],
            &["f"],
            &["-b", "f", "a:b", "p"],
            &["-b", "f", "a\tb", "p"],
            &["-b", "f", "", "p"],
        ] {
            assert!(parse(bad).unwrap().action().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn set_replaces_in_place_or_appends() {
        let text = "# users\nalice:old\nbob:x\n";
        assert_eq!(
            set_user(text, "alice", "alice:new"),
            "# users\nalice:new\nbob:x\n"
        );
        assert_eq!(
            set_user(text, "carol", "carol:c"),
            format!("{text}carol:c\n")
        );
        assert_eq!(set_user("", "a", "a:1"), "a:1\n");
    }

    #[test]
    fn delete_removes_or_reports_missing() {
        let text = "alice:a\n\nbob:b\n";
        assert_eq!(delete_user(text, "alice").as_deref(), Some("\nbob:b\n"));
        assert_eq!(delete_user(text, "carol"), None);
    }

    #[test]
    fn plain_lines_are_hashed_and_hashes_kept() {
        let salt = [7u8; PasswordHash::SALT_LEN];
        let hash = |p: &str| Ok(PasswordHash::sha512(p.as_bytes(), salt));
        let kept = format!("carol:{}", PasswordHash::sha512(b"c", salt));
        let text = format!("# c\nalice: secret \n{kept}\n");
        let out = hash_plain_lines(&text, hash).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "# c");
        let alice = lines[1].strip_prefix("alice:").unwrap();
        assert!(alice.parse::<PasswordHash>().unwrap().verify(b"secret"));
        assert_eq!(lines[2], kept);
        assert!(hash_plain_lines("nocolon\n", hash).is_err());
    }
}
