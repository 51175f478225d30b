//! A bounded map that evicts the least recently used entry: the storage of the decision
//! cache.

use std::collections::HashMap;
use std::hash::Hash;

/// No node.
const NIL: usize = usize::MAX;

/// A slot of the doubly linked recency list, kept in a `Vec` (indices, not pointers).
struct Node<K, V> {
    entry: Option<(K, V)>,
    prev: usize,
    next: usize,
}

/// At most `capacity` entries; inserting into a full map evicts the entry used least
/// recently. `get` and `insert` count as uses. Every operation is O(1).
pub(crate) struct Lru<K, V> {
    map: HashMap<K, usize>,
    nodes: Vec<Node<K, V>>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used.
    tail: usize,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    /// An empty map holding at most `capacity` entries (0: holds nothing).
    pub(crate) fn new(capacity: usize) -> Self {
        Lru {
            map: HashMap::new(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            capacity,
        }
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The value of `key`, marked as the most recently used.
    pub(crate) fn get(&mut self, key: &K) -> Option<&V> {
        let index = *self.map.get(key)?;
        self.unlink(index);
        self.push_front(index);
        self.nodes
            .get(index)
            .and_then(|node| node.entry.as_ref())
            .map(|(_, value)| value)
    }

    /// Inserts or replaces `key`, as the most recently used. Returns the entry evicted to
    /// make room, if any (with capacity 0, the entry itself).
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        if self.capacity == 0 {
            return Some((key, value));
        }
        if let Some(&index) = self.map.get(&key) {
            if let Some(node) = self.nodes.get_mut(index) {
                node.entry = Some((key, value));
            }
            self.unlink(index);
            self.push_front(index);
            return None;
        }
        let evicted = if self.map.len() >= self.capacity {
            self.pop_back()
        } else {
            None
        };
        let node = Node {
            entry: Some((key.clone(), value)),
            prev: NIL,
            next: NIL,
        };
        let index = match self.free.pop() {
            Some(index) => {
                if let Some(slot) = self.nodes.get_mut(index) {
                    *slot = node;
                }
                index
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        self.map.insert(key, index);
        self.push_front(index);
        evicted
    }

    /// Removes `key`, returning its value.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let index = self.map.remove(key)?;
        self.release(index).map(|(_, value)| value)
    }

    /// Removes every entry.
    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.nodes.clear();
        self.free.clear();
        self.head = NIL;
        self.tail = NIL;
    }

    /// Removes the least recently used entry.
    fn pop_back(&mut self) -> Option<(K, V)> {
        if self.tail == NIL {
            return None;
        }
        let (key, value) = self.release(self.tail)?;
        self.map.remove(&key);
        Some((key, value))
    }

    /// Unlinks node `index`, frees it and returns its entry.
    fn release(&mut self, index: usize) -> Option<(K, V)> {
        self.unlink(index);
        self.free.push(index);
        self.nodes.get_mut(index).and_then(|node| node.entry.take())
    }

    fn unlink(&mut self, index: usize) {
        let Some(node) = self.nodes.get_mut(index) else {
            return;
        };
        let (prev, next) = (node.prev, node.next);
        node.prev = NIL;
        node.next = NIL;
        match self.nodes.get_mut(prev) {
            Some(prev_node) => prev_node.next = next,
            None => self.head = next,
        }
        match self.nodes.get_mut(next) {
            Some(next_node) => next_node.prev = prev,
            None => self.tail = prev,
        }
    }

    fn push_front(&mut self, index: usize) {
        let old_head = self.head;
        if let Some(node) = self.nodes.get_mut(index) {
            node.prev = NIL;
            node.next = old_head;
        }
        match self.nodes.get_mut(old_head) {
            Some(head) => head.prev = index,
            None => self.tail = index,
        }
        self.head = index;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut lru = Lru::new(3);
        assert_eq!(lru.insert("a", 1), None);
        assert_eq!(lru.insert("b", 2), None);
        assert_eq!(lru.insert("c", 3), None);
        assert_eq!(lru.get(&"a"), Some(&1)); // b is now the oldest
        assert_eq!(lru.insert("d", 4), Some(("b", 2)));
        assert_eq!(lru.insert("e", 5), Some(("c", 3)));
        assert_eq!(lru.len(), 3);
        assert_eq!(lru.get(&"b"), None);
        assert_eq!(lru.get(&"a"), Some(&1));
        assert_eq!(lru.insert("f", 6), Some(("d", 4)));
    }

    #[test]
    fn replace_and_remove_keep_the_list_consistent() {
        let mut lru = Lru::new(2);
        lru.insert(1, "one");
        lru.insert(2, "two");
        assert_eq!(lru.insert(1, "uno"), None); // replaced, 2 is now the oldest
        assert_eq!(lru.remove(&2), Some("two"));
        assert_eq!(lru.remove(&2), None);
        assert_eq!(lru.len(), 1);
        lru.insert(3, "three"); // reuses the freed slot
        assert_eq!(lru.insert(4, "four"), Some((1, "uno")));
        assert_eq!(lru.remove(&3), Some("three"));
        assert_eq!(lru.remove(&4), Some("four"));
        assert_eq!(lru.len(), 0);
        assert_eq!(lru.insert(5, "five"), None);
        assert_eq!(lru.get(&5), Some(&"five"));
        lru.clear();
        assert_eq!(lru.len(), 0);
        assert_eq!(lru.get(&5), None);
    }

    #[test]
    fn capacity_zero_holds_nothing() {
        let mut lru = Lru::new(0);
        assert_eq!(lru.insert("a", 1), Some(("a", 1)));
        assert_eq!(lru.len(), 0);
    }

    #[test]
    fn many_operations_stay_bounded() {
        let mut lru = Lru::new(8);
        for i in 0..1000u32 {
            lru.insert(i % 13, i);
            if i % 3 == 0 {
                lru.remove(&(i % 7));
            }
            let _ = lru.get(&(i % 5));
            assert!(lru.len() <= 8);
        }
        assert!(lru.nodes.len() <= 8);
    }
}
