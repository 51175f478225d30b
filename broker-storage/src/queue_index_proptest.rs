//! The index against a model: a map of every copy with its record and state. Copies come in
//! ascending order per batch as the store applies them, now and then lower than a client's
//! newest (which no path does, and the index must still get right), always within their
//! record's range of numbers (records are numbered one after the other).

use std::collections::{BTreeMap, BTreeSet};

use broker_core::types::ClientId;
use proptest::prelude::*;

use super::QueueIndex;

#[derive(Debug, Clone)]
enum Step {
    /// A batch: copies for these clients (by index), one log record.
    Batch(Vec<usize>),
    /// A copy numbered below the newest, into the last batch's record.
    Late(usize, usize),
    Finish(usize, usize),
    FinishUpTo(usize, usize),
    TakeEmptied,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => proptest::collection::vec(0..3usize, 1..12).prop_map(Step::Batch),
        1 => (0..3usize, 0..12usize).prop_map(|(c, k)| Step::Late(c, k)),
        5 => (0..3usize, 0..64usize).prop_map(|(c, k)| Step::Finish(c, k)),
        1 => (0..3usize, 0..64usize).prop_map(|(c, k)| Step::FinishUpTo(c, k)),
        2 => Just(Step::TakeEmptied),
    ]
}

fn client(n: usize) -> ClientId {
    ClientId::new(&format!("c{n}")).unwrap()
}

/// (client, seq) -> (record, live)
type Model = BTreeMap<(usize, u64), (u64, bool)>;

proptest! {
    #[test]
    fn the_index_agrees_with_a_map_of_every_copy(steps in proptest::collection::vec(step(), 1..60)) {
        let mut index = QueueIndex::default();
        let mut model: Model = BTreeMap::new();
        let mut next = 10u64;
        let mut batches: Vec<(u64, u64, u64)> = Vec::new();
        let mut removed_records = BTreeSet::new();
        for step in steps {
            match step {
                Step::Batch(clients) => {
                    // Numbers two apart: the gaps are for late copies.
                    let record = next + 2 * clients.len() as u64 + 1000;
                    batches.push((next, clients.len() as u64, record));
                    for c in clients {
                        index.add(&client(c), next, record);
                        model.insert((c, next), (record, true));
                        next += 2;
                    }
                    next = record + 1;
                }
                Step::Late(c, k) => {
                    // Into a gap of one of the last batches: below the newest copies.
                    let Some(&(first, len, record)) = batches.iter().rev().nth(k % 3) else { continue };
                    if removed_records.contains(&record) { continue; }
                    let seq = first + 1 + 2 * (k as u64 % len);
                    if model.contains_key(&(c, seq)) || model.keys().any(|(_, s)| *s == seq) { continue; }
                    index.add(&client(c), seq, record);
                    model.insert((c, seq), (record, true));
                }
                Step::Finish(c, k) => {
                    let seqs: Vec<u64> = model.keys().filter(|(m, _)| *m == c).map(|(_, s)| *s).collect();
                    if seqs.is_empty() { continue; }
                    let seq = seqs[k % seqs.len()];
                    index.finish(&client(c), seq);
                    if let Some(copy) = model.get_mut(&(c, seq)) { copy.1 = false; }
                }
                Step::FinishUpTo(c, k) => {
                    let up_to = 10 + k as u64 * 40;
                    index.finish_up_to(&client(c), up_to);
                    for ((m, s), copy) in model.iter_mut() {
                        if *m == c && *s <= up_to { copy.1 = false; }
                    }
                }
                Step::TakeEmptied => {
                    let emptied = index.take_emptied();
                    for record in &emptied.records {
                        // Only records with no live copy go, and all their copies with them.
                        prop_assert!(model.values().all(|(r, live)| r != record || !live));
                        model.retain(|_, (r, _)| r != record);
                        removed_records.insert(*record);
                    }
                    // Every record with no live copy left was taken.
                    let mut records: BTreeMap<u64, bool> = BTreeMap::new();
                    for (r, live) in model.values() {
                        *records.entry(*r).or_default() |= *live;
                    }
                    prop_assert!(records.values().all(|live| *live), "{records:?}");
                }
            }
            for c in 0..3 {
                let want: Vec<(u64, u64)> = model
                    .iter()
                    .filter(|((m, _), (_, live))| *m == c && *live)
                    .map(|((_, s), (r, _))| (*s, *r))
                    .collect();
                prop_assert_eq!(index.live(&client(c), 0, usize::MAX), want.clone());
                if let Some((seq, _)) = want.get(want.len() / 2) {
                    let tail: Vec<(u64, u64)> = want.iter().copied().filter(|(s, _)| s >= seq).take(3).collect();
                    prop_assert_eq!(index.live(&client(c), *seq, 3), tail);
                }
                let all: Vec<u64> = model.keys().filter(|(m, _)| *m == c).map(|(_, s)| *s).collect();
                let mut among = index.live_among(&client(c), &all);
                among.sort_unstable();
                prop_assert_eq!(among, want.clone());
                // The runs written for a crash cover exactly the finished copies.
                if let Some(runs) = index.runs(&client(c)) {
                    for ((m, s), (_, live)) in &model {
                        if *m == c && *live {
                            prop_assert!(!runs.contains(*s), "live copy {s} in a run");
                        }
                    }
                }
            }
            prop_assert_eq!(index.live_copies(), model.values().filter(|(_, live)| *live).count());
        }
    }
}
