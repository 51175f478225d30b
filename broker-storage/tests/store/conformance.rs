//! The disk store passes `broker-core`'s store conformance suite, at both durabilities.

use std::sync::atomic::{AtomicUsize, Ordering};

use broker_core::store::conformance;
use broker_storage::{DiskStore, Durability, StoreOptions};

async fn run(durability: Durability) {
    let parent = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    let result = conformance::check_all(|| {
        let mut options = StoreOptions::new(
            parent
                .path()
                .join(n.fetch_add(1, Ordering::Relaxed).to_string()),
        );
        options.durability = durability;
        DiskStore::open(&options).unwrap()
    })
    .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn sync_store_passes_the_conformance_suite() {
    run(Durability::Sync).await;
}

#[tokio::test]
async fn batched_store_passes_the_conformance_suite() {
    run(Durability::Batched {
        window: Durability::DEFAULT_WINDOW,
    })
    .await;
}
