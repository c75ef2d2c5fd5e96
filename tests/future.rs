//! `Future`: cancel in every state, `result`/`exception` with and without timeouts, and done
//! callbacks, on futures of a pool (each scheduler).

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use common::{PATIENCE, get, hold_worker, pool};
use stealpool::{FutureError, SchedulerKind};

scheduler_tests!(
    cancel_pending_is_true_and_the_task_never_runs,
    cancel_running_is_false,
    cancel_finished_is_false,
    cancel_wakes_a_blocked_result_at_once,
    cancel_wakes_a_blocked_exception_at_once,
    zero_timeout_on_a_pending_future_times_out,
    huge_timeout_waits_for_the_result,
    result_many_times_from_many_threads,
    exception_reports_the_panic,
    panic_payload_of_another_type,
    callback_added_before_completion_runs_once,
    callback_added_after_completion_runs_at_once,
    callbacks_added_concurrently_with_completion_run_once_each,
    panicking_callback_is_swallowed,
    callback_sees_a_cancelled_future,
    erased_future_reports_state,
);

fn cancel_pending_is_true_and_the_task_never_runs(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let ran = Arc::new(AtomicUsize::new(0));
    let future = pool
        .submit({
            let ran = ran.clone();
            move || ran.fetch_add(1, Ordering::SeqCst)
        })
        .unwrap();
    assert!(!future.running() && !future.done() && !future.cancelled());

    assert!(future.cancel());
    assert!(future.cancelled() && future.done() && !future.running());
    assert!(future.cancel(), "cancelling twice is still true");
    assert_eq!(future.result(), Err(FutureError::Cancelled));
    assert_eq!(future.exception(), Err(FutureError::Cancelled));
    assert_eq!(future.result_timeout(Duration::ZERO), Err(FutureError::Cancelled));

    held.release();
    pool.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 0, "a cancelled task never runs");
    assert!(future.cancelled());
}

fn cancel_running_is_false(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    assert!(held.future.running());
    assert!(!held.future.cancel());
    assert!(!held.future.cancelled() && held.future.running());
    held.release();
    assert_eq!(get(&held.future), Ok(&()));
    assert!(!held.future.cancelled());
}

fn cancel_finished_is_false(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let future = pool.submit(|| 7).unwrap();
    assert_eq!(get(&future), Ok(&7));
    assert!(!future.cancel());
    assert!(!future.cancelled() && future.done() && !future.running());
    assert_eq!(future.result(), Ok(&7));

    let panicked = pool.submit(|| -> i32 { panic!("boom") }).unwrap();
    assert!(get(&panicked).is_err());
    assert!(!panicked.cancel(), "a future that panicked is finished, not cancellable");
}

fn cancel_wakes_a_blocked_result_at_once(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let future = pool.submit(|| 1).unwrap();
    let (about_to_block, blocking) = mpsc::channel();
    let (answer, answered) = mpsc::channel();
    let waiter = thread::spawn({
        let future = future.clone();
        move || {
            about_to_block.send(()).unwrap();
            answer.send(future.result().cloned()).unwrap();
        }
    });
    blocking.recv().unwrap();
    assert!(future.cancel());
    // The worker is still held: the waiter is woken by the cancel itself, not by a worker
    // reaching the cancelled task in the queue.
    assert_eq!(answered.recv_timeout(PATIENCE), Ok(Err(FutureError::Cancelled)));
    assert!(held.future.running());
    held.release();
    waiter.join().unwrap();
}

fn cancel_wakes_a_blocked_exception_at_once(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let future = pool.submit(|| 1).unwrap();
    let (answer, answered) = mpsc::channel();
    let waiter = thread::spawn({
        let future = future.clone();
        move || answer.send(future.exception_timeout(Duration::MAX).map(|p| p.cloned())).unwrap()
    });
    assert!(future.cancel());
    assert_eq!(answered.recv_timeout(PATIENCE), Ok(Err(FutureError::Cancelled)));
    assert!(held.future.running());
    held.release();
    waiter.join().unwrap();
}

fn zero_timeout_on_a_pending_future_times_out(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let queued = pool.submit(|| 5).unwrap();
    let running = &held.future;
    assert_eq!(running.result_timeout(Duration::ZERO), Err(FutureError::Timeout), "running");
    assert_eq!(running.exception_timeout(Duration::ZERO), Err(FutureError::Timeout));
    assert_eq!(queued.result_timeout(Duration::ZERO), Err(FutureError::Timeout), "pending");
    assert_eq!(queued.exception_timeout(Duration::from_millis(1)), Err(FutureError::Timeout));
    // A timeout does not affect the future.
    assert!(!queued.done() && !queued.cancelled());
    held.release();
    assert_eq!(get(&queued), Ok(&5));
    assert_eq!(queued.result_timeout(Duration::ZERO), Ok(&5));
    assert_eq!(queued.exception_timeout(Duration::ZERO), Ok(None));
}

fn huge_timeout_waits_for_the_result(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let done = pool.submit(|| "done").unwrap();
    assert_eq!(get(&done), Ok(&"done"));
    assert_eq!(done.result_timeout(Duration::MAX), Ok(&"done"));
    assert_eq!(done.exception_timeout(Duration::MAX), Ok(None));

    // A timeout too large to add to the clock waits without limit.
    let held = hold_worker(&pool);
    let later = pool.submit(|| 9).unwrap();
    let waiter = thread::spawn({
        let later = later.clone();
        move || later.result_timeout(Duration::MAX).cloned()
    });
    held.release();
    assert_eq!(waiter.join().unwrap(), Ok(9));
}

fn result_many_times_from_many_threads(kind: SchedulerKind) {
    const THREADS: usize = 8;
    let pool = pool(kind, 2);
    let held = hold_worker(&pool);
    let future = pool.submit(|| vec![1, 2, 3]).unwrap();
    let start = Arc::new(Barrier::new(THREADS + 1));
    let readers: Vec<_> = (0..THREADS)
        .map(|_| {
            let future = future.clone();
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                (0..100).all(|_| get(&future) == Ok(&vec![1, 2, 3]))
            })
        })
        .collect();
    start.wait();
    held.release();
    for reader in readers {
        assert!(reader.join().unwrap());
    }
    assert_eq!(future.result().map(Vec::len), Ok(3));
}

fn exception_reports_the_panic(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let value = pool.submit(|| 1).unwrap();
    let panicked = pool.submit(|| -> i32 { panic!("boom {}", 42) }).unwrap();
    assert_eq!(value.exception(), Ok(None));
    let panic = panicked.exception().unwrap().expect("the task panicked").clone();
    assert_eq!(panic.message(), "boom 42");
    assert_eq!(panicked.result(), Err(FutureError::Panicked(panic.clone())));
    assert_eq!(panicked.exception_timeout(Duration::ZERO), Ok(Some(&panic)));
    assert!(panicked.done() && !panicked.cancelled());
    assert!(panicked.result().unwrap_err().to_string().contains("boom 42"));
}

fn panic_payload_of_another_type(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let future = pool.submit(|| std::panic::panic_any(17_u32)).unwrap();
    let Err(FutureError::Panicked(panic)) = get(&future) else { panic!("expected a panic") };
    assert!(!panic.message().is_empty());
}

fn callback_added_before_completion_runs_once(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let future = pool.submit(|| 3).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..3 {
        let calls = calls.clone();
        let seen = seen.clone();
        future.add_done_callback(move |done| {
            // The callback sees the future done, with its result.
            assert!(done.done());
            seen.lock().unwrap().push(*done.result().unwrap());
            calls.fetch_add(1, Ordering::SeqCst);
        });
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "not done yet");
    held.release();
    assert_eq!(get(&future), Ok(&3));
    pool.shutdown(true, false);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(*seen.lock().unwrap(), [3, 3, 3]);
}

fn callback_added_after_completion_runs_at_once(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let future = pool.submit(|| 4).unwrap();
    assert_eq!(get(&future), Ok(&4));
    let ran_on = Arc::new(Mutex::new(None));
    future.add_done_callback({
        let ran_on = ran_on.clone();
        move |done| *ran_on.lock().unwrap() = Some((thread::current().id(), *done.result().unwrap()))
    });
    assert_eq!(*ran_on.lock().unwrap(), Some((thread::current().id(), 4)), "ran here, before returning");
}

fn callbacks_added_concurrently_with_completion_run_once_each(kind: SchedulerKind) {
    const ADDERS: usize = 4;
    const PER_ADDER: usize = 200;
    let pool = pool(kind, 1);
    for _ in 0..10 {
        let held = hold_worker(&pool);
        let future = pool.submit(|| 0).unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(ADDERS + 1));
        let adders: Vec<_> = (0..ADDERS)
            .map(|_| {
                let (future, calls, start) = (future.clone(), calls.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..PER_ADDER {
                        let calls = calls.clone();
                        future.add_done_callback(move |_| {
                            calls.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                })
            })
            .collect();
        start.wait();
        held.release();
        for adder in adders {
            adder.join().unwrap();
        }
        // Callbacks added after completion ran on their adder threads (joined); the others run
        // on the worker right after it marks the future done. Once the single worker has
        // started another task, it has finished announcing this one.
        assert_eq!(get(&future), Ok(&0));
        drop(hold_worker(&pool));
        assert_eq!(calls.load(Ordering::SeqCst), ADDERS * PER_ADDER);
    }
}

fn panicking_callback_is_swallowed(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let future = pool.submit(|| 1).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counting = |calls: &Arc<AtomicUsize>| {
        let calls = calls.clone();
        move |_: &stealpool::Future<i32>| {
            calls.fetch_add(1, Ordering::SeqCst);
        }
    };
    future.add_done_callback(counting(&calls));
    future.add_done_callback(|_| panic!("callback failure before completion"));
    future.add_done_callback(counting(&calls));
    held.release();
    assert_eq!(get(&future), Ok(&1));
    // After completion: runs here, and its panic does not reach the caller.
    future.add_done_callback(|_| panic!("callback failure after completion"));
    future.add_done_callback(counting(&calls));
    pool.shutdown(true, false);
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // The worker that ran the panicking callback still works.
    let pool = common::pool(kind, 1);
    let first = pool.submit(|| 1).unwrap();
    first.add_done_callback(|_| panic!("again"));
    assert_eq!(get(&first), Ok(&1));
    assert_eq!(get(&pool.submit(|| 2).unwrap()), Ok(&2));
}

fn callback_sees_a_cancelled_future(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let future = pool.submit(|| 1).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    future.add_done_callback({
        let seen = seen.clone();
        move |done| seen.lock().unwrap().push((done.cancelled(), done.result().cloned()))
    });
    assert!(future.cancel());
    // Runs during `cancel`, on the cancelling thread, exactly once.
    assert_eq!(*seen.lock().unwrap(), [(true, Err(FutureError::Cancelled))]);
    assert!(future.cancel());
    held.release();
    pool.shutdown(true, false);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

fn erased_future_reports_state(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let queued = pool.submit(|| 1).unwrap();
    let erased = queued.erase();
    let running = held.future.erase();
    assert!(running.running() && !running.done());
    assert!(!erased.running() && !erased.done() && !erased.cancelled());
    assert!(!running.cancel());
    assert!(erased.cancel());
    assert!(queued.cancelled() && erased.cancelled() && erased.done());
    assert!(!erased.raised(), "a cancelled future did not raise");
    held.release();
    let panicked = pool.submit(|| panic!("x")).unwrap();
    let _ = get(&panicked);
    assert!(panicked.erase().raised());
    assert!(!held.future.erase().raised());
}
