//! The store's index of queued copies, in memory: which copies each client has in which log
//! record, which of them are finished, and how many live ones each record still holds.
//!
//! Built when the store opens (from the log records and the finished runs), kept by the
//! committer as it applies batches, and read by [`queued`](crate::DiskStore): a read sees
//! every removal applied before it, whether or not it is on disk yet.

use std::collections::{HashMap, HashSet, VecDeque};

use broker_core::types::ClientId;

use crate::ack_runs::AckRuns;
use crate::client_copies::ClientCopies;

/// One log record: how many of its copies are live, and where they are in the clients'
/// maps: the clients it holds copies of, and the range of its sequence numbers. Per record,
/// not per copy: a batch's copies for one client are neighbours in that client's map.
#[derive(Debug)]
struct Record {
    live: u32,
    first: u64,
    last: u64,
    clients: Vec<ClientId>,
}

/// What [`QueueIndex::take_emptied`] found: log records with no live copy, and the clients
/// left with no copy at all whose finished runs are on disk.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Emptied {
    /// Log records to remove.
    pub(crate) records: Vec<u64>,
    /// Clients whose finished runs to remove.
    pub(crate) runs: Vec<ClientId>,
}

/// The index.
#[derive(Debug, Default)]
pub(crate) struct QueueIndex {
    clients: HashMap<ClientId, ClientCopies>,
    records: HashMap<u64, Record>,
    emptied: Vec<u64>,
    /// Clients with copies finished since their runs were last written, oldest first.
    dirty: VecDeque<ClientId>,
    dirty_set: HashSet<ClientId>,
    /// Clients whose finished runs are on disk.
    written_runs: HashSet<ClientId>,
    /// The highest finished sequence number of each client with finished copies: its runs
    /// end there, so they are computed from its copies up to it, not from all of them (a
    /// client draining a long queue finishes its oldest copies, and has many more).
    last_finished: HashMap<ClientId, u64>,
    live: usize,
}

impl QueueIndex {
    /// Adds a live copy of `client_id`, `seq`, held by log record `record`.
    pub(crate) fn add(&mut self, client_id: &ClientId, seq: u64, record: u64) {
        self.add_copy(client_id, seq, record, true);
    }

    /// Adds a copy read from disk, live or finished.
    pub(crate) fn add_copy(&mut self, client_id: &ClientId, seq: u64, record: u64, live: bool) {
        let copies = self.clients.entry(client_id.clone()).or_default();
        // The client's copies of one record are added together: if its newest copy is of
        // this record, the record lists the client already (a repeat would only cost room).
        let listed = copies.newest_record() == Some(record);
        let added = copies.add(seq, record, live);
        debug_assert!(added, "sequence number {seq} twice");
        if !added {
            return;
        }
        let held = self.records.entry(record).or_insert_with(|| Record {
            live: 0,
            first: seq,
            last: seq,
            clients: Vec::new(),
        });
        held.first = held.first.min(seq);
        held.last = held.last.max(seq);
        if !listed {
            held.clients.push(client_id.clone());
        }
        if live {
            held.live += 1;
            self.live += 1;
        } else {
            self.note_finished(client_id, seq);
        }
    }

    /// Notes that `seq` of `client_id` is finished, for [`runs`](Self::runs).
    fn note_finished(&mut self, client_id: &ClientId, seq: u64) {
        match self.last_finished.get_mut(client_id) {
            Some(last) => *last = (*last).max(seq),
            None => {
                self.last_finished.insert(client_id.clone(), seq);
            }
        }
    }

    /// Notes that `client_id`'s finished runs are on disk.
    pub(crate) fn runs_written(&mut self, client_id: &ClientId) {
        self.written_runs.insert(client_id.clone());
    }

    /// Marks log records that hold no live copy (after a load) for removal.
    pub(crate) fn note_empty_records(&mut self) {
        let empty = self
            .records
            .iter()
            .filter(|(_, r)| r.live == 0)
            .map(|(id, _)| *id);
        self.emptied.extend(empty);
    }

    /// Finishes the copy `seq` of `client_id`, if it is live.
    pub(crate) fn finish(&mut self, client_id: &ClientId, seq: u64) {
        let Some(copies) = self.clients.get_mut(client_id) else {
            return;
        };
        let Some(record) = copies.finish(seq) else {
            return;
        };
        self.note_finished(client_id, seq);
        self.finished(client_id, record);
    }

    /// Finishes every live copy of `client_id` up to and including `up_to`.
    pub(crate) fn finish_up_to(&mut self, client_id: &ClientId, up_to: u64) {
        let Some(copies) = self.clients.get_mut(client_id) else {
            return;
        };
        let (last, records) = copies.finish_up_to(up_to);
        if let Some(last) = last {
            self.note_finished(client_id, last);
        }
        for record in records {
            self.finished(client_id, record);
        }
    }

    fn finished(&mut self, client_id: &ClientId, record: u64) {
        self.live = self.live.saturating_sub(1);
        if let Some(held) = self.records.get_mut(&record) {
            held.live = held.live.saturating_sub(1);
            if held.live == 0 {
                self.emptied.push(record);
            }
        }
        if self.dirty_set.insert(client_id.clone()) {
            self.dirty.push_back(client_id.clone());
            if self.dirty.len() > 2 * self.dirty_set.len() + 64 {
                let set = &self.dirty_set;
                self.dirty.retain(|c| set.contains(c));
            }
        }
    }

    /// Takes the log records left with no live copy: they leave the index, and so do the
    /// copies they held. A record that had none for a moment and got more since (a batch
    /// that queues copies, forgets them and queues more, all in the batch's own record: at
    /// `batched` a subscriber can acknowledge a copy before the committer applies it) stays.
    pub(crate) fn take_emptied(&mut self) -> Emptied {
        let mut out = Emptied::default();
        for id in std::mem::take(&mut self.emptied) {
            if self.records.get(&id).is_none_or(|record| record.live > 0) {
                continue;
            }
            let Some(record) = self.records.remove(&id) else {
                continue;
            };
            out.records.push(id);
            for client_id in record.clients {
                let Some(copies) = self.clients.get_mut(&client_id) else {
                    continue;
                };
                copies.remove_record(id, record.first, record.last);
                if copies.is_empty() {
                    self.clients.remove(&client_id);
                    self.last_finished.remove(&client_id);
                    if self.written_runs.remove(&client_id) {
                        out.runs.push(client_id.clone());
                    }
                    self.dirty_set.remove(&client_id);
                }
            }
        }
        out
    }

    /// The finished runs of `client_id` to write now, or `None` when it has no copy left (a
    /// run on disk, if any, is to be removed); the client is no longer dirty.
    pub(crate) fn runs(&mut self, client_id: &ClientId) -> Option<AckRuns> {
        // Its place in `dirty` goes stale; `take_dirty` skips it.
        self.dirty_set.remove(client_id);
        let copies = self.clients.get(client_id)?;
        let last = *self.last_finished.get(client_id)?;
        let runs = AckRuns::of(
            copies
                .copies_up_to(last)
                .into_iter()
                .map(|(seq, _, finished)| (seq, finished)),
        );
        if runs.is_empty() {
            None
        } else {
            self.written_runs.insert(client_id.clone());
            Some(runs)
        }
    }

    /// Whether `client_id`'s runs on disk are behind what it has finished.
    pub(crate) fn is_dirty(&self, client_id: &ClientId) -> bool {
        self.dirty_set.contains(client_id)
    }

    /// Whether `client_id`'s finished runs are on disk.
    pub(crate) fn has_written_runs(&self, client_id: &ClientId) -> bool {
        self.written_runs.contains(client_id)
    }

    /// Notes that `client_id`'s runs are no longer on disk.
    pub(crate) fn runs_removed(&mut self, client_id: &ClientId) {
        self.written_runs.remove(client_id);
    }

    /// Up to `n` clients whose runs are behind, oldest first (all of them for `usize::MAX`);
    /// the caller writes their [`runs`](Self::runs).
    pub(crate) fn take_dirty(&mut self, n: usize) -> Vec<ClientId> {
        let mut taken = Vec::new();
        while taken.len() < n {
            let Some(client_id) = self.dirty.pop_front() else {
                break;
            };
            if self.dirty_set.remove(&client_id) {
                taken.push(client_id);
            }
        }
        taken
    }

    /// At most `limit` live copies of `client_id` numbered `from` or above, oldest first:
    /// sequence number and log record.
    pub(crate) fn live(&self, client_id: &ClientId, from: u64, limit: usize) -> Vec<(u64, u64)> {
        self.clients
            .get(client_id)
            .map(|copies| copies.live_from(from, limit))
            .unwrap_or_default()
    }

    /// The live copies of `client_id` among `seqs`: sequence number and log record.
    pub(crate) fn live_among(&self, client_id: &ClientId, seqs: &[u64]) -> Vec<(u64, u64)> {
        let Some(copies) = self.clients.get(client_id) else {
            return Vec::new();
        };
        seqs.iter()
            .filter_map(|seq| Some((*seq, copies.live_record(*seq)?)))
            .collect()
    }

    /// Whether the copy `seq` of `client_id` is live.
    pub(crate) fn is_live(&self, client_id: &ClientId, seq: u64) -> bool {
        self.clients
            .get(client_id)
            .is_some_and(|copies| copies.live_record(seq).is_some())
    }

    /// Live copies, all clients.
    pub(crate) fn live_copies(&self) -> usize {
        self.live
    }

    /// Log records held.
    pub(crate) fn records(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str) -> ClientId {
        ClientId::new(name).unwrap()
    }

    #[test]
    fn a_record_is_emptied_once_every_copy_in_it_is_finished() {
        let (a, b) = (client("a"), client("b"));
        let mut index = QueueIndex::default();
        index.add(&a, 1, 100);
        index.add(&b, 2, 100);
        index.add(&a, 3, 200);
        assert_eq!(index.live(&a, 0, usize::MAX), vec![(1, 100), (3, 200)]);
        assert_eq!(index.live(&a, 2, usize::MAX), vec![(3, 200)]);
        assert_eq!(index.live(&a, 0, 1), vec![(1, 100)]);
        assert_eq!(index.live_among(&a, &[3, 2, 1]), vec![(3, 200), (1, 100)]);
        index.finish(&a, 1);
        assert_eq!(index.take_emptied(), Emptied::default());
        assert_eq!(index.live(&a, 0, usize::MAX), vec![(3, 200)]);
        assert!(index.is_dirty(&a) && !index.is_dirty(&b));
        index.finish(&b, 2);
        index.finish(&b, 2);
        assert_eq!(
            index.take_emptied(),
            Emptied {
                records: vec![100],
                runs: Vec::new()
            }
        );
        assert_eq!(index.live_copies(), 1);
        assert_eq!(index.records(), 1);
    }

    #[test]
    fn runs_say_what_is_finished_and_a_client_with_no_copy_left_loses_them() {
        let a = client("a");
        let mut index = QueueIndex::default();
        for seq in 1..=5 {
            index.add(&a, seq, 10);
        }
        index.add(&client("b"), 6, 10);
        index.finish_up_to(&a, 2);
        index.finish(&a, 4);
        assert_eq!(index.take_dirty(8), vec![a.clone()]);
        let runs = index.runs(&a).unwrap();
        assert!(runs.contains(1) && runs.contains(2) && runs.contains(4));
        assert!(!runs.contains(3) && !runs.contains(5));
        assert!(!index.is_dirty(&a) && index.has_written_runs(&a));
        index.finish_up_to(&a, u64::MAX);
        index.finish(&client("b"), 6);
        let emptied = index.take_emptied();
        assert_eq!(emptied.records, vec![10]);
        assert_eq!(emptied.runs, vec![a.clone()]);
        assert!(index.runs(&a).is_none());
        assert!(index.take_dirty(8).is_empty());
    }

    #[test]
    fn a_record_whose_copies_were_all_finished_for_a_moment_keeps_the_copies_added_after() {
        // One batch at `batched`: the committer took a publisher's copies, the subscriber's
        // acknowledgement of them (answered at once, delivered before the commit), and more
        // copies, all into one log record. The record was empty for a moment, not at the end.
        let a = client("a");
        let mut index = QueueIndex::default();
        index.add(&a, 1, 10);
        index.add(&a, 2, 10);
        index.finish(&a, 1);
        index.finish(&a, 2);
        index.add(&a, 3, 10);
        assert_eq!(index.take_emptied(), Emptied::default());
        assert_eq!(index.live(&a, 0, usize::MAX), vec![(3, 10)]);
        assert_eq!(index.records(), 1);
        index.finish(&a, 3);
        assert_eq!(index.take_emptied().records, vec![10]);
    }

    #[test]
    fn an_emptied_record_takes_exactly_its_copies_out_of_each_clients_map() {
        let (a, b) = (client("a"), client("b"));
        let mut index = QueueIndex::default();
        // Record 10: two messages for a and b, interleaved; record 20: one more for each.
        index.add(&a, 1, 10);
        index.add(&b, 2, 10);
        index.add(&a, 3, 10);
        index.add(&b, 4, 10);
        index.add(&a, 5, 20);
        index.add(&b, 6, 20);
        for (client, seq) in [(&a, 1), (&b, 2), (&a, 3), (&b, 4)] {
            index.finish(client, seq);
        }
        let emptied = index.take_emptied();
        assert_eq!(emptied.records, vec![10]);
        assert_eq!(index.live(&a, 0, usize::MAX), vec![(5, 20)]);
        assert_eq!(index.live(&b, 0, usize::MAX), vec![(6, 20)]);
        // Nothing of record 10 is left behind: finishing the rest empties record 20 and the
        // clients with it.
        index.finish(&a, 5);
        index.finish(&b, 6);
        assert_eq!(index.take_emptied().records, vec![20]);
        assert_eq!(index.records(), 0);
        assert!(index.live(&a, 0, usize::MAX).is_empty());
    }
}

#[cfg(test)]
#[path = "queue_index_proptest.rs"]
mod proptests;
