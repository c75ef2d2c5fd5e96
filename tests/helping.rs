//! Nested waits: a task that waits on work of its own pool runs the awaited task itself if it is
//! still queued (steal-back) and otherwise hands its worker to a spare thread, so nested
//! submit-and-wait completes on any number of workers, recursion included, and a deep chain of
//! nested waits does not overflow the stack (each scheduler).

#[macro_use]
mod common;

use std::time::Duration;

use common::{builder, get, pool};
use stealpool::{FutureError, LocalOrder, PoolHandle, ReturnWhen, SchedulerKind, as_completed, wait};

scheduler_tests!(
    nested_submit_and_wait_on_one_worker,
    recursive_fibonacci_on_two_workers,
    recursive_fibonacci_with_fifo_local_order,
    chain_of_ten_thousand_nested_waits_on_one_worker,
    chain_of_ten_thousand_nested_waits_on_two_workers,
    wait_inside_a_task_on_the_same_pool,
    as_completed_inside_a_task_on_the_same_pool,
    timeouts_inside_a_task_on_a_running_sibling,
    a_panicking_child_fails_only_its_own_future,
);

fn nested_submit_and_wait_on_one_worker(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    let outer = pool
        .submit(move || {
            let inner_handle = handle.clone();
            let child =
                handle.submit(move || *inner_handle.submit(|| 40).unwrap().result().unwrap() + 1).unwrap();
            *child.result().unwrap() + 1
        })
        .unwrap();
    assert_eq!(get(&outer), Ok(&42));
    assert_eq!(pool.threads_started(), 1);
}

/// Fibonacci by submitting both halves to the pool and waiting for them from the task.
fn fibonacci(handle: &PoolHandle, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let halves = [n - 1, n - 2].map(|k| {
        let handle = handle.clone();
        handle.clone().submit(move || fibonacci(&handle, k)).unwrap()
    });
    halves.iter().map(|half| *half.result().unwrap()).sum()
}

fn recursive_fibonacci_on_two_workers(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let handle = pool.handle();
    let root = pool.submit(move || fibonacci(&handle, 20)).unwrap();
    assert_eq!(get(&root), Ok(&6765));
    pool.shutdown(true, false);
    let stats = pool.stats();
    assert_eq!(stats.submitted, stats.tasks_run() + stats.tasks_not_run(), "{stats:?}");
    assert_eq!(stats.tasks_not_run(), 0);
}

fn recursive_fibonacci_with_fifo_local_order(kind: SchedulerKind) {
    let pool = builder(kind).max_workers(2).local_order(LocalOrder::Fifo).build().unwrap();
    let handle = pool.handle();
    let root = pool.submit(move || fibonacci(&handle, 16)).unwrap();
    assert_eq!(get(&root), Ok(&987));
}

/// Task `k` submits task `k + 1` and waits for it; the last returns the depth.
fn chain(handle: PoolHandle, k: u32, depth: u32) -> u32 {
    if k == depth {
        return k;
    }
    let next = handle.clone().submit(move || chain(handle, k + 1, depth)).unwrap();
    *next.result().unwrap()
}

fn chain_of_nested_waits(kind: SchedulerKind, workers: usize) {
    const DEPTH: u32 = 10_000;
    let pool = pool(kind, workers);
    let handle = pool.handle();
    let root = pool.submit(move || chain(handle, 0, DEPTH)).unwrap();
    assert_eq!(get(&root), Ok(&DEPTH));
    pool.shutdown(true, false);
    assert_eq!(pool.stats().tasks_run(), u64::from(DEPTH) + 1);
}

fn chain_of_ten_thousand_nested_waits_on_one_worker(kind: SchedulerKind) {
    chain_of_nested_waits(kind, 1);
}

fn chain_of_ten_thousand_nested_waits_on_two_workers(kind: SchedulerKind) {
    chain_of_nested_waits(kind, 2);
}

fn wait_inside_a_task_on_the_same_pool(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    let outer = pool
        .submit(move || {
            let children: Vec<_> = (0..5_u32).map(|i| handle.submit(move || i * 2).unwrap()).collect();
            let (first, _) = wait(&children, None, ReturnWhen::FirstCompleted);
            assert!(!first.is_empty());
            let (done, not_done) = wait(&children, None, ReturnWhen::AllCompleted);
            assert!(not_done.is_empty());
            done.iter().map(|child| *child.result().unwrap()).sum::<u32>()
        })
        .unwrap();
    assert_eq!(get(&outer), Ok(&20));
}

fn as_completed_inside_a_task_on_the_same_pool(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    let outer = pool
        .submit(move || {
            let children: Vec<_> = (0..5_u32).map(|i| handle.submit(move || i + 1).unwrap()).collect();
            let mut values: Vec<u32> =
                as_completed(&children, None).map(|child| *child.unwrap().result().unwrap()).collect();
            values.sort_unstable();
            values
        })
        .unwrap();
    assert_eq!(get(&outer), Ok(&vec![1, 2, 3, 4, 5]));
}

fn timeouts_inside_a_task_on_a_running_sibling(kind: SchedulerKind) {
    // A worker waiting with a timeout on a sibling that runs elsewhere (so it cannot run it
    // inline) gives up at the deadline instead of helping forever.
    let pool = pool(kind, 2);
    let sibling = common::hold_worker(&pool);
    let running = sibling.future.clone();
    let waiter = pool
        .submit(move || {
            let result = running.result_timeout(Duration::from_millis(5)).cloned();
            let (done, not_done) = wait([&running], Some(Duration::from_millis(5)), ReturnWhen::AllCompleted);
            let completed: Vec<_> =
                as_completed([&running], Some(Duration::ZERO)).map(|item| item.map(|_| ())).collect();
            (result, done.len(), not_done.len(), completed)
        })
        .unwrap();
    assert_eq!(get(&waiter), Ok(&(Err(FutureError::Timeout), 0, 1, vec![Err(FutureError::Timeout)])));
    sibling.release();
    assert_eq!(get(&sibling.future), Ok(&()));
}

fn a_panicking_child_fails_only_its_own_future(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    let parent = pool
        .submit(move || {
            let child = handle.submit(|| -> u32 { panic!("child failed") }).unwrap();
            let sibling = handle.submit(|| 3_u32).unwrap();
            let failure = match child.result() {
                Err(FutureError::Panicked(panic)) => panic.message().to_owned(),
                other => format!("unexpected {other:?}"),
            };
            (failure, *sibling.result().unwrap())
        })
        .unwrap();
    assert_eq!(get(&parent), Ok(&("child failed".to_owned(), 3)));
    assert_eq!(get(&pool.submit(|| 4).unwrap()), Ok(&4));
}
