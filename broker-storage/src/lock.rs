//! One process per data directory: an exclusive `flock` on `skein.lock`, held for as long as
//! the store is open, with the holder's process id written in it for the error message.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use crate::error::OpenError;

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "skein.lock";

/// The held lock; dropping it (closing the file) releases it, also when the process dies.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir` (which exists), or says who holds it.
    pub(crate) fn take(dir: &Path) -> Result<DirLock, OpenError> {
        let dir_error = |source| OpenError::Dir {
            dir: dir.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK_FILE))
            .map_err(dir_error)?;
        if let Err(errno) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
            if errno == rustix::io::Errno::WOULDBLOCK {
                let mut text = String::new();
                let holder = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse().ok());
                return Err(OpenError::Locked {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            return Err(dir_error(errno.into()));
        }
        let pid = rustix::process::getpid().as_raw_nonzero().get();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{pid}"))
            .map_err(dir_error)?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::take(dir.path()).unwrap();
        let err = DirLock::take(dir.path()).unwrap_err();
        let OpenError::Locked { holder, .. } = &err else {
            panic!("not refused as locked: {err}");
        };
        assert_eq!(*holder, Some(std::process::id()));
        assert!(err.to_string().contains("in use by another Skein"), "{err}");
        drop(first);
        DirLock::take(dir.path()).unwrap();
    }
}
