//! Regression tests for defects found in the core (future, blocking, schedulers, thread pool).
//!
//! Each test reproduced its defect before the fix. Every wait is bounded: a deadlock fails the
//! test with a message, and a pool whose shutdown would hang is leaked instead of dropped.

#[macro_use]
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{Latch, PATIENCE, get, hold_worker, pool};
use stealpool::{
    BrokenReason, FutureError, Promise, ReturnWhen, SchedulerKind, SubmitError, ThreadPoolExecutor, wait,
};

scheduler_tests!(
    concurrent_shutdown_from_two_tasks,
    shutdown_from_task_while_another_task_awaits_it,
    worker_survives_a_panicking_result_drop,
    stranded_task_after_helper_wakes,
    zero_timeout_on_a_worker_only_looks,
);

/// Long enough for any step to happen; short enough that a reproduced defect fails quickly.
const BOUND: Duration = Duration::from_secs(10);

/// Fails the test without running the pool's `Drop` (whose `shutdown(wait)` would hang too).
fn deadlocked(pool: ThreadPoolExecutor, what: &str) -> ! {
    std::mem::forget(pool);
    panic!("deadlock: {what}");
}

/// Two tasks of the same pool call `shutdown(wait = true)` at the same time. Each waits until
/// every other worker has exited, so each waits for the other: neither returns.
fn concurrent_shutdown_from_two_tasks(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let both_running = Latch::new(2);
    let futures: Vec<_> = (0..2)
        .map(|_| {
            let handle = pool.handle();
            let both_running = both_running.clone();
            pool.submit(move || {
                both_running.count_down();
                both_running.wait();
                handle.shutdown(true, false);
            })
            .unwrap()
        })
        .collect();
    for future in &futures {
        if future.result_timeout(BOUND).is_err() {
            deadlocked(pool, "two tasks calling shutdown(wait = true) never return");
        }
    }
}

/// A task calls `shutdown(wait = true)` while a task on another worker waits for the first
/// task's result: the shutdown waits for that worker to exit, the worker waits for the task.
fn shutdown_from_task_while_another_task_awaits_it(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let (send, receive) = mpsc::channel::<stealpool::Future<()>>();
    let a_started = Latch::one();
    let waiter = pool
        .submit({
            let a_started = a_started.clone();
            move || {
                let a = receive.recv().unwrap();
                // `a` runs on the other worker, so this waits (helping) instead of running it.
                a_started.wait();
                a.result().is_ok()
            }
        })
        .unwrap();
    let handle = pool.handle();
    let a = pool
        .submit(move || {
            a_started.set();
            handle.shutdown(true, false);
        })
        .unwrap();
    send.send(a.clone()).unwrap();
    if a.result_timeout(BOUND).is_err() || waiter.result_timeout(BOUND).is_err() {
        deadlocked(pool, "shutdown(wait = true) from a task awaited by another task");
    }
}

/// A worker thread that cannot be started while no worker runs breaks the pool
/// (`start_worker_if_needed` → `break_pool`), but `break_pool` waits for the submissions in
/// flight, and the submit that called it is one of them: that submit spins for ever.
#[test]
fn submit_returns_when_no_worker_thread_can_be_spawned() {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        // No system can map a 1 PiB stack: the spawn fails with an I/O error.
        let pool = ThreadPoolExecutor::builder().max_workers(1).stack_size(1 << 50).build().unwrap();
        let outcome = match pool.submit(|| 1) {
            Ok(future) => future.result_timeout(BOUND).map(|_| ()),
            Err(SubmitError::Broken(reason)) => Err(FutureError::Broken(reason)),
            Err(error) => Err(FutureError::Refused(error)),
        };
        let _ = send.send(outcome);
    });
    match receive.recv_timeout(BOUND) {
        Ok(outcome) => assert!(
            matches!(outcome, Err(FutureError::Broken(BrokenReason::ThreadSpawnFailed(_)))),
            "got {outcome:?}"
        ),
        Err(_) => panic!("deadlock: submit did not return after the worker spawn failed"),
    }
}

/// A value whose drop panics.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("a result's drop panicked");
    }
}

/// When every handle of a future is dropped before its task finishes, the worker drops the
/// task cell, result included. A panic in that drop escapes `run_task` (it is outside the task's
/// `catch_unwind`) and kills the worker thread, which is never replaced: on a one-worker pool
/// every later task stays queued for ever.
fn worker_survives_a_panicking_result_drop(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let gate = Latch::one();
    let bomb = pool
        .submit({
            let gate = gate.clone();
            move || {
                gate.wait();
                PanicsOnDrop
            }
        })
        .unwrap();
    drop(bomb);
    gate.set();
    let after = pool.submit(|| 7).unwrap();
    assert_eq!(after.result_timeout(BOUND).ok(), Some(&7), "the only worker died");
}

/// Lost wake-up in the work-stealing sleep protocol. A worker helping inside `wait` is
/// registered as a sleeper; when the future it waits for completes, its parker is unparked but
/// it stays in the sleeper list until it runs again. A push in that window pops *that* worker
/// (`Sleep::notify_one` takes the last sleeper), which then sees its `ready()` and returns to
/// its task without looking at the queues, while the truly idle worker stays parked: the new
/// task is stranded until some other event. Here the waiting task then blocks (not helping) on
/// the stranded task's message.
///
/// Roles (3 workers): Y holds a worker busy; X is an idle worker, parked first; W waits (helping)
/// on a promise and on Y's future, parked second. Then the promise completes and a task T is
/// submitted at once. Racy by nature (the window is W's wake-up latency), so it is repeated.
/// The shared queue wakes every waiter on a completion (`QueueNotifier` notifies all), so the
/// idle worker is awake when the task arrives: there this passes, and guards the property.
fn stranded_task_after_helper_wakes(kind: SchedulerKind) {
    for _ in 0..500 {
        let pool = pool(kind, 3);
        let y = hold_worker(&pool);
        // X: runs a task, then goes idle.
        let x = hold_worker(&pool);
        // W: waits for its go, then waits (helping) for the promise or Y.
        let (promise, promised) = Promise::<()>::new();
        let (send, receive) = mpsc::channel::<()>();
        let w_go = Latch::one();
        let w_started = Latch::one();
        let w = pool
            .submit({
                let (w_go, w_started, y_future) = (w_go.clone(), w_started.clone(), y.future.clone());
                move || {
                    w_started.set();
                    w_go.wait();
                    let (done, _) =
                        wait([promised.erase(), y_future.erase()], None, ReturnWhen::FirstCompleted);
                    assert_eq!(done.len(), 1);
                    // Blocks without helping: only another worker can run T.
                    receive.recv_timeout(BOUND).is_ok()
                }
            })
            .unwrap();
        w_started.wait();
        // Park X (first in the sleeper list), then W (second).
        let parks = pool.stats().parks();
        x.release();
        get(&x.future).unwrap();
        wait_until(|| pool.stats().parks() > parks);
        let parks = pool.stats().parks();
        w_go.set();
        wait_until(|| pool.stats().parks() > parks);
        // Complete W's wait and submit T in the window before W takes itself off the list.
        promise.set_result(()).unwrap();
        pool.submit(move || {
            let _ = send.send(());
        })
        .unwrap();
        let received = *get(&w).unwrap();
        y.release();
        assert!(received, "the task submitted while a helper woke was never run by the idle worker");
    }
}

/// Polls `condition` (a counter only observable through stats), yielding, at most [`PATIENCE`].
fn wait_until(condition: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(start.elapsed() < PATIENCE, "condition not reached within {PATIENCE:?}");
        std::thread::yield_now();
    }
}

/// `result_timeout(0)` "only looks", but on a worker of the future's own pool it first runs the
/// awaited task inline if it is still queued, however long it takes (any timeout is ignored on
/// that path: the deadline is not consulted before `run_inline`).
fn zero_timeout_on_a_worker_only_looks(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    let outer = pool
        .submit(move || {
            let inner = handle.submit(|| 1).unwrap();
            let looked = inner.result_timeout(Duration::ZERO).is_err();
            let _ = inner.result();
            looked
        })
        .unwrap();
    assert!(*get(&outer).unwrap(), "a zero timeout ran the queued task inline instead of only looking");
}
