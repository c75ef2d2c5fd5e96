//! `shutdown`: with and without waiting, with `cancel_futures`, twice, from inside a task of
//! the same pool, and as the drop of the executor (each scheduler).

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use common::{Latch, PATIENCE, get, hold_worker, pool};
use stealpool::{FutureError, SchedulerKind, SubmitError};

scheduler_tests!(
    shutdown_wait_runs_every_accepted_task,
    shutdown_without_wait_returns_while_tasks_run,
    cancel_futures_cancels_the_queued_and_lets_the_running_finish,
    cancel_futures_with_wait,
    shutdown_twice_is_harmless,
    submit_after_shutdown_is_refused,
    shutdown_from_inside_a_task_with_wait_one_worker,
    shutdown_from_inside_a_task_with_wait_two_workers,
    shutdown_from_inside_a_task_without_wait,
    submit_from_a_task_after_shutdown_is_refused,
    drop_waits_for_every_accepted_task,
    drop_of_an_unused_pool,
    drop_from_inside_a_task_of_the_same_pool,
    stats_account_for_every_accepted_task,
);

/// Submits `n` tasks that each count one run.
fn counting_tasks(
    pool: &stealpool::ThreadPoolExecutor,
    n: usize,
    runs: &Arc<AtomicUsize>,
) -> Vec<stealpool::Future<usize>> {
    (0..n)
        .map(|i| {
            let runs = runs.clone();
            pool.submit(move || {
                runs.fetch_add(1, Ordering::SeqCst);
                i
            })
            .unwrap()
        })
        .collect()
}

fn shutdown_wait_runs_every_accepted_task(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    let runs = Arc::new(AtomicUsize::new(0));
    let futures = counting_tasks(&pool, 200, &runs);
    pool.shutdown(true, false);
    assert_eq!(runs.load(Ordering::SeqCst), 200);
    for (i, future) in futures.iter().enumerate() {
        assert_eq!(future.result_timeout(std::time::Duration::ZERO), Ok(&i), "done when shutdown returned");
    }
}

fn shutdown_without_wait_returns_while_tasks_run(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let runs = Arc::new(AtomicUsize::new(0));
    let queued = counting_tasks(&pool, 5, &runs);
    pool.shutdown(false, false);
    assert!(held.future.running(), "returned without waiting for the running task");
    assert!(queued.iter().all(|future| !future.done()), "queued tasks are not cancelled");
    assert_eq!(pool.submit(|| 0).unwrap_err(), SubmitError::Shutdown);
    held.release();
    for (i, future) in queued.iter().enumerate() {
        assert_eq!(get(future), Ok(&i), "accepted tasks still run after shutdown(wait = false)");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 5);
}

fn cancel_futures_cancels_the_queued_and_lets_the_running_finish(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let runs = Arc::new(AtomicUsize::new(0));
    let queued = counting_tasks(&pool, 5, &runs);
    pool.shutdown(false, true);
    assert!(queued.iter().all(|future| future.cancelled()), "cancelled during shutdown");
    assert!(held.future.running() && !held.future.cancelled());
    held.release();
    assert_eq!(get(&held.future), Ok(&()));
    pool.shutdown(true, false);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert!(queued.iter().all(|future| future.result() == Err(FutureError::Cancelled)));
}

fn cancel_futures_with_wait(kind: SchedulerKind) {
    let pool = Arc::new(pool(kind, 1));
    let held = hold_worker(&pool);
    let runs = Arc::new(AtomicUsize::new(0));
    let queued = counting_tasks(&pool, 5, &runs);
    let shutting_down = thread::spawn({
        let pool = pool.clone();
        move || pool.shutdown(true, true)
    });
    // The cancels come before the wait: each queued future is woken as cancelled while the
    // held task still runs.
    for future in &queued {
        assert_eq!(future.result_timeout(PATIENCE), Err(FutureError::Cancelled));
    }
    assert!(held.future.running());
    held.release();
    shutting_down.join().unwrap();
    assert!(held.future.done(), "shutdown(wait = true) returned after the running task");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

fn shutdown_twice_is_harmless(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let runs = Arc::new(AtomicUsize::new(0));
    let futures = counting_tasks(&pool, 10, &runs);
    pool.shutdown(false, false);
    pool.shutdown(true, false);
    pool.shutdown(true, true);
    pool.shutdown(false, false);
    assert_eq!(runs.load(Ordering::SeqCst), 10);
    assert!(futures.iter().all(|future| future.done() && !future.cancelled()));
    assert_eq!(pool.submit(|| 0).unwrap_err(), SubmitError::Shutdown);
}

fn submit_after_shutdown_is_refused(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let handle = pool.handle();
    pool.shutdown(false, false);
    assert_eq!(pool.submit(|| 1).unwrap_err(), SubmitError::Shutdown);
    assert_eq!(handle.submit(|| 1).unwrap_err(), SubmitError::Shutdown);
    let error = handle.clone().submit(|| 1).unwrap_err();
    assert!(error.to_string().contains("shutdown"), "{error}");
    // Never started a thread: nothing was accepted.
    assert_eq!(pool.threads_started(), 0);
}

/// A task of the pool shuts its own pool down (`wait`), with more tasks queued behind it.
fn shutdown_from_inside_a_task(kind: SchedulerKind, workers: usize, wait: bool) {
    let pool = pool(kind, workers);
    // Hold every worker so that the shutting task and the ten behind it are all queued first.
    let held: Vec<_> = (0..workers).map(|_| hold_worker(&pool)).collect();
    let handle = pool.handle();
    let shutting = pool.submit(move || handle.shutdown(wait, false)).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let queued = counting_tasks(&pool, 10, &runs);
    held.iter().for_each(common::Held::release);
    assert_eq!(get(&shutting), Ok(&()), "no deadlock: the task does not wait for itself");
    if wait {
        // It returned only once the queued tasks had run (it helped with them).
        assert_eq!(runs.load(Ordering::SeqCst), 10);
    }
    assert_eq!(pool.submit(|| 0).unwrap_err(), SubmitError::Shutdown);
    for (i, future) in queued.iter().enumerate() {
        assert_eq!(get(future), Ok(&i));
    }
    drop(pool);
    assert_eq!(runs.load(Ordering::SeqCst), 10);
}

fn shutdown_from_inside_a_task_with_wait_one_worker(kind: SchedulerKind) {
    shutdown_from_inside_a_task(kind, 1, true);
}

fn shutdown_from_inside_a_task_with_wait_two_workers(kind: SchedulerKind) {
    shutdown_from_inside_a_task(kind, 2, true);
    shutdown_from_inside_a_task(kind, 4, true);
}

fn shutdown_from_inside_a_task_without_wait(kind: SchedulerKind) {
    shutdown_from_inside_a_task(kind, 1, false);
    shutdown_from_inside_a_task(kind, 2, false);
}

fn submit_from_a_task_after_shutdown_is_refused(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    let task = pool
        .submit(move || {
            let before = handle.submit(|| 1).map(|_| ());
            handle.shutdown(false, false);
            let after = handle.submit(|| 2).map(|_| ());
            (before, after)
        })
        .unwrap();
    assert_eq!(get(&task), Ok(&(Ok(()), Err(SubmitError::Shutdown))));
}

fn drop_waits_for_every_accepted_task(kind: SchedulerKind) {
    const TASKS: usize = 50;
    let pool = pool(kind, 2);
    let handle = pool.handle();
    let gate = Latch::one();
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..TASKS {
        let (gate, runs) = (gate.clone(), runs.clone());
        pool.submit(move || {
            gate.wait();
            runs.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    }
    // Open the gate only once the drop has begun: the pool refuses tasks from then on.
    let opener = thread::spawn(move || {
        while handle.submit(|| ()).is_ok() {
            thread::yield_now();
        }
        gate.set();
    });
    drop(pool);
    assert_eq!(runs.load(Ordering::SeqCst), TASKS, "every accepted task ran before the drop returned");
    opener.join().unwrap();
}

fn drop_of_an_unused_pool(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    assert_eq!(pool.threads_started(), 0);
    drop(pool);
}

fn drop_from_inside_a_task_of_the_same_pool(kind: SchedulerKind) {
    for workers in [1, 2] {
        let pool = pool(kind, workers);
        let handle = pool.handle();
        let held: Vec<_> = (0..workers).map(|_| hold_worker(&pool)).collect();
        let runs = Arc::new(AtomicUsize::new(0));
        let queued = counting_tasks(&pool, 5, &runs);
        // The task owns the executor: dropping it there is a shutdown(wait = true) from inside.
        let dropping = handle.submit(move || drop(pool)).unwrap();
        held.iter().for_each(common::Held::release);
        assert_eq!(get(&dropping), Ok(&()));
        assert_eq!(runs.load(Ordering::SeqCst), 5, "the queued tasks ran before the drop returned");
        common::wait_all(&queued);
        assert_eq!(handle.submit(|| ()).unwrap_err(), SubmitError::Shutdown);
    }
}

fn stats_account_for_every_accepted_task(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let runs = Arc::new(AtomicUsize::new(0));
    // Run to completion: plain, panicking, and submitted from inside a task.
    let ran = counting_tasks(&pool, 20, &runs);
    common::wait_all(&ran);
    let panicked: Vec<_> = (0..5).map(|_| pool.submit(|| panic!("counted")).unwrap()).collect();
    common::wait_all(&panicked);
    let handle = pool.handle();
    let nested = pool
        .submit(move || {
            let children: Vec<_> = (0..5).map(|i| handle.submit(move || i).unwrap()).collect();
            children.iter().map(|child| *child.result().unwrap()).sum::<i32>()
        })
        .unwrap();
    assert_eq!(get(&nested), Ok(&10));
    // Not run: cancelled by hand while queued, and cancelled by shutdown.
    let holders = [hold_worker(&pool), hold_worker(&pool)];
    let cancelled = counting_tasks(&pool, 5, &runs);
    assert!(cancelled.iter().all(|future| future.cancel()));
    let queued = counting_tasks(&pool, 5, &runs);
    pool.shutdown(false, true);
    assert!(queued.iter().all(|future| future.cancelled()));
    drop(holders);
    pool.shutdown(true, false);

    let stats = pool.stats();
    assert_eq!(stats.workers.len(), 2, "one entry per worker slot");
    assert_eq!(runs.load(Ordering::SeqCst), 20);
    assert_eq!(stats.submitted, 20 + 5 + 1 + 5 + 2 + 5 + 5);
    assert_eq!(stats.tasks_run(), 20 + 5 + 1 + 5 + 2);
    assert_eq!(stats.submitted, stats.tasks_run() + stats.tasks_not_run(), "{stats:?}");
}
