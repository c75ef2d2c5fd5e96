#![cfg_attr(not(target_os = "linux"), allow(dead_code))]
//! `cargo bench --bench placement`: where the operating system runs the two workers of a pool
//! during a burst, and what that does to the burst's time (Linux only).
//!
//! The comparison's 1 µs burst cells at 2 workers move between 1.0x and 1.8x of the best peer from
//! run to run. This bench takes them apart: it submits bursts of 1 000 and of 10 000 tasks of 1 µs
//! from outside to a 2-worker work-stealing pool, alternating with a second pool as the comparison
//! alternates its contenders, and records on which CPU every task ran (`sched_getcpu`). A sample
//! is *co-located* when both workers ran most of their tasks on the same CPU, *split* when on two,
//! and *alone* when one worker ran every task. It prints the number of samples of each kind and
//! their median times, then the same for a pool built
//! with `pin_workers(true)` (the figures of `papers/stealpool.md` §4.0). Under
//! `cargo test --benches` it takes 2 samples of each and prints them.

use std::time::{Duration, Instant};

use stealpool::{LocalOrder, ThreadPoolExecutor};

const WORKERS: usize = 2;
/// Burst sizes measured (each task 1 µs of calibrated spin).
const SIZES: [usize; 2] = [1_000, 10_000];

// The comparison's calibrated spin (`benches/compare/work.rs`), so that "1 µs" means the same here.
#[path = "compare/work.rs"]
#[allow(dead_code)]
mod work;
use work::{calibrate, spin};

/// The CPU this thread runs on, and the index of the pool worker it is (from its name).
#[cfg(target_os = "linux")]
fn where_am_i() -> Option<(usize, usize)> {
    let worker = std::thread::current().name()?.strip_prefix("placement_")?.parse().ok()?;
    Some((rustix::thread::sched_getcpu(), worker))
}

/// Tasks per (worker, CPU), counted by the tasks themselves.
#[cfg(target_os = "linux")]
struct Placement {
    counts: Vec<std::sync::atomic::AtomicU64>,
    cpus: usize,
}

#[cfg(target_os = "linux")]
impl Placement {
    fn new(cpus: usize) -> Self {
        Placement { counts: (0..WORKERS * cpus).map(|_| Default::default()).collect(), cpus }
    }

    fn record(&self) {
        if let Some((cpu, worker)) = where_am_i()
            && cpu < self.cpus
            && worker < WORKERS
        {
            self.counts[worker * self.cpus + cpu].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The CPU each worker ran most of its tasks on since the last call (`None`: it ran none);
    /// resets the counts.
    fn take_main_cpus(&self) -> Vec<Option<usize>> {
        (0..WORKERS)
            .map(|worker| {
                let row = &self.counts[worker * self.cpus..(worker + 1) * self.cpus];
                let taken: Vec<u64> =
                    row.iter().map(|count| count.swap(0, std::sync::atomic::Ordering::Relaxed)).collect();
                (0..self.cpus).filter(|&cpu| taken[cpu] > 0).max_by_key(|&cpu| taken[cpu])
            })
            .collect()
    }
}

fn median(mut values: Vec<Duration>) -> Option<Duration> {
    values.sort();
    values.get(values.len() / 2).copied()
}

#[cfg(target_os = "linux")]
fn main() {
    use std::sync::Arc;

    let samples = if std::env::args().any(|arg| arg == "--bench") { 84 } else { 2 };
    let iterations = calibrate();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let placement = Arc::new(Placement::new(cpus));
    let other = ThreadPoolExecutor::builder()
        .max_workers(WORKERS)
        .local_order(LocalOrder::Fifo)
        .build()
        .expect("a valid pool");
    for (pinned, size) in [false, true].into_iter().flat_map(|pinned| SIZES.map(|size| (pinned, size))) {
        let measured = ThreadPoolExecutor::builder()
            .max_workers(WORKERS)
            .thread_name_prefix("placement")
            .pin_workers(pinned)
            .build()
            .expect("a valid pool");
        let tasks = if samples > 2 { size } else { size / 100 };
        let burst = |pool: &ThreadPoolExecutor, record: bool| {
            let started = Instant::now();
            let futures: Vec<_> = (0..tasks)
                .map(|_| {
                    let placement = placement.clone();
                    pool.submit(move || {
                        spin(iterations);
                        if record {
                            placement.record();
                        }
                    })
                    .expect("the pool is open")
                })
                .collect();
            for future in &futures {
                future.result().expect("a burst task does not fail");
            }
            started.elapsed()
        };
        // Warm up both pools (threads started), then alternate as the comparison does.
        for _ in 0..3 {
            burst(&measured, false);
            burst(&other, false);
        }
        placement.take_main_cpus();
        let (mut alone, mut co_located, mut split) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..samples {
            let elapsed = burst(&measured, true);
            let main_cpus = placement.take_main_cpus();
            if main_cpus.iter().any(Option::is_none) {
                alone.push(elapsed);
            } else if main_cpus.windows(2).all(|pair| pair[0] == pair[1]) {
                co_located.push(elapsed);
            } else {
                split.push(elapsed);
            }
            burst(&other, false);
        }
        let show = |values: &[Duration]| match median(values.to_vec()) {
            Some(median) => format!("{} samples, median {median:.2?}", values.len()),
            None => "0 samples".to_owned(),
        };
        println!(
            "{cpus} CPUs, {WORKERS} workers{}, bursts of {tasks} x 1 us: both workers on one CPU: {}; on two CPUs: {}; one worker ran every task: {}",
            if pinned { " pinned (pin_workers)" } else { "" },
            show(&co_located),
            show(&split),
            show(&alone)
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("placement: needs Linux (sched_getcpu)");
}
