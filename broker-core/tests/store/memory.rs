//! The in-memory store passes the store conformance suite.

use broker_core::router::RetainedMessage;
use broker_core::session::QueuedMessage;
use broker_core::store::{conformance, MemoryStore, SessionStore, StoreError, StoredSession};
use broker_core::types::{ClientId, TopicName};

#[tokio::test]
async fn memory_store_passes_the_conformance_suite() {
    let result = conformance::check_all(MemoryStore::new).await;
    assert!(result.is_ok(), "{result:?}");
}

/// A store that breaks one rule of the contract: `remove` leaves the queue behind.
#[derive(Default)]
struct LeakyRemove(MemoryStore);

#[async_trait::async_trait]
impl SessionStore for LeakyRemove {
    async fn load(&self, c: &ClientId) -> Result<Option<StoredSession>, StoreError> {
        self.0.load(c).await
    }
    async fn save(&self, s: &StoredSession) -> Result<(), StoreError> {
        self.0.save(s).await
    }
    async fn remove(&self, c: &ClientId) -> Result<bool, StoreError> {
        let queued = self.0.queued(c).await?;
        let existed = self.0.remove(c).await?;
        for (_, q) in queued {
            self.0.enqueue(c, &q).await?;
        }
        Ok(existed)
    }
    async fn sessions(&self) -> Result<Vec<ClientId>, StoreError> {
        self.0.sessions().await
    }
    async fn enqueue(&self, c: &ClientId, m: &QueuedMessage) -> Result<u64, StoreError> {
        self.0.enqueue(c, m).await
    }
    async fn queued(&self, c: &ClientId) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        self.0.queued(c).await
    }
    async fn ack_queued(&self, c: &ClientId, up_to: u64) -> Result<(), StoreError> {
        self.0.ack_queued(c, up_to).await
    }
    async fn forget_queued(&self, c: &ClientId, seq: u64) -> Result<(), StoreError> {
        self.0.forget_queued(c, seq).await
    }
    async fn set_retained(&self, m: &RetainedMessage) -> Result<(), StoreError> {
        self.0.set_retained(m).await
    }
    async fn remove_retained(&self, t: &TopicName) -> Result<bool, StoreError> {
        self.0.remove_retained(t).await
    }
    async fn retained(&self) -> Result<Vec<RetainedMessage>, StoreError> {
        self.0.retained().await
    }
}

#[tokio::test]
async fn the_suite_catches_a_store_that_breaks_the_contract() {
    let error = conformance::check_all(LeakyRemove::default)
        .await
        .unwrap_err();
    assert_eq!(error.check, "remove_removes_session_and_queue");
}
