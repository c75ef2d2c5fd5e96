//! What the tasks of the workloads do, and the one-shot latch the peers' adapters wait on.
//!
//! A task's "work" is a calibrated spin: a loop over `black_box` whose iteration count for one
//! microsecond is measured once at start-up, so every contender runs the same instructions per
//! task. Heavy tasks (the imbalanced workload) sit at pseudo-random but fixed positions: the
//! same input index is heavy for every contender and every sample.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// Spin iterations per microsecond, measured by [`calibrate`].
static ITERS_PER_US: AtomicU64 = AtomicU64::new(100);

/// Runs `iterations` rounds of an opaque loop (nothing the optimiser can remove or hoist).
#[inline(never)]
pub fn spin(iterations: u64) {
    let mut x = 0u64;
    for i in 0..iterations {
        x = black_box(x.wrapping_add(i));
    }
    black_box(x);
}

/// Measures how many spin iterations take one microsecond (the fastest of several tries,
/// so a preempted try does not inflate the task size). Returns the count.
pub fn calibrate() -> u64 {
    const ROUNDS: u64 = 2_000_000;
    let best = (0..7)
        .map(|_| {
            let start = Instant::now();
            spin(ROUNDS);
            start.elapsed()
        })
        .min()
        .expect("seven tries");
    let per_us = (ROUNDS as f64 / (best.as_nanos().max(1) as f64 / 1000.0)).round().max(1.0) as u64;
    ITERS_PER_US.store(per_us, Ordering::Relaxed);
    per_us
}

/// The work of one task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Work {
    /// Spin length of an ordinary task, in microseconds (0: an empty task).
    pub micros: f64,
    /// One task in `heavy_one_in` is `heavy_factor` times longer (0: none).
    pub heavy_one_in: u64,
    pub heavy_factor: u64,
}

impl Work {
    pub const EMPTY: Work = Work { micros: 0.0, heavy_one_in: 0, heavy_factor: 1 };

    pub fn micros(micros: f64) -> Work {
        Work { micros, ..Work::EMPTY }
    }

    /// Whether the task at `index` is a heavy one (a fixed hash of the index, ~1 in `heavy_one_in`).
    pub fn is_heavy(&self, index: usize) -> bool {
        self.heavy_one_in != 0 && mix(index as u64).is_multiple_of(self.heavy_one_in)
    }

    /// Runs the task at position `index`.
    #[inline]
    pub fn run(self, index: usize) {
        if self.micros == 0.0 {
            black_box(index);
            return;
        }
        let mut iterations = (self.micros * ITERS_PER_US.load(Ordering::Relaxed) as f64) as u64;
        if self.is_heavy(index) {
            iterations *= self.heavy_factor;
        }
        spin(iterations);
    }

    /// Total work of `n` tasks, in microseconds (the sequential lower bound's nominal cost).
    pub fn total_micros(&self, n: usize) -> f64 {
        let heavy = (0..n).filter(|&i| self.is_heavy(i)).count() as f64;
        self.micros * ((n as f64 - heavy) + heavy * self.heavy_factor as f64)
    }
}

/// splitmix64's output function: a well-spread hash of an index.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A count-down latch: `count_down` by each task, `wait` by the submitter. The last count takes
/// the lock and notifies, so the waiter's check-then-sleep (under the lock) cannot miss it; only
/// one lock round trip per batch, the cheapest completion signal the peers offer.
pub struct Latch {
    remaining: AtomicUsize,
    done: Mutex<bool>,
    signal: Condvar,
}

impl Latch {
    pub fn new(count: usize) -> Latch {
        Latch { remaining: AtomicUsize::new(count), done: Mutex::new(count == 0), signal: Condvar::new() }
    }

    pub fn count_down(&self) {
        // AcqRel: the waiter that sees zero (through the lock) also sees every task's effects.
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.done.lock().unwrap() = true;
            self.signal.notify_all();
        }
    }

    pub fn wait(&self) {
        let mut done = self.done.lock().unwrap();
        while !*done {
            done = self.signal.wait(done).unwrap();
        }
    }
}

/// Nanoseconds since `since`, saturated into a u64.
pub fn nanos_since(since: Instant) -> u64 {
    since.elapsed().as_nanos().min(u64::MAX as u128) as u64
}
