//! `Promise`: every state transition of a future driven by hand, and the errors for completing
//! a future twice or after a cancel. No pool is involved, so these run once, not per scheduler;
//! the futures of pools are covered in `future.rs`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use common::PATIENCE;
use stealpool::{BrokenReason, FutureError, FutureState, Promise, ReturnWhen, TaskPanic, as_completed, wait};

#[test]
fn pending_running_finished() {
    let (promise, future) = Promise::<i32>::new();
    assert!(!future.running() && !future.done() && !future.cancelled());
    assert_eq!(future.result_timeout(Duration::ZERO), Err(FutureError::Timeout));

    assert_eq!(promise.set_running_or_notify_cancel(), Ok(true));
    assert!(future.running() && !future.done());
    assert!(!future.cancel(), "a running future cannot be cancelled");
    assert!(future.running());
    let running = promise.set_running_or_notify_cancel().unwrap_err();
    assert_eq!(running.state(), FutureState::Running, "already running");
    assert_eq!(running.to_string(), "invalid state: the future is already running");

    assert_eq!(promise.set_result(5), Ok(()));
    assert!(!future.running() && future.done() && !future.cancelled());
    assert_eq!(future.result(), Ok(&5));
    assert_eq!(future.exception(), Ok(None));
    assert!(!future.cancel());
}

#[test]
fn set_result_on_a_pending_future() {
    let (promise, future) = Promise::new();
    promise.set_result("value").unwrap();
    assert_eq!(future.result(), Ok(&"value"));
    assert_eq!(promise.future().result(), Ok(&"value"), "another handle sees the same future");
}

#[test]
fn second_completion_is_an_invalid_state_error() {
    let (promise, future) = Promise::new();
    promise.set_result(1).unwrap();
    let error = promise.set_result(2).unwrap_err();
    assert_eq!(error.state(), FutureState::Finished);
    assert_eq!(error.to_string(), "invalid state: the future is already finished");
    assert_eq!(promise.set_exception(TaskPanic::new("late")).unwrap_err().state(), FutureState::Finished);
    let late = FutureError::Broken(BrokenReason::PromiseDropped);
    assert_eq!(promise.set_error(late).unwrap_err().state(), FutureState::Finished);
    assert_eq!(promise.set_running_or_notify_cancel().unwrap_err().state(), FutureState::Finished);
    assert_eq!(future.result(), Ok(&1), "the first completion stands");

    let (promise, future) = Promise::<i32>::new();
    promise.set_exception(TaskPanic::new("first")).unwrap();
    assert!(promise.set_result(2).is_err());
    assert_eq!(future.exception(), Ok(Some(&TaskPanic::new("first"))));
}

#[test]
fn completing_a_cancelled_future_is_an_invalid_state_error() {
    let (promise, future) = Promise::<i32>::new();
    assert!(future.cancel());
    assert!(future.cancelled() && future.done() && !future.running());
    assert!(future.cancel(), "cancelling twice is still true");
    assert_eq!(promise.set_running_or_notify_cancel(), Ok(false));
    assert!(future.cancelled(), "set_running_or_notify_cancel changes nothing on a cancelled future");
    let error = promise.set_result(1).unwrap_err();
    assert_eq!(error.state(), FutureState::Cancelled);
    assert_eq!(error.to_string(), "invalid state: the future is already cancelled");
    assert_eq!(promise.set_exception(TaskPanic::new("x")).unwrap_err().state(), FutureState::Cancelled);
    let late = FutureError::Broken(BrokenReason::PromiseDropped);
    assert_eq!(promise.set_error(late).unwrap_err().state(), FutureState::Cancelled);
    assert_eq!(future.result(), Err(FutureError::Cancelled));
    assert_eq!(future.exception(), Err(FutureError::Cancelled));
}

#[test]
fn set_exception_and_set_error() {
    let (promise, future) = Promise::<String>::new();
    promise.set_running_or_notify_cancel().unwrap();
    promise.set_exception(TaskPanic::new("bad input")).unwrap();
    assert_eq!(future.result(), Err(FutureError::Panicked(TaskPanic::new("bad input"))));
    assert_eq!(future.exception().unwrap().map(TaskPanic::message), Some("bad input"));
    assert!(future.erase().raised());

    let (promise, future) = Promise::<String>::new();
    let gone = FutureError::Broken(BrokenReason::MpiFinalized);
    promise.set_error(gone.clone()).unwrap();
    assert_eq!(future.result(), Err(gone.clone()));
    assert_eq!(future.exception(), Err(gone));
    assert!(future.erase().raised());
}

#[test]
fn completion_wakes_blocked_waiters() {
    let (promise, future) = Promise::<u64>::new();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let future = future.clone();
            thread::spawn(move || future.result_timeout(PATIENCE).cloned())
        })
        .collect();
    let (waited, done) = mpsc::channel();
    let waiting = thread::spawn({
        let future = future.clone();
        move || {
            let (finished, pending) = wait([&future], Some(PATIENCE), ReturnWhen::AllCompleted);
            waited.send((finished.len(), pending.len())).unwrap();
        }
    });
    promise.set_result(11).unwrap();
    for waiter in waiters {
        assert_eq!(waiter.join().unwrap(), Ok(11));
    }
    assert_eq!(done.recv_timeout(PATIENCE), Ok((1, 0)));
    waiting.join().unwrap();
}

#[test]
fn cancel_wakes_blocked_waiters_and_runs_callbacks() {
    let (promise, future) = Promise::<u64>::new();
    let calls = Arc::new(AtomicUsize::new(0));
    future.add_done_callback({
        let calls = calls.clone();
        move |done| {
            assert!(done.cancelled());
            calls.fetch_add(1, Ordering::SeqCst);
        }
    });
    let (started, ready) = mpsc::channel();
    let iterating = thread::spawn({
        let future = future.clone();
        move || {
            started.send(()).unwrap();
            as_completed([future], None).map(|item| item.map(|done| done.cancelled())).collect::<Vec<_>>()
        }
    });
    ready.recv().unwrap();
    assert!(future.cancel());
    assert_eq!(iterating.join().unwrap(), [Ok(true)]);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(promise.set_running_or_notify_cancel(), Ok(false));
}

#[test]
fn callbacks_run_once_on_the_completing_thread_or_at_once() {
    let (promise, future) = Promise::<i32>::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let add = |calls: &Arc<AtomicUsize>| {
        let calls = calls.clone();
        future.add_done_callback(move |done| {
            assert_eq!(done.result(), Ok(&8));
            calls.fetch_add(1, Ordering::SeqCst);
        });
    };
    add(&calls);
    add(&calls);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    promise.set_result(8).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "ran during set_result");
    add(&calls);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "ran during add_done_callback");
    assert!(promise.set_result(9).is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 3, "a refused completion runs no callback");
}

#[test]
fn a_concurrent_cancel_and_completion_agree() {
    // Exactly one of the racing cancel and set_result wins, and the state says which.
    for _ in 0..200 {
        let (promise, future) = Promise::<i32>::new();
        let start = Arc::new(std::sync::Barrier::new(2));
        let canceller = thread::spawn({
            let (future, start) = (future.clone(), start.clone());
            move || {
                start.wait();
                future.cancel()
            }
        });
        start.wait();
        let completed = promise.set_result(1).is_ok();
        let cancelled = canceller.join().unwrap();
        assert_ne!(completed, cancelled);
        assert_eq!(future.cancelled(), cancelled);
        assert_eq!(future.result().is_ok(), completed);
    }
}

#[test]
fn dropping_an_uncompleted_promise_fails_its_future_instead_of_hanging() {
    let (promise, future) = Promise::<i32>::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    future.add_done_callback(move |done| {
        assert_eq!(done.result(), Err(FutureError::Broken(BrokenReason::PromiseDropped)));
        seen.fetch_add(1, Ordering::SeqCst);
    });
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let future = future.clone();
        thread::spawn(move || {
            tx.send(()).unwrap();
            future.result().cloned()
        })
    };
    rx.recv().unwrap();
    drop(promise);
    match waiter.join().unwrap() {
        Err(FutureError::Broken(reason)) => {
            assert_eq!(reason, BrokenReason::PromiseDropped);
            assert_eq!(reason.to_string(), "the promise was dropped before it completed its future");
        }
        other => panic!("expected Broken, got {other:?}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A completed or cancelled future keeps its outcome when its promise goes away.
    let (promise, future) = Promise::<i32>::new();
    promise.set_result(7).unwrap();
    drop(promise);
    assert_eq!(future.result(), Ok(&7));
    let (promise, future) = Promise::<i32>::new();
    assert!(future.cancel());
    drop(promise);
    assert_eq!(future.result(), Err(FutureError::Cancelled));
}
