//! Hand-off latency: a thread submits one task, sleeps on a channel until the task signals, then
//! submits the next at once, as a server hands each request to a pool. What is measured is
//! submit → start of each task (the task sends the time since its submission). A benchmark that
//! waits with `result()` spins and does not show this (papers/stealpool.md, "Hand-off").
//!
//! ```sh
//! cargo bench --bench handoff     # about 20 seconds; writes results/handoff.md and results/handoff.csv
//! ```
//!
//! All contenders run in one process at 2 workers, in alternating rounds (each round: every
//! contender, in turn, `SAMPLES` hand-offs after a short warm-up), so that the machine's drift
//! spreads over all of them. Per contender: the median over rounds of each round's median, the
//! spread of the round medians, and the 90th percentile of all samples. Without cargo's
//! `--bench` flag (as `cargo test --benches` runs it) it makes one tiny round and writes nothing.

use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use stealpool::{SchedulerKind, ThreadPoolExecutor};

#[path = "support/machine.rs"]
mod machine;
use machine::machine;

const WORKERS: usize = 2;

/// One contender: hands `n` tasks off one at a time and returns the submit → start times (ns).
trait Contender {
    fn name(&self) -> &'static str;
    fn hand_off(&self, n: usize) -> Vec<u64>;
}

/// The shared loop: `spawn` runs the closure on the pool; the closure sends the time since its
/// submission; this thread sleeps on the channel until it arrives.
fn hand_off_with(n: usize, spawn: impl Fn(Box<dyn FnOnce() + Send>)) -> Vec<u64> {
    let (sender, receiver) = mpsc::channel::<u64>();
    (0..n)
        .map(|_| {
            let sender = sender.clone();
            let submitted = Instant::now();
            spawn(Box::new(move || {
                let _ = sender.send(submitted.elapsed().as_nanos() as u64);
            }));
            receiver.recv().expect("the task runs")
        })
        .collect()
}

struct Stealpool(&'static str, ThreadPoolExecutor);

impl Contender for Stealpool {
    fn name(&self) -> &'static str {
        self.0
    }
    fn hand_off(&self, n: usize) -> Vec<u64> {
        hand_off_with(n, |task| drop(self.1.submit(task).expect("the pool is open")))
    }
}

struct ThreadPoolCrate(threadpool::ThreadPool);

impl Contender for ThreadPoolCrate {
    fn name(&self) -> &'static str {
        "threadpool"
    }
    fn hand_off(&self, n: usize) -> Vec<u64> {
        hand_off_with(n, |task| self.0.execute(task))
    }
}

struct Rayon(rayon::ThreadPool);

impl Contender for Rayon {
    fn name(&self) -> &'static str {
        "rayon"
    }
    fn hand_off(&self, n: usize) -> Vec<u64> {
        hand_off_with(n, |task| self.0.spawn(task))
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Contender for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn hand_off(&self, n: usize) -> Vec<u64> {
        hand_off_with(n, |task| drop(self.0.spawn(async move { task() })))
    }
}

fn contenders() -> Vec<Box<dyn Contender>> {
    let pool = |kind| ThreadPoolExecutor::builder().max_workers(WORKERS).scheduler(kind).build().unwrap();
    vec![
        Box::new(Stealpool("stealpool-ws", pool(SchedulerKind::WorkStealing))),
        Box::new(Stealpool("stealpool-shared", pool(SchedulerKind::SharedQueue))),
        Box::new(ThreadPoolCrate(threadpool::ThreadPool::new(WORKERS))),
        Box::new(Rayon(rayon::ThreadPoolBuilder::new().num_threads(WORKERS).build().unwrap())),
        Box::new(Tokio(tokio::runtime::Builder::new_multi_thread().worker_threads(WORKERS).build().unwrap())),
    ]
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

fn main() {
    let measure = std::env::args().any(|arg| arg == "--bench");
    let (rounds, samples) = if measure { (15, 1000) } else { (1, 20) };
    let contenders = contenders();
    let mut round_medians = vec![Vec::new(); contenders.len()];
    let mut all = vec![Vec::new(); contenders.len()];
    for _ in 0..rounds {
        for (index, contender) in contenders.iter().enumerate() {
            contender.hand_off(samples / 10 + 1); // warm-up: threads started, caches touched
            let mut times = contender.hand_off(samples);
            all[index].extend_from_slice(&times);
            round_medians[index].push(median(&mut times));
        }
    }
    if !measure {
        return;
    }
    let p50: Vec<u64> = round_medians.iter().map(|medians| median(&mut medians.clone())).collect();
    let best_peer = contenders
        .iter()
        .zip(&p50)
        .filter(|(contender, _)| !contender.name().starts_with("stealpool"))
        .map(|(_, p50)| *p50)
        .min()
        .expect("peers");
    let mut table = String::from(
        "| contender | submit → start p50 | round p50s min–max | p90 | ÷ best peer |\n|---|--:|--:|--:|--:|\n",
    );
    let mut csv = String::from("contender,round,p50_ns\n");
    for (index, contender) in contenders.iter().enumerate() {
        let mut samples = all[index].clone();
        samples.sort_unstable();
        let p90 = samples[samples.len() * 9 / 10];
        let (low, high) =
            (*round_medians[index].iter().min().unwrap(), *round_medians[index].iter().max().unwrap());
        table.push_str(&format!(
            "| {} | {:.1} µs | {:.1}–{:.1} µs | {:.1} µs | {:.2}× |\n",
            contender.name(),
            p50[index] as f64 / 1e3,
            low as f64 / 1e3,
            high as f64 / 1e3,
            p90 as f64 / 1e3,
            p50[index] as f64 / best_peer as f64,
        ));
        for (round, value) in round_medians[index].iter().enumerate() {
            csv.push_str(&format!("{},{round},{value}\n", contender.name()));
        }
    }
    let report = format!(
        "Hand-off latency at {WORKERS} workers: the submitter sleeps on a channel until each task \
         signals, then submits the next at once; submit → start of each task. {rounds} alternating \
         rounds of {samples} hand-offs per contender, in one run. Regenerate with `cargo bench \
         --bench handoff`. Machine: {}.\n\n{table}",
        machine()
    );
    print!("{report}");
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::write(results.join("handoff.md"), report).expect("results/ is writable");
    std::fs::write(results.join("handoff.csv"), csv).expect("results/ is writable");
}
