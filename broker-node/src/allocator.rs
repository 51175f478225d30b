//! The process's allocator: mimalloc, without transparent huge pages, and the periodic call
//! that gives the memory freed by parked connections back to the operating system.
//!
//! mimalloc asks the kernel for transparent huge pages on its arena (`madvise`
//! `MADV_HUGEPAGE`, honoured where THP is in `madvise` mode, the common default). The
//! broker's memory then grows and is zeroed 2 MiB at a time: on the `conn` benchmark (10,000
//! connections, 100 handshakes at a time) page faults zeroing huge pages took 14 % of the
//! broker's time and held handshakes up (p99 8 to 11 ms, against 3 to 4 ms without), and an
//! idle broker's RSS was 16 MB instead of 9 MB. The throughput benchmarks gained nothing
//! from them (fan-in, fan-out and p2p within noise). So the node turns them off for the
//! process at start ([`no_huge_pages`]), unless `MIMALLOC_ALLOW_THP` is set in the
//! environment: then mimalloc's own setting decides.
//!
//! When an idle connection parks (`BrokerConfig::park_idle_after`), its task and its tokio
//! registration are freed: about 1.5 KiB each. mimalloc keeps freed pages for a short delay
//! before it gives them back, and only acts on that when it is called again; a broker whose
//! connections have all gone idle calls it rarely. So the node asks for the collection
//! itself, once a second.

use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for the process (`prctl(PR_SET_THP_DISABLE)`), unless
/// the operator set `MIMALLOC_ALLOW_THP`. Call it first in `main`: it applies to the pages
/// touched from then on. Returns the error if the kernel refused (nothing else changes).
pub(crate) fn no_huge_pages() -> std::io::Result<()> {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return Ok(());
    }
    rustix::thread::disable_transparent_huge_pages(true).map_err(std::io::Error::from)
}

/// How often freed memory is given back.
const COLLECT_EVERY: Duration = Duration::from_secs(1);

/// Gives freed memory back to the operating system every [`COLLECT_EVERY`], for ever (the
/// task ends with the runtime).
pub(crate) async fn return_freed_memory() {
    let mut tick = tokio::time::interval(COLLECT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        collect();
    }
}

/// One collection: pages freed more than mimalloc's purge delay ago go back to the OS.
#[allow(unsafe_code)]
fn collect() {
    // SAFETY: `mi_collect` takes no pointer and has no precondition; mimalloc documents it as
    // callable from any thread at any time ("calling this every once in a while" is its
    // intended use). It is `unsafe` only because it is a foreign function, and the `mimalloc`
    // crate offers no safe wrapper for it.
    unsafe { libmimalloc_sys::mi_collect(false) }
}
