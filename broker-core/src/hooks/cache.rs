//! The authorization decision cache: bounded, per client, with the TTL each hook set.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use bytestring::ByteString;

use super::lru::Lru;
use super::Authorization;
use crate::types::{ClientId, QoS};

/// Capacities from this size up are split over [`SHARDS`] locks.
const SHARDED_FROM: usize = 1024;
/// The number of locks of a large cache.
const SHARDS: usize = 16;

/// What is being authorized. QoS and retain are part of the key because a hook may decide
/// on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CacheAction {
    /// A publish.
    Publish {
        /// The message's QoS.
        qos: QoS,
        /// The RETAIN flag.
        retain: bool,
    },
    /// A subscription.
    Subscribe {
        /// The QoS asked for.
        qos: QoS,
    },
}

/// One cached request: (client id, action, topic or filter).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub(crate) client_id: ClientId,
    pub(crate) action: CacheAction,
    pub(crate) topic: ByteString,
}

struct CacheEntry {
    value: Authorization,
    expires: Instant,
}

/// One lock's worth of the cache. All entries of one client live in the same shard.
struct Shard {
    lru: Lru<CacheKey, CacheEntry>,
    by_client: HashMap<ClientId, HashSet<CacheKey>>,
}

impl Shard {
    fn forget(&mut self, key: &CacheKey) {
        if let Some(keys) = self.by_client.get_mut(&key.client_id) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_client.remove(&key.client_id);
            }
        }
    }
}

/// Decisions by (client, action, topic), each until its expiry, at most `capacity` in all;
/// the least recently used goes first when full. Locks are held for a map operation only.
pub(crate) struct DecisionCache {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    /// Bumped by every invalidation, so that copies of decisions kept outside the cache
    /// (a connection's memo of its last publish) know they may be stale.
    generation: AtomicU64,
}

impl DecisionCache {
    /// A cache of at most `capacity` decisions; 0 disables caching.
    pub(crate) fn new(capacity: usize) -> Self {
        // Disabled: no shard at all, so a lookup hashes and locks nothing.
        let shards = match capacity {
            0 => 0,
            c if c >= SHARDED_FROM => SHARDS,
            _ => 1,
        };
        let per_shard = capacity.checked_div(shards).unwrap_or(0);
        DecisionCache {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        lru: Lru::new(per_shard),
                        by_client: HashMap::new(),
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            generation: AtomicU64::new(0),
        }
    }

    /// Whether it keeps anything (its capacity is not 0).
    pub(crate) fn is_enabled(&self) -> bool {
        !self.shards.is_empty()
    }

    /// The number of invalidations so far (see [`DecisionCache::generation`]'s field).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The cached decision for `key`, if there is one that has not expired at `now`.
    pub(crate) fn get(&self, key: &CacheKey, now: Instant) -> Option<Authorization> {
        self.get_until(key, now).map(|(value, _)| value)
    }

    /// [`DecisionCache::get`], with the decision's expiry.
    pub(crate) fn get_until(
        &self,
        key: &CacheKey,
        now: Instant,
    ) -> Option<(Authorization, Instant)> {
        let mut shard = self.shard(&key.client_id)?;
        let entry = shard.lru.get(key)?;
        if entry.expires > now {
            return Some((entry.value.clone(), entry.expires));
        }
        shard.lru.remove(key);
        shard.forget(key);
        None
    }

    /// Caches `value` for `key` until `expires`.
    pub(crate) fn insert(&self, key: CacheKey, value: Authorization, expires: Instant) {
        let Some(mut shard) = self.shard(&key.client_id) else {
            return;
        };
        let shard = &mut *shard;
        if let Some((evicted, _)) = shard.lru.insert(key.clone(), CacheEntry { value, expires }) {
            shard.forget(&evicted);
            if evicted == key {
                return; // capacity 0
            }
        }
        shard
            .by_client
            .entry(key.client_id.clone())
            .or_default()
            .insert(key);
    }

    /// Forgets every decision about `client_id`.
    pub(crate) fn invalidate_client(&self, client_id: &ClientId) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let Some(mut shard) = self.shard(client_id) else {
            return;
        };
        if let Some(keys) = shard.by_client.remove(client_id) {
            for key in &keys {
                shard.lru.remove(key);
            }
        }
    }

    /// Forgets every decision.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            shard.lru.clear();
            shard.by_client.clear();
        }
    }

    /// The number of cached decisions, expired ones included until they are looked up or
    /// evicted.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).lru.len()).sum()
    }

    fn shard(&self, client_id: &ClientId) -> Option<MutexGuard<'_, Shard>> {
        let index = match self.shards.len() {
            0 => return None,
            1 => 0,
            // Dropping high bits of the hash on 32-bit targets keeps it a hash.
            count => (self.hasher.hash_one(client_id) as usize) % count,
        };
        self.shards.get(index).map(lock)
    }
}

/// A poisoned lock only means another thread panicked mid-operation on a cache: the data is
/// still a valid map, so carry on.
fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::hooks::Refusal;

    fn key(client: &str, topic: &str) -> CacheKey {
        CacheKey {
            client_id: ClientId::new(client).unwrap(),
            action: CacheAction::Publish {
                qos: QoS::AtMostOnce,
                retain: false,
            },
            topic: ByteString::from(topic),
        }
    }

    #[test]
    fn entries_expire() {
        let cache = DecisionCache::new(10);
        let now = Instant::now();
        cache.insert(
            key("c", "a"),
            Authorization::Allowed,
            now + Duration::from_secs(5),
        );
        assert_eq!(cache.get(&key("c", "a"), now), Some(Authorization::Allowed));
        assert_eq!(
            cache.get(&key("c", "a"), now + Duration::from_secs(5)),
            None
        );
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn the_key_includes_the_action() {
        let cache = DecisionCache::new(10);
        let now = Instant::now();
        let later = now + Duration::from_secs(5);
        cache.insert(key("c", "a"), Authorization::Allowed, later);
        let mut retained = key("c", "a");
        retained.action = CacheAction::Publish {
            qos: QoS::AtMostOnce,
            retain: true,
        };
        assert_eq!(cache.get(&retained, now), None);
        let mut subscribe = key("c", "a");
        subscribe.action = CacheAction::Subscribe {
            qos: QoS::AtMostOnce,
        };
        assert_eq!(cache.get(&subscribe, now), None);
    }

    #[test]
    fn invalidation_is_per_client() {
        let cache = DecisionCache::new(10);
        let now = Instant::now();
        let later = now + Duration::from_secs(5);
        let denied = Authorization::Denied(Refusal::not_authorized());
        cache.insert(key("c1", "a"), Authorization::Allowed, later);
        cache.insert(key("c1", "b"), denied.clone(), later);
        cache.insert(key("c2", "a"), Authorization::Allowed, later);
        cache.invalidate_client(&ClientId::new("c1").unwrap());
        assert_eq!(cache.get(&key("c1", "a"), now), None);
        assert_eq!(cache.get(&key("c1", "b"), now), None);
        assert_eq!(
            cache.get(&key("c2", "a"), now),
            Some(Authorization::Allowed)
        );
        assert_eq!(cache.len(), 1);
        cache.clear();
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn bounded_with_eviction_in_every_shard_layout() {
        for capacity in [0, 1, 4, SHARDED_FROM, 4 * SHARDED_FROM] {
            let cache = DecisionCache::new(capacity);
            let now = Instant::now();
            let later = now + Duration::from_secs(5);
            for i in 0..(capacity * 2 + 10) {
                cache.insert(
                    key(&format!("c{}", i % 37), &format!("t{i}")),
                    Authorization::Allowed,
                    later,
                );
                assert!(cache.len() <= capacity, "capacity {capacity}");
            }
            // Every client's index matches the LRU: invalidating all empties the cache.
            for c in 0..37 {
                cache.invalidate_client(&ClientId::new(&format!("c{c}")).unwrap());
            }
            assert_eq!(cache.len(), 0, "capacity {capacity}");
            for shard in cache.shards.iter() {
                assert!(lock(shard).by_client.is_empty());
            }
        }
    }
}
