//! The in-memory store: a session outlives its connection, not the process.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::router::RetainedMessage;
use crate::session::QueuedMessage;
use crate::types::{ClientId, TopicName};

use super::{SessionStore, StoreError, StoredSession};

/// A [`SessionStore`] in memory: durable until the process ends. The default store of a
/// single node, and the reference the conformance suite is written against.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<ClientId, StoredSession>,
    queues: HashMap<ClientId, VecDeque<(u64, QueuedMessage)>>,
    /// One counter for every queue: strictly growing per client, never reused.
    next_seq: u64,
    retained: BTreeMap<TopicName, RetainedMessage>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".to_owned()))
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, client_id: &ClientId) -> Result<Option<StoredSession>, StoreError> {
        Ok(self.lock()?.sessions.get(client_id).cloned())
    }

    async fn save(&self, session: &StoredSession) -> Result<(), StoreError> {
        self.lock()?
            .sessions
            .insert(session.client_id.clone(), session.clone());
        Ok(())
    }

    async fn remove(&self, client_id: &ClientId) -> Result<bool, StoreError> {
        let mut inner = self.lock()?;
        inner.queues.remove(client_id);
        Ok(inner.sessions.remove(client_id).is_some())
    }

    async fn sessions(&self) -> Result<Vec<ClientId>, StoreError> {
        Ok(self.lock()?.sessions.keys().cloned().collect())
    }

    async fn enqueue(
        &self,
        client_id: &ClientId,
        message: &QueuedMessage,
    ) -> Result<u64, StoreError> {
        let mut inner = self.lock()?;
        inner.next_seq += 1;
        let seq = inner.next_seq;
        let stored = QueuedMessage {
            message: message.message.detach(),
            ..message.clone()
        };
        inner
            .queues
            .entry(client_id.clone())
            .or_default()
            .push_back((seq, stored));
        Ok(seq)
    }

    async fn queued(&self, client_id: &ClientId) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        Ok(self
            .lock()?
            .queues
            .get(client_id)
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn ack_queued(&self, client_id: &ClientId, up_to: u64) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if let Some(queue) = inner.queues.get_mut(client_id) {
            while queue.front().is_some_and(|(seq, _)| *seq <= up_to) {
                queue.pop_front();
            }
            if queue.is_empty() {
                inner.queues.remove(client_id);
            }
        }
        Ok(())
    }

    async fn forget_queued(&self, client_id: &ClientId, seq: u64) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        if let Some(queue) = inner.queues.get_mut(client_id) {
            queue.retain(|(s, _)| *s != seq);
            if queue.is_empty() {
                inner.queues.remove(client_id);
            }
        }
        Ok(())
    }

    async fn set_retained(&self, message: &RetainedMessage) -> Result<(), StoreError> {
        self.lock()?
            .retained
            .insert(message.topic.clone(), message.clone());
        Ok(())
    }

    async fn remove_retained(&self, topic: &TopicName) -> Result<bool, StoreError> {
        Ok(self.lock()?.retained.remove(topic).is_some())
    }

    async fn retained(&self) -> Result<Vec<RetainedMessage>, StoreError> {
        Ok(self.lock()?.retained.values().cloned().collect())
    }
}
