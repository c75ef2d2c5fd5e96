//! The body shared by `cargo bench --bench burst_system` and `cargo bench --bench burst_mimalloc`:
//! the same external burst on both schedulers, in a binary whose global allocator is glibc's
//! (`system.rs`) or mimalloc (`mimalloc.rs`). It answers one question of `papers/stealpool.md` §4:
//! how much of the work-stealing scheduler's loss on bursts of empty tasks is the allocator's.
//!
//! A burst: one outside thread submits `n` empty tasks, then calls `result()` on each in order
//! (what `stealpool-ws` does in `cargo bench --bench compare`). Each configuration runs `rounds`
//! times, alternating with the others, and the median time per burst is printed. Without cargo's
//! `--bench` flag (as `cargo test --benches` runs it) it makes one tiny round and prints nothing.

use std::time::{Duration, Instant};

use stealpool::{SchedulerKind, ThreadPoolExecutor};

fn burst(pool: &ThreadPoolExecutor, n: usize) -> Duration {
    let start = Instant::now();
    let futures: Vec<_> = (0..n).map(|i| pool.submit(move || i).expect("the pool is open")).collect();
    for future in &futures {
        future.result().expect("an empty task cannot fail");
    }
    start.elapsed()
}

pub fn run(allocator: &str) {
    let measure = std::env::args().any(|arg| arg == "--bench");
    let (n, rounds) = if measure { (100_000, 15) } else { (100, 1) };
    let mut rows = Vec::new();
    for workers in [1, 2] {
        let pools: Vec<(&str, ThreadPoolExecutor)> =
            [("work-stealing", SchedulerKind::WorkStealing), ("shared-queue", SchedulerKind::SharedQueue)]
                .into_iter()
                .map(|(name, kind)| {
                    let pool = ThreadPoolExecutor::builder().max_workers(workers).scheduler(kind).build();
                    (name, pool.expect("a valid pool"))
                })
                .collect();
        let mut samples = vec![Vec::new(); pools.len()];
        for round in 0..=rounds {
            for (index, (_, pool)) in pools.iter().enumerate() {
                let elapsed = burst(pool, n);
                if round > 0 {
                    // Round 0 warms the pools up (threads started, memory touched).
                    samples[index].push(elapsed);
                }
            }
        }
        for ((name, _), mut times) in pools.iter().zip(samples) {
            times.sort();
            if let Some(median) = times.get(times.len() / 2) {
                rows.push(format!(
                    "| {allocator} | {workers} | {name} | {:.2} ms |",
                    median.as_secs_f64() * 1e3
                ));
            }
        }
    }
    if measure {
        println!("| allocator | workers | scheduler | median per burst of {n} empty tasks |");
        println!("|---|---:|---|---:|");
        rows.iter().for_each(|row| println!("{row}"));
    }
}
