#![cfg(loom)]
//! Models of shutdown racing submissions and workers (`src/thread_pool/pool.rs`, "Lifecycle
//! word" and "Shutdown protocol"), through the public `ThreadPoolExecutor` with one worker. Under
//! loom the pool's worker threads are loom threads (`sync::thread`), joined by `shutdown`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use loom::thread;
use stealpool::loom_api::Fault;
use stealpool::{FutureError, SubmitError};
use support::{ModelPool, check, check_broken, check_broken_any};

/// A thread submits while the owner shuts down (`wait = true`): a submit that returned `Ok` has
/// run by the time `shutdown` returns (never dropped), and a submit that starts after `shutdown`
/// returned fails.
fn shutdown_vs_submit() {
    let pool = Arc::new(ModelPool::new(1));
    let ran = Arc::new(AtomicUsize::new(0));
    let shut_down = Arc::new(AtomicBool::new(false));
    let submitter = thread::spawn({
        let (pool, ran, shut_down) = (pool.clone(), ran.clone(), shut_down.clone());
        move || {
            let after_shutdown = shut_down.load(Relaxed);
            let submitted = pool.submit(move || ran.fetch_add(1, Relaxed));
            if after_shutdown {
                assert_eq!(submitted.as_ref().err(), Some(&SubmitError::Shutdown));
            }
            submitted.is_ok()
        }
    });
    pool.shutdown(true, false);
    shut_down.store(true, Relaxed);
    let ran_by_shutdown = ran.load(Relaxed);
    assert_eq!(pool.submit(|| 0).err(), Some(SubmitError::Shutdown));

    let accepted = submitter.join().unwrap();
    assert!(ran_by_shutdown <= 1);
    assert!(!accepted || ran_by_shutdown == 1, "an accepted task had not run when shutdown(wait) returned");
    assert_eq!(ran.load(Relaxed), ran_by_shutdown, "a task ran after shutdown(wait) returned");
}

#[test]
fn shutdown_vs_submit_no_task_lost() {
    check(shutdown_vs_submit);
}

/// Shutdown that does not wait for submissions in flight has two symptoms: it returns before a
/// task accepted concurrently is queued, or it wakes the worker while the submission is still in
/// flight (so the worker, not yet seeing a quiescent pool, parks again) and then waits forever
/// for that worker to exit: a deadlock.
#[test]
#[should_panic(expected = "loom found the fault")]
fn shutdown_vs_submit_broken_skip_wait_for_submitters() {
    check_broken_any(
        Fault::SkipWaitForSubmitters,
        shutdown_vs_submit,
        &["an accepted task had not run when shutdown(wait) returned", "deadlock"],
    );
}

/// `shutdown(cancel_futures = true)` races the worker starting the one queued task: the task
/// either runs or is cancelled, never both, never neither; the pool's count of cancelled tasks
/// agrees; and the future is done when `shutdown` returns.
///
/// Who gets the task is decided by the queue (shutdown drains it, or the worker pops it: one
/// lock), and the state word then settles start against cancel (the `loom_future` models); what
/// shutdown adds is step 4, waiting for the worker that took the task.
fn shutdown_cancel_vs_start() {
    let pool = ModelPool::new(1);
    let ran = Arc::new(AtomicUsize::new(0));
    let future = pool
        .submit({
            let ran = ran.clone();
            move || ran.fetch_add(1, Relaxed) + 7
        })
        .unwrap();
    pool.shutdown(true, true);

    assert!(future.done(), "shutdown(wait) returned before the task ended");
    let ran = ran.load(Relaxed);
    assert!(!(ran > 0 && future.cancelled()), "a cancelled task ran");
    assert!(ran == 1 || future.cancelled(), "the task neither ran nor was cancelled");
    match future.result() {
        Ok(&value) => assert_eq!(value, 7),
        Err(error) => assert_eq!(error, FutureError::Cancelled),
    }
    assert_eq!(pool.stats().drained, u64::from(future.cancelled()));
}

#[test]
fn shutdown_cancel_vs_start_one_wins() {
    check(shutdown_cancel_vs_start);
}

/// Shutdown that does not wait for the workers returns while the worker that took the task has
/// not finished it.
#[test]
#[should_panic(expected = "shutdown(wait) returned before the task ended")]
fn shutdown_cancel_vs_start_broken_skip_wait_for_workers() {
    check_broken(Fault::SkipWaitForWorkers, shutdown_cancel_vs_start);
}

/// As `shutdown_vs_submit`, with the worker already started and idle (it ran a first task): a task
/// queued while the worker is between finding no work and seeing the close must still run (the
/// worker's one more look at the queues).
fn shutdown_vs_submit_idle_worker() {
    let pool = Arc::new(ModelPool::new(1));
    assert_eq!(pool.submit(|| 0).unwrap().result(), Ok(&0));
    let ran = Arc::new(AtomicUsize::new(0));
    let submitter = thread::spawn({
        let (pool, ran) = (pool.clone(), ran.clone());
        move || pool.submit(move || ran.fetch_add(1, Relaxed)).is_ok()
    });
    pool.shutdown(true, false);
    let ran_by_shutdown = ran.load(Relaxed);
    let accepted = submitter.join().unwrap();
    assert!(!accepted || ran_by_shutdown == 1, "an accepted task had not run when shutdown(wait) returned");
}

#[test]
fn shutdown_vs_submit_idle_worker_no_task_lost() {
    check(shutdown_vs_submit_idle_worker);
}

/// A worker that exits on finding the pool quiescent, without one more look, leaves behind the
/// task pushed between its last look and the close.
#[test]
#[should_panic(expected = "an accepted task had not run when shutdown(wait) returned")]
fn shutdown_vs_submit_idle_worker_broken_skip_final_look() {
    check_broken(Fault::SkipFinalLook, shutdown_vs_submit_idle_worker);
}

/// A submit refused after the close does not wake the workers: a worker that saw its passing
/// in-flight count took the pool for not yet quiescent and parked after shutdown's wake-up, and
/// shutdown waits for it for ever.
#[test]
#[should_panic(expected = "deadlock")]
fn shutdown_vs_submit_idle_worker_broken_skip_refusal_wake() {
    check_broken(Fault::SkipRefusalWake, shutdown_vs_submit_idle_worker);
}
