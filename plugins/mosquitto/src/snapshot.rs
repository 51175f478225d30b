//! A value that readers share and a reload replaces whole.

use std::sync::{PoisonError, RwLock};

/// The current version of a parsed file. Readers look at it under a read lock held for
/// their (short, synchronous) lookup; a reload swaps in the next version once it is fully
/// parsed, so readers never see half a file, and frees the old one outside the lock.
#[derive(Debug)]
pub(crate) struct Snapshot<T>(RwLock<T>);

impl<T> Snapshot<T> {
    pub(crate) fn new(value: T) -> Self {
        Snapshot(RwLock::new(value))
    }

    /// Runs `f` on the current version under the read lock: for short synchronous reads on
    /// the publish path (no reference count to touch). `f` must not block.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the current version. The old one is freed outside the lock.
    pub(crate) fn store(&self, value: T) {
        let old = {
            let mut current = self.0.write().unwrap_or_else(PoisonError::into_inner);
            std::mem::replace(&mut *current, value)
        };
        drop(old);
    }
}
