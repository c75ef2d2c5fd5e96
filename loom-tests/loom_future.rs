#![cfg(loom)]
//! Models of the future lifecycle's races (`src/future/cell.rs`, rules 1 and 4).
//!
//! A model thread plays the worker by running the queued task by hand (`Task::run`, what a worker
//! does with a dequeued task); the others use the public `Future` API. The witnesses (how often
//! the task and the callbacks ran) are plain `std` atomics: they only count, and loom runs a
//! model's threads one at a time, so they need no modelling.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use loom::thread;
use stealpool::loom_api::{Fault, Run, Task};
use stealpool::{FutureError, Promise};
use support::{check, check_broken};

/// A worker starting a task races `cancel()`: exactly one wins, a cancelled task never runs, and
/// `cancel()`'s answer matches the final state.
fn cancel_vs_start() {
    let runs = Arc::new(AtomicUsize::new(0));
    let (task, future) = Task::new({
        let runs = runs.clone();
        move || runs.fetch_add(1, Relaxed) + 7
    });
    let worker = thread::spawn(move || task.run());
    let cancelled = future.cancel();
    let run = worker.join().unwrap();

    let runs = runs.load(Relaxed);
    assert!(!(cancelled && runs > 0), "cancel() returned true but the task ran");
    assert!(cancelled || runs == 1, "cancel() returned false but the task did not run");
    assert_eq!(run == Run::Ran, runs == 1, "the worker's view of the race disagrees");
    assert_eq!(future.cancelled(), cancelled, "cancel() returned {cancelled}, the state disagrees");
    match future.result() {
        Ok(&value) => assert_eq!(value, 7),
        Err(error) => assert_eq!(error, FutureError::Cancelled),
    }
}

#[test]
fn cancel_vs_start_exactly_one_wins() {
    check(cancel_vs_start);
}

/// Start as a load then a store: both sides win, and both take the closure out of the task
/// cell's `UnsafeCell` (rule 1 of `future::cell`) with no order between them: loom's
/// `UnsafeCell` reports the data race.
#[test]
#[should_panic(expected = "Causality violation: Concurrent write accesses to `UnsafeCell`")]
fn cancel_vs_start_broken_racy_start() {
    check_broken(Fault::RacyStart, cancel_vs_start);
}

/// Cancel as a load then a store: the task runs and `cancel()` still returns true.
#[test]
#[should_panic(expected = "cancel() returned true but the task ran")]
fn cancel_vs_start_broken_racy_cancel() {
    check_broken(Fault::RacyCancel, cancel_vs_start);
}

/// `Promise::set_result` races `cancel()` (the path other executors use): exactly one succeeds.
fn set_result_vs_cancel() {
    let (promise, future) = Promise::new();
    let completer = thread::spawn(move || promise.set_result(7).is_ok());
    let cancelled = future.cancel();
    let completed = completer.join().unwrap();
    assert!(completed != cancelled, "set_result succeeded: {completed}, cancel() returned {cancelled}");
    assert_eq!(future.cancelled(), cancelled);
    assert_eq!(future.result().ok(), completed.then_some(&7));
}

#[test]
fn set_result_vs_cancel_exactly_one_wins() {
    check(set_result_vs_cancel);
}

#[test]
#[should_panic(expected = "set_result succeeded: true, cancel() returned true")]
fn set_result_vs_cancel_broken_racy_cancel() {
    check_broken(Fault::RacyCancel, set_result_vs_cancel);
}

/// `add_done_callback` races the task's completion and a `cancel()`: the callback runs exactly
/// once, on whichever thread, and only once the future is done.
fn callback_vs_completion() {
    let calls = Arc::new(AtomicUsize::new(0));
    let early = Arc::new(AtomicUsize::new(0));
    let (task, future) = Task::new(|| 7);
    let worker = thread::spawn(move || task.run());
    let canceller = thread::spawn({
        let future = future.clone();
        move || future.cancel()
    });
    future.add_done_callback({
        let (calls, early) = (calls.clone(), early.clone());
        // A panic here would be caught and reported by the callback runner, so the callback
        // only records what it saw; the model asserts afterwards.
        move |future| {
            calls.fetch_add(1, Relaxed);
            if !future.done() {
                early.fetch_add(1, Relaxed);
            }
        }
    });
    let run = worker.join().unwrap();
    let cancelled = canceller.join().unwrap();

    let calls = calls.load(Relaxed);
    assert_eq!(calls, 1, "the done-callback ran {calls} times, not once");
    assert_eq!(early.load(Relaxed), 0, "the done-callback ran before the future was done");
    assert!((run == Run::Ran) != cancelled, "exactly one of start and cancel wins");
}

#[test]
fn callback_vs_completion_runs_exactly_once() {
    check(callback_vs_completion);
}

/// The callback's done-check outside the lock: it is added after the completer took the
/// callbacks out, and never runs.
#[test]
#[should_panic(expected = "the done-callback ran 0 times, not once")]
fn callback_vs_completion_broken_unlocked_check() {
    check_broken(Fault::UnlockedCallbackCheck, callback_vs_completion);
}
