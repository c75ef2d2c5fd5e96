//! `cargo bench --bench wakeups`: how many times idle workers are woken, and how many steals they
//! attempt, over 200 bursts of 1 000 empty tasks submitted from outside (a pause between bursts
//! lets the workers fall asleep), on the work-stealing scheduler with 2 and 8 workers. Prints
//! one line per worker count (the pool's own counters, `PoolStats`): the figures of the searching
//! gate in `papers/stealpool.md` §2.4. Under `cargo test --benches` it runs 2 bursts only.

use std::time::{Duration, Instant};

use stealpool::ThreadPoolExecutor;

fn main() {
    let bursts = if std::env::args().any(|arg| arg == "--bench") { 200 } else { 2 };
    for workers in [2, 8] {
        let pool = ThreadPoolExecutor::new(workers).expect("a valid pool");
        let started = Instant::now();
        for _ in 0..bursts {
            let futures: Vec<_> =
                (0..1000).map(|i| pool.submit(move || i).expect("the pool is open")).collect();
            for future in &futures {
                future.result().expect("an empty task cannot fail");
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let elapsed = started.elapsed();
        let stats = pool.stats();
        let wakeups: u64 = stats.workers.iter().map(|worker| worker.wakeups).sum();
        let attempts: u64 = stats.workers.iter().map(|worker| worker.steal_attempts).sum();
        println!(
            "{workers} workers, {bursts} bursts of 1000: {wakeups} wake-ups, {attempts} steal attempts, {elapsed:.2?}"
        );
    }
}
