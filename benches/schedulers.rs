//! `cargo bench --bench schedulers`: a criterion comparison of the two schedulers behind the same
//! `ThreadPoolExecutor` API, on the two workloads that separate them most: a burst of 100 000 empty
//! tasks submitted from outside, and a binary tree of tasks spawned from tasks (depth 16, 131 071
//! tasks, each inner node waiting for its two children).
//!
//! Criterion's statistics (bootstrapped confidence intervals, change detection between runs) suit
//! this two-contender comparison; the full comparison against the peers, with its report, is
//! `cargo bench --bench compare` (`benches/compare/`, see `papers/benchmarks.md` for why it
//! measures round-robin instead). Both pools use as many workers as the machine has cores.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use stealpool::{PoolHandle, ReturnWhen, SchedulerKind, ThreadPoolExecutor, wait};

const SCHEDULERS: [(&str, SchedulerKind); 2] =
    [("work-stealing", SchedulerKind::WorkStealing), ("shared-queue", SchedulerKind::SharedQueue)];

fn pool(kind: SchedulerKind) -> ThreadPoolExecutor {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    ThreadPoolExecutor::builder().max_workers(workers).scheduler(kind).build().expect("a valid pool")
}

/// Submits `n` empty tasks from this thread, then waits for all of them.
fn burst(pool: &ThreadPoolExecutor, n: usize) {
    let futures: Vec<_> = (0..n).map(|_| pool.submit(|| ()).expect("the pool is open")).collect();
    let (done, not_done) = wait(&futures, None, ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (n, 0));
}

/// Counts the leaves of a binary tree of tasks: each node submits both children and waits.
fn tree(pool: &PoolHandle, depth: u32) -> u64 {
    if depth == 0 {
        return black_box(1);
    }
    let children: Vec<_> = (0..2)
        .map(|_| {
            let handle = pool.clone();
            pool.submit(move || tree(&handle, depth - 1)).expect("the pool is open")
        })
        .collect();
    children.iter().map(|child| *child.result().expect("no task panics")).sum()
}

fn schedulers(c: &mut Criterion) {
    let mut group = c.benchmark_group("burst-empty-100000");
    group.sample_size(20);
    for (name, kind) in SCHEDULERS {
        let pool = pool(kind);
        group.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| burst(&pool, 100_000)));
    }
    group.finish();

    let mut group = c.benchmark_group("nested-tree-depth-16");
    group.sample_size(10);
    for (name, kind) in SCHEDULERS {
        let pool = pool(kind);
        let handle = pool.handle();
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let root = handle.clone();
                let leaves = pool.submit(move || tree(&root, 16)).expect("the pool is open");
                assert_eq!(*leaves.result().expect("no task panics"), 1 << 16);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, schedulers);
criterion_main!(benches);
