//! The process's file descriptor table, grown once at start to the size the listeners will
//! need, instead of on the way, one accepted connection at a time.
//!
//! Linux grows a process's descriptor table by doubling it when a new descriptor does not
//! fit; in a process with several threads each growth waits for an RCU grace period
//! (`synchronize_rcu` in `expand_fdtable`), 10 to 30 ms in which the accepting thread is
//! blocked inside `accept4`. Measured on the `conn` benchmark (10,000 connections, 100
//! handshakes at a time): `accept4` took 9 to 15 ms at descriptors 256, 512, 1024, 2048, ...,
//! and every handshake under way waited for it, which made the handshake p99 15 to 30 ms
//! against 3 to 5 ms for single-threaded Mosquitto. Growing the table once while the broker
//! starts moves that cost to the start. The table costs 8 bytes of kernel memory per slot.

use std::os::fd::AsFd;

use rustix::process::{getrlimit, Resource};

/// Descriptors the table is grown to at most: 65,536 slots (512 KiB of kernel memory).
/// Beyond it the kernel grows the table as it always does.
pub(crate) const RESERVE: u64 = 1 << 16;

/// Grows the descriptor table so that it holds `wanted` descriptors (at most [`RESERVE`],
/// and below the soft `RLIMIT_NOFILE`), by duplicating `any` open descriptor to the highest
/// number wanted and closing the copy. Returns the table size reached, `None` if nothing
/// was done (the limit is too low to matter, or the duplication failed: the table then
/// grows as usual, so this is only logged).
pub(crate) fn reserve(any: impl AsFd, wanted: u64) -> Option<u64> {
    let limit = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let slots = wanted.min(RESERVE).min(limit);
    // The highest descriptor the table must hold; the kernel rounds the table up from it.
    let highest = i32::try_from(slots.checked_sub(1)?).ok()?;
    if highest < 64 {
        return None;
    }
    match rustix::io::fcntl_dupfd_cloexec(any, highest) {
        Ok(copy) => {
            drop(copy);
            Some(slots)
        }
        Err(error) => {
            tracing::debug!(%error, "Could not grow the descriptor table ahead.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_grows_to_what_is_wanted_within_the_limit() {
        let limit = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
        let any = std::fs::File::open("/dev/null").unwrap_or_else(|e| panic!("{e}"));
        let reached = reserve(&any, 4096);
        if limit >= 4096 {
            assert_eq!(reached, Some(4096));
            assert!(fd_size() >= 4096, "the kernel's table: {}", fd_size());
        } else {
            assert_eq!(reached, (limit > 64).then_some(limit));
        }
        // The copy is closed again: a new descriptor still takes the lowest free number.
        let file = std::fs::File::open("/dev/null").unwrap_or_else(|e| panic!("{e}"));
        assert!(std::os::fd::AsRawFd::as_raw_fd(&file) < 4095);
    }

    /// The size of this process's descriptor table, as the kernel reports it.
    fn fd_size() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("FDSize:"))
            .and_then(|size| size.trim().parse().ok())
            .unwrap_or(0)
    }

    #[test]
    fn nothing_is_done_for_a_small_table() {
        let any = std::fs::File::open("/dev/null").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reserve(&any, 16), None);
    }
}
