//! What a run measures: a latency histogram, the stamp at the start of every payload, and the
//! CPU time of the load tool, the broker and the rest of the machine (from `/proc`).
//!
//! No I/O but reading `/proc`; no clock but [`now_ns`].

use std::sync::OnceLock;
use std::time::Instant;

use serde_json::{json, Value};

/// Bytes at the start of each payload: publisher id (u32), sequence number (u64) and send
/// time (u64 ns of [`now_ns`]), little endian, as mqtt-load stamps its payloads.
pub(crate) const STAMP_LEN: usize = 20;

static CLOCK_BASE: OnceLock<Instant> = OnceLock::new();

/// Monotonic nanoseconds since the first call. Publishers and subscribers share the process,
/// so send and receive times come from one clock.
pub(crate) fn now_ns() -> u64 {
    let base = *CLOCK_BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The stamp of message `seq` of publisher `id`, sent at `ts_ns`.
pub(crate) fn stamp(id: u32, seq: u64, ts_ns: u64) -> [u8; STAMP_LEN] {
    let mut out = [0u8; STAMP_LEN];
    let (head, rest) = out.split_at_mut(4);
    let (seq_bytes, ts_bytes) = rest.split_at_mut(8);
    head.copy_from_slice(&id.to_le_bytes());
    seq_bytes.copy_from_slice(&seq.to_le_bytes());
    ts_bytes.copy_from_slice(&ts_ns.to_le_bytes());
    out
}

/// The (publisher id, sequence number, send time) at the start of `payload`, if it is long
/// enough.
pub(crate) fn read_stamp(payload: &[u8]) -> Option<(u32, u64, u64)> {
    let id = payload.get(0..4)?.try_into().ok()?;
    let seq = payload.get(4..12)?.try_into().ok()?;
    let ts = payload.get(12..20)?.try_into().ok()?;
    Some((
        u32::from_le_bytes(id),
        u64::from_le_bytes(seq),
        u64::from_le_bytes(ts),
    ))
}

/// Values below this are counted exactly.
const LINEAR: u64 = 128;
/// Sub-buckets per power of two above [`LINEAR`]: a relative error below 1/64.
const SUB: u64 = 64;

/// A log-linear histogram of microseconds: exact below 128, then 64 buckets per power of
/// two (error under 1.6 %), fixed size whatever is recorded.
#[derive(Clone, Debug)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    max: u64,
}

impl Histogram {
    /// An empty histogram.
    pub(crate) fn new() -> Self {
        Histogram {
            counts: vec![0; Self::index(u64::MAX) + 1],
            total: 0,
            sum: 0,
            max: 0,
        }
    }

    fn index(value: u64) -> usize {
        if value < LINEAR {
            return value as usize;
        }
        let exponent = u64::from(63 - value.leading_zeros()); // >= 7
        let shift = exponent - 6; // >= 1
        let mantissa = value >> shift; // in 64..128
        (LINEAR + (shift - 1) * SUB + (mantissa - SUB)) as usize
    }

    /// The smallest value counted in bucket `index`.
    fn lowest(index: usize) -> u64 {
        let index = index as u64;
        if index < LINEAR {
            return index;
        }
        let shift = (index - LINEAR) / SUB + 1;
        let mantissa = (index - LINEAR) % SUB + SUB;
        mantissa << shift
    }

    /// Counts one value.
    pub(crate) fn record(&mut self, value: u64) {
        if let Some(count) = self.counts.get_mut(Self::index(value)) {
            *count += 1;
        }
        self.total += 1;
        self.sum += u128::from(value);
        self.max = self.max.max(value);
    }

    /// Adds every value of `other`.
    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.total += other.total;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// Values recorded.
    pub(crate) fn len(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0..=1): the lowest value of the bucket that holds it,
    /// never above the largest value recorded. 0 when empty.
    pub(crate) fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::lowest(index).min(self.max);
            }
        }
        self.max
    }

    /// The mean, 0 when empty.
    pub(crate) fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum as f64 / self.total as f64
        }
    }

    /// Count, mean and percentiles, in the histogram's unit.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "count": self.len(),
            "mean": (self.mean() * 10.0).round() / 10.0,
            "p50": self.quantile(0.50),
            "p90": self.quantile(0.90),
            "p99": self.quantile(0.99),
            "p999": self.quantile(0.999),
            "max": self.max,
        })
    }
}

/// USER_HZ: the unit of the CPU times in `/proc`.
const TICKS_PER_SEC: f64 = 100.0;

/// utime + stime, all threads, of process `pid` ("self" for this one), in ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = after_name.split_whitespace().skip(11); // state is field 0
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// (busy, total) ticks over all CPUs, and the number of CPUs.
fn system_ticks() -> Option<(u64, u64, usize)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cores = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count();
    let values: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    let idle = values.get(3)? + values.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total, cores))
}

/// CPU use between [`CpuSampler::start`] and [`CpuSampler::finish`], each as percent of one
/// core: this tool, the broker (given its PID), and everything else on the machine.
pub(crate) struct CpuSampler {
    start: Instant,
    me: Option<u64>,
    broker_pid: Option<u32>,
    broker: Option<u64>,
    system: Option<(u64, u64, usize)>,
}

impl CpuSampler {
    /// Takes the first reading.
    pub(crate) fn start(broker_pid: Option<u32>) -> Self {
        CpuSampler {
            start: Instant::now(),
            me: cpu_ticks("self"),
            broker_pid,
            broker: broker_pid.and_then(|pid| cpu_ticks(&pid.to_string())),
            system: system_ticks(),
        }
    }

    /// Takes the second reading; JSON with `loadgen_pct`, `broker_pct`, `other_pct`, `cores`.
    pub(crate) fn finish(&self) -> Value {
        let wall = self.start.elapsed().as_secs_f64().max(1e-3);
        let pct = |ticks: u64| ((ticks as f64 / TICKS_PER_SEC / wall) * 1000.0).round() / 10.0;
        let me = self
            .me
            .zip(cpu_ticks("self"))
            .map(|(a, b)| pct(b.saturating_sub(a)));
        let broker = self
            .broker_pid
            .and_then(|pid| self.broker.zip(cpu_ticks(&pid.to_string())))
            .map(|(a, b)| pct(b.saturating_sub(a)));
        let now = system_ticks();
        let cores = now.map_or(0, |(_, _, cores)| cores);
        let other = self.system.zip(now).map(|((b0, t0, _), (b1, t1, _))| {
            let busy = b1.saturating_sub(b0) as f64 / t1.saturating_sub(t0).max(1) as f64;
            let busy_pct = busy * cores as f64 * 100.0;
            let ours = me.unwrap_or(0.0) + broker.unwrap_or(0.0);
            ((busy_pct - ours).max(0.0) * 10.0).round() / 10.0
        });
        json!({ "loadgen_pct": me, "broker_pct": broker, "other_pct": other, "cores": cores })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back() {
        let s = stamp(7, 123_456_789_012, 42);
        assert_eq!(read_stamp(&s), Some((7, 123_456_789_012, 42)));
        assert_eq!(read_stamp(&s[..19]), None);
    }

    #[test]
    fn small_values_are_exact_and_large_ones_within_two_percent() {
        let mut h = Histogram::new();
        for v in 0..100 {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 49);
        assert_eq!(h.quantile(1.0), 99);
        for v in [1_000u64, 12_345, 999_999, 1 << 40] {
            let mut one = Histogram::new();
            one.record(v);
            let got = one.quantile(0.5);
            assert!(got <= v && v - got <= v / 60, "{v} -> {got}");
        }
        let mut big = Histogram::new();
        big.record(u64::MAX);
        assert_eq!(big.quantile(0.99), u64::MAX - (u64::MAX >> 7));
    }

    #[test]
    fn merged_histograms_count_everything() {
        let (mut a, mut b) = (Histogram::new(), Histogram::new());
        a.record(10);
        b.record(30);
        b.record(20);
        a.merge(&b);
        assert_eq!(a.len(), 3);
        assert_eq!(a.quantile(0.5), 20);
        assert!((a.mean() - 20.0).abs() < 1e-9);
    }
}
