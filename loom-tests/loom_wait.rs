#![cfg(loom)]
//! Models of a completion racing a thread that blocks on it (`src/future/cell.rs` rule 4,
//! `src/blocking.rs`, `src/parker.rs`, `src/wait.rs`): the waiter always wakes and sees the value.
//!
//! A lost wake-up shows as a deadlock: the waiter parked on its condition variable with nobody
//! left to wake it, which loom reports as `deadlock; threads = [...]`.
//!
//! Timeouts: loom 0.7's `Condvar::wait_timeout` never times out (it is `wait` returning
//! "not timed out"; see `loom/src/sync/condvar.rs`, "TODO: implement timing out"), and loom does
//! not model time. So `result_timeout` is checked with a timeout that never expires within a
//! model: the bounded wait must wake exactly as the unbounded one does; the expiry path itself is
//! covered by the ordinary tests.

mod support;

use std::sync::Arc;
use std::time::Duration;

use loom::thread;
use stealpool::loom_api::{Fault, Task};
use stealpool::{BrokenReason, FutureError, Promise, ReturnWhen, as_completed, wait};
use support::{check, check_broken};

/// Longer than any model runs: `result_timeout` takes its timed path and never expires.
const NEVER: Duration = Duration::from_secs(3600);

/// A worker completes the task while this thread blocks in `result()`.
fn result_vs_completion() {
    let (task, future) = Task::new(|| 7);
    let worker = thread::spawn(move || task.run());
    assert_eq!(future.result(), Ok(&7));
    worker.join().unwrap();
}

#[test]
fn result_vs_completion_wakes() {
    check(result_vs_completion);
}

/// Completion publishes the state after releasing the lock: a waiter registers between the two,
/// is not notified, and sleeps forever.
#[test]
#[should_panic(expected = "deadlock")]
fn result_vs_completion_broken_store_after_unlock() {
    check_broken(Fault::StoreAfterUnlock, result_vs_completion);
}

/// The same with `result_timeout` (the parker's timed wait).
fn result_timeout_vs_completion() {
    let (task, future) = Task::new(|| 7);
    let worker = thread::spawn(move || task.run());
    assert_eq!(future.result_timeout(NEVER), Ok(&7));
    worker.join().unwrap();
}

#[test]
fn result_timeout_vs_completion_wakes() {
    check(result_timeout_vs_completion);
}

#[test]
#[should_panic(expected = "deadlock")]
fn result_timeout_vs_completion_broken_store_after_unlock() {
    check_broken(Fault::StoreAfterUnlock, result_timeout_vs_completion);
}

/// `wait(FirstCompleted)` registers its collector while one of its two futures completes.
fn wait_first_completed() {
    let (task, first) = Task::new(|| 1);
    let (_never_run, second) = Task::new(|| 2);
    let worker = thread::spawn(move || task.run());
    let (done, not_done) = wait([&first, &second], None, ReturnWhen::FirstCompleted);
    assert_eq!(done.len(), 1, "wait(FirstCompleted) returned with nothing done");
    assert_eq!(done[0].result(), Ok(&1));
    assert_eq!(not_done.len(), 1);
    assert!(!not_done[0].done());
    worker.join().unwrap();
}

#[test]
fn wait_first_completed_vs_completion_wakes() {
    check(wait_first_completed);
}

/// The collector reads its waiter and records the completion under two locks: the waiter is
/// installed and checks for completions in between, then sleeps unwoken.
#[test]
#[should_panic(expected = "deadlock")]
fn wait_first_completed_broken_split_notify() {
    check_broken(Fault::SplitCollectorNotify, wait_first_completed);
}

/// `wait(FirstException)`: a failure completes one future while the other never does; the wait
/// returns at the failure (it would wait for ever for "all completed").
fn wait_first_exception() {
    let (promise, failing) = Promise::<i32>::new();
    let (_never_run, other) = Task::new(|| 2);
    let completer =
        thread::spawn(move || promise.set_error(FutureError::Broken(BrokenReason::PromiseDropped)).unwrap());
    let (done, not_done) = wait([&failing, &other], None, ReturnWhen::FirstException);
    assert_eq!(done.len(), 1, "wait(FirstException) returned before the failure");
    assert_eq!(done[0].result(), Err(FutureError::Broken(BrokenReason::PromiseDropped)));
    assert_eq!(not_done.len(), 1);
    completer.join().unwrap();
}

#[test]
fn wait_first_exception_vs_failure_wakes() {
    check(wait_first_exception);
}

#[test]
#[should_panic(expected = "deadlock")]
fn wait_first_exception_broken_split_notify() {
    check_broken(Fault::SplitCollectorNotify, wait_first_exception);
}

/// `wait(AllCompleted)` while two workers complete its two futures.
fn wait_all_completed() {
    let (first_task, first) = Task::new(|| 1);
    let (second_task, second) = Task::new(|| 2);
    let workers = [thread::spawn(move || first_task.run()), thread::spawn(move || second_task.run())];
    let (done, not_done) = wait([&first, &second], None, ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (2, 0), "wait(AllCompleted) returned early");
    assert_eq!((first.result(), second.result()), (Ok(&1), Ok(&2)));
    for worker in workers {
        worker.join().unwrap();
    }
}

#[test]
fn wait_all_completed_vs_completions_wakes() {
    check(wait_all_completed);
}

#[test]
#[should_panic(expected = "deadlock")]
fn wait_all_completed_broken_split_notify() {
    check_broken(Fault::SplitCollectorNotify, wait_all_completed);
}

/// `as_completed` registers, then its first `next()` blocks, while the future completes.
fn as_completed_vs_completion() {
    let (task, future) = Task::new(|| 1);
    let worker = thread::spawn(move || task.run());
    let mut completed = as_completed([&future], None);
    let first = completed.next().expect("one item").expect("no timeout was set");
    assert_eq!(first.result(), Ok(&1));
    assert!(completed.next().is_none());
    worker.join().unwrap();
}

#[test]
fn as_completed_vs_completion_wakes() {
    check(as_completed_vs_completion);
}

#[test]
#[should_panic(expected = "deadlock")]
fn as_completed_broken_split_notify() {
    check_broken(Fault::SplitCollectorNotify, as_completed_vs_completion);
}

/// The smallest executor: polls on this model thread, sleeps on a loom condition variable until
/// the waker fires.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use loom::sync::{Condvar, Mutex};
    use std::task::{Context, Poll, Wake, Waker};

    struct Signal {
        woken: Mutex<bool>,
        wakeup: Condvar,
    }
    impl Wake for Signal {
        fn wake(self: Arc<Self>) {
            *self.woken.lock().unwrap() = true;
            self.wakeup.notify_one();
        }
    }
    let signal = Arc::new(Signal { woken: Mutex::new(false), wakeup: Condvar::new() });
    let waker = Waker::from(signal.clone());
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        let mut woken = signal.woken.lock().unwrap();
        while !*woken {
            woken = signal.wakeup.wait(woken).unwrap();
        }
        *woken = false;
    }
}

/// `.await` registers its waker while the worker completes the task: the poll either sees the
/// completion or is woken through the waiter list (`future::awaiting`).
fn await_vs_completion() {
    use std::future::IntoFuture;
    let (task, future) = Task::new(|| 7);
    let worker = thread::spawn(move || task.run());
    assert_eq!(block_on(future.into_future()), Ok(7));
    worker.join().unwrap();
}

#[test]
fn await_vs_completion_wakes() {
    check(await_vs_completion);
}

/// Completion stores the terminal state after unlocking the waiter list: a waker registered in
/// between is never woken.
#[test]
#[should_panic(expected = "deadlock")]
fn await_vs_completion_broken_store_after_unlock() {
    check_broken(Fault::StoreAfterUnlock, await_vs_completion);
}
