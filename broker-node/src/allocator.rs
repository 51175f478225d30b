//! The process's allocator: mimalloc, and the periodic call that gives the memory freed by
//! parked connections back to the operating system.
//!
//! When an idle connection parks (`BrokerConfig::park_idle_after`), its task and its tokio
//! registration are freed: about 1.5 KiB each. mimalloc keeps freed pages for a short delay
//! before it gives them back, and only acts on that when it is called again; a broker whose
//! connections have all gone idle calls it rarely. So the node asks for the collection
//! itself, once a second.

use std::time::Duration;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
