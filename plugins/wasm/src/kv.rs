//! The `kv` capability: key-value state of one plugin, shared by all its instances (and its
//! reloaded generations), in this node's memory, bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::bindings::skein::plugin::kv::{self, Error, Scope};
use crate::state::InstanceState;

/// Keys one plugin may keep at most.
pub const MAX_KEYS: usize = 10_000;
/// The largest value.
pub const MAX_VALUE: usize = 64 * 1024;
/// The longest key.
const MAX_KEY: usize = 1024;

/// One entry: its value, and when it expires.
type Entry = (Vec<u8>, Option<Instant>);

/// One plugin's entries.
#[derive(Debug, Default)]
pub(crate) struct KvStore {
    entries: Mutex<HashMap<String, Entry>>,
}

impl KvStore {
    pub(crate) fn new() -> Arc<KvStore> {
        Arc::new(KvStore::default())
    }
}

fn cluster() -> Error {
    Error::Unavailable(
        "the cluster scope needs a cluster, which this node is not part of".to_owned(),
    )
}

impl kv::Host for InstanceState {
    fn get(
        &mut self,
        scope: Scope,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        if scope == Scope::Cluster {
            return Ok(Err(cluster()));
        }
        let mut entries = self
            .kv
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let expired = entries
            .get(&key)
            .is_some_and(|(_, until)| until.is_some_and(|at| Instant::now() >= at));
        if expired {
            entries.remove(&key);
            return Ok(Ok(None));
        }
        Ok(Ok(entries.get(&key).map(|(value, _)| value.clone())))
    }

    fn set(
        &mut self,
        scope: Scope,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u32>,
    ) -> wasmtime::Result<Result<(), Error>> {
        if scope == Scope::Cluster {
            return Ok(Err(cluster()));
        }
        if value.len() > MAX_VALUE || key.len() > MAX_KEY {
            return Ok(Err(Error::TooLarge));
        }
        let until = ttl_ms.map(|ms| Instant::now() + Duration::from_millis(u64::from(ms)));
        let mut entries = self
            .kv
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_KEYS && !entries.contains_key(&key) {
            // Make room from what has expired; a store full of live keys refuses new ones.
            let now = Instant::now();
            entries.retain(|_, (_, until)| until.is_none_or(|at| now < at));
            if entries.len() >= MAX_KEYS {
                return Ok(Err(Error::TooLarge));
            }
        }
        entries.insert(key, (value, until));
        Ok(Ok(()))
    }

    fn delete(&mut self, scope: Scope, key: String) -> wasmtime::Result<Result<(), Error>> {
        if scope == Scope::Cluster {
            return Ok(Err(cluster()));
        }
        self.kv
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
        Ok(Ok(()))
    }
}
