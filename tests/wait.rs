//! `wait` with each `ReturnWhen` and with timeouts, and `as_completed`: order, duplicates,
//! timeouts, futures of mixed result types, and cancels that wake them (each scheduler).

#[macro_use]
mod common;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::{Latch, PATIENCE, gated, get, hold_worker, pool};
use stealpool::{AnyFuture, Future, FutureError, ReturnWhen, SchedulerKind, as_completed, wait};

scheduler_tests!(
    wait_first_completed,
    wait_first_exception_returns_at_the_first_panic,
    wait_first_exception_without_a_panic_waits_for_all,
    wait_first_exception_counts_a_cancel_as_completion_only,
    wait_all_completed,
    wait_times_out,
    wait_on_mixed_result_types,
    wait_removes_duplicates,
    wait_on_nothing_returns_at_once,
    cancel_wakes_a_blocked_wait_at_once,
    as_completed_yields_done_ones_first_then_in_completion_order,
    as_completed_yields_duplicates_once,
    as_completed_timeout_yields_one_error_then_ends,
    as_completed_yields_a_future_done_before_it_was_asked_for,
    as_completed_on_mixed_result_types,
    as_completed_on_nothing_ends_at_once,
    cancel_wakes_a_blocked_as_completed_at_once,
);

/// The results of `futures`, for comparing lists of futures by what they hold.
fn values<'a, I: IntoIterator<Item = &'a Future<usize>>>(futures: I) -> Vec<usize> {
    futures.into_iter().map(|future| *future.result().expect("a value")).collect()
}

fn wait_first_completed(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    let gates = [Latch::one(), Latch::one(), Latch::one()];
    let futures: Vec<_> = gates.iter().enumerate().map(|(i, gate)| gated(&pool, gate, i)).collect();
    gates[1].set();
    let (done, not_done) = wait(&futures, Some(PATIENCE), ReturnWhen::FirstCompleted);
    assert_eq!(values(done), [1]);
    assert_eq!(not_done.len(), 2);
    assert!(not_done.iter().all(|future| !future.done()));
    // Already satisfied: returns at once with everything done so far.
    let (done, _) = wait(&futures, Some(Duration::ZERO), ReturnWhen::FirstCompleted);
    assert_eq!(values(done), [1]);
    gates.iter().for_each(Latch::set);
}

fn wait_first_exception_returns_at_the_first_panic(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    let finished = pool.submit(|| 0).unwrap();
    assert_eq!(get(&finished), Ok(&0));
    let slow = Latch::one();
    let failing = Latch::one();
    let still_running = gated(&pool, &slow, 1);
    let panics = pool
        .submit({
            let failing = failing.clone();
            move || -> usize {
                failing.wait();
                panic!("first exception")
            }
        })
        .unwrap();
    let futures = [finished.clone(), still_running.clone(), panics.clone()];
    failing.set();
    let (done, not_done) = wait(&futures, Some(PATIENCE), ReturnWhen::FirstException);
    assert_eq!(done.len(), 2);
    assert_eq!(done[0].result(), Ok(&0));
    assert!(matches!(done[1].result(), Err(FutureError::Panicked(_))));
    assert_eq!(not_done.len(), 1);
    assert!(!not_done[0].done());
    slow.set();
    assert_eq!(get(&still_running), Ok(&1));
}

fn wait_first_exception_without_a_panic_waits_for_all(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let gates = [Latch::one(), Latch::one()];
    let futures: Vec<_> = gates.iter().enumerate().map(|(i, gate)| gated(&pool, gate, i)).collect();
    let waiter = thread::spawn({
        let futures = futures.clone();
        move || {
            let (done, not_done) = wait(&futures, Some(PATIENCE), ReturnWhen::FirstException);
            (values(done), not_done.len())
        }
    });
    gates[0].set();
    assert_eq!(get(&futures[0]), Ok(&0));
    gates[1].set();
    assert_eq!(waiter.join().unwrap(), (vec![0, 1], 0));
}

fn wait_first_exception_counts_a_cancel_as_completion_only(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let queued = pool.submit(|| 1_usize).unwrap();
    assert!(queued.cancel());
    // A cancelled future is done but did not raise: FirstException still waits for the rest.
    let (done, not_done) =
        wait([queued.erase(), held.future.erase()], Some(Duration::ZERO), ReturnWhen::FirstException);
    assert_eq!(done.len(), 1);
    assert!(done[0].cancelled() && !done[0].raised());
    assert_eq!(not_done.len(), 1);
    assert!(not_done[0].running());
    held.release();
}

fn wait_all_completed(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let futures: Vec<_> = (0..20_usize).map(|i| pool.submit(move || i * i).unwrap()).collect();
    let (done, not_done) = wait(&futures, None, ReturnWhen::AllCompleted);
    assert_eq!(values(done), (0..20).map(|i| i * i).collect::<Vec<_>>(), "in input order");
    assert!(not_done.is_empty());
    let (done, not_done) = wait(futures, Some(Duration::ZERO), ReturnWhen::default());
    assert_eq!((done.len(), not_done.len()), (20, 0), "owned futures work too");
}

fn wait_times_out(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let gate = Latch::one();
    let finished = pool.submit(|| 7_usize).unwrap();
    assert_eq!(get(&finished), Ok(&7));
    let blocked = [gated(&pool, &gate, 1), gated(&pool, &gate, 2)];
    let all = [finished.clone(), blocked[0].clone(), blocked[1].clone()];
    for return_when in [ReturnWhen::AllCompleted, ReturnWhen::FirstException] {
        for timeout in [Duration::ZERO, Duration::from_millis(5)] {
            let (done, not_done) = wait(&all, Some(timeout), return_when);
            assert_eq!(values(done), [7]);
            assert_eq!(not_done.len(), 2);
        }
    }
    let (done, not_done) = wait(&blocked, Some(Duration::from_millis(5)), ReturnWhen::FirstCompleted);
    assert_eq!((done.len(), not_done.len()), (0, 2));
    gate.set();
    let (done, _) = wait(&blocked, Some(Duration::MAX), ReturnWhen::AllCompleted);
    assert_eq!(values(done), [1, 2]);
}

fn wait_on_mixed_result_types(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let number = pool.submit(|| 1_u8).unwrap();
    let text = pool.submit(|| String::from("two")).unwrap();
    let unit = pool.submit(|| ()).unwrap();
    let panicked = pool.submit(|| -> Vec<i32> { panic!("three") }).unwrap();
    let all: Vec<AnyFuture> = vec![number.erase(), text.erase(), unit.erase(), panicked.erase()];
    let (done, not_done) = wait(&all, Some(PATIENCE), ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (4, 0));
    assert_eq!(done.iter().map(|future| future.raised()).collect::<Vec<_>>(), [false, false, false, true]);
    assert_eq!((number.result(), text.result().map(String::as_str)), (Ok(&1), Ok("two")));
    let (done, not_done) = wait(all, None, ReturnWhen::FirstException);
    assert_eq!((done.len(), not_done.len()), (4, 0));
    assert!(done[3].raised());
}

fn wait_removes_duplicates(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let gate = Latch::one();
    let a = pool.submit(|| 1_usize).unwrap();
    let b = gated(&pool, &gate, 2);
    assert_eq!(get(&a), Ok(&1));
    let (done, not_done) = wait([&a, &b, &a, &b, &a], Some(Duration::ZERO), ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (1, 1));
    // A clone is the same future, and so is its erasure.
    let (done, not_done) =
        wait([a.erase(), a.clone().erase(), b.erase(), b.erase()], None, ReturnWhen::FirstCompleted);
    assert_eq!((done.len(), not_done.len()), (1, 1));
    gate.set();
    let b_again = b.clone();
    let (done, not_done) = wait([&b, &a, &b_again], None, ReturnWhen::AllCompleted);
    assert_eq!(values(done), [2, 1], "first occurrences, in input order");
    assert!(not_done.is_empty());
}

fn wait_on_nothing_returns_at_once(kind: SchedulerKind) {
    let _pool = pool(kind, 1);
    for return_when in [ReturnWhen::FirstCompleted, ReturnWhen::FirstException, ReturnWhen::AllCompleted] {
        let (done, not_done) = wait(Vec::<Future<i32>>::new(), None, return_when);
        assert!(done.is_empty() && not_done.is_empty());
    }
}

fn cancel_wakes_a_blocked_wait_at_once(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let queued = pool.submit(|| 3_usize).unwrap();
    for return_when in [ReturnWhen::FirstCompleted, ReturnWhen::AllCompleted, ReturnWhen::FirstException] {
        let queued = pool.submit(|| 4_usize).unwrap();
        let (answer, answered) = mpsc::channel();
        let waiter = thread::spawn({
            let queued = queued.clone();
            move || {
                let (done, not_done) = wait([&queued], None, return_when);
                answer
                    .send((done.iter().all(|future| future.cancelled()), done.len(), not_done.len()))
                    .unwrap();
            }
        });
        assert!(queued.cancel());
        assert_eq!(answered.recv_timeout(PATIENCE), Ok((true, 1, 0)), "{return_when:?}");
        waiter.join().unwrap();
    }
    assert!(held.future.running(), "woken by the cancels, not by the worker");
    held.release();
    assert_eq!(get(&queued), Ok(&3));
}

fn as_completed_yields_done_ones_first_then_in_completion_order(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    let done_a = pool.submit(|| 10_usize).unwrap();
    let done_b = pool.submit(|| 20_usize).unwrap();
    assert_eq!((get(&done_a), get(&done_b)), (Ok(&10), Ok(&20)));
    let gates = [Latch::one(), Latch::one(), Latch::one()];
    let pending: Vec<_> = gates.iter().enumerate().map(|(i, gate)| gated(&pool, gate, i)).collect();
    let input = [&pending[0], &done_b, &pending[1], &done_a, &pending[2]];
    let mut completed = as_completed(input, Some(PATIENCE));
    let mut next = || *completed.next().expect("more to come").expect("no timeout").result().unwrap();
    assert_eq!([next(), next()], [20, 10], "already done: in input order");
    gates[2].set();
    assert_eq!(next(), 2);
    gates[0].set();
    assert_eq!(next(), 0);
    gates[1].set();
    assert_eq!(next(), 1);
    assert!(completed.next().is_none());
    assert!(completed.next().is_none(), "fused");
}

fn as_completed_yields_duplicates_once(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let gate = Latch::one();
    let a = pool.submit(|| 1_usize).unwrap();
    let b = gated(&pool, &gate, 2);
    assert_eq!(get(&a), Ok(&1));
    let input = vec![b.clone(), a.clone(), b.clone(), a.clone(), b.clone()];
    let mut completed = as_completed(input, None);
    assert_eq!(completed.next().unwrap().unwrap().result(), Ok(&1));
    gate.set();
    assert_eq!(completed.next().unwrap().unwrap().result(), Ok(&2));
    assert!(completed.next().is_none());
}

fn as_completed_timeout_yields_one_error_then_ends(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let gate = Latch::one();
    let finished = pool.submit(|| 5_usize).unwrap();
    assert_eq!(get(&finished), Ok(&5));
    let blocked = [gated(&pool, &gate, 1), gated(&pool, &gate, 2)];
    for timeout in [Duration::ZERO, Duration::from_millis(5)] {
        let items: Vec<_> = as_completed([&blocked[0], &finished, &blocked[1]], Some(timeout)).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap().result(), Ok(&5));
        assert!(matches!(items[1], Err(FutureError::Timeout)));
    }
    // The timeout does not affect the futures.
    assert!(blocked.iter().all(|future| !future.done() && !future.cancelled()));
    gate.set();
    assert_eq!(values(as_completed(&blocked, Some(PATIENCE)).map(Result::unwrap)).len(), 2);
}

fn as_completed_yields_a_future_done_before_it_was_asked_for(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    let gates = [Latch::one(), Latch::one(), Latch::one()];
    let pending: Vec<_> = gates.iter().enumerate().map(|(i, gate)| gated(&pool, gate, i)).collect();
    let mut completed = as_completed(&pending, Some(PATIENCE));
    // Two finish after the call but before the caller asks: yielded in completion order.
    gates[2].set();
    assert_eq!(get(&pending[2]), Ok(&2));
    gates[0].set();
    assert_eq!(get(&pending[0]), Ok(&0));
    let mut next = || *completed.next().unwrap().unwrap().result().unwrap();
    assert_eq!([next(), next()], [2, 0]);
    gates[1].set();
    assert_eq!(next(), 1);
    assert!(completed.next().is_none());

    // A future that finished before the deadline is yielded even when asked for after it:
    // only the futures still pending time out.
    let gates = [Latch::one(), Latch::one()];
    let pending: Vec<_> = gates.iter().enumerate().map(|(i, gate)| gated(&pool, gate, i)).collect();
    let mut completed = as_completed(&pending, Some(Duration::ZERO));
    gates[1].set();
    assert_eq!(get(&pending[1]), Ok(&1));
    assert_eq!(completed.next().unwrap().unwrap().result(), Ok(&1));
    assert!(matches!(completed.next(), Some(Err(FutureError::Timeout))));
    assert!(completed.next().is_none());
    gates[0].set();
}

fn as_completed_on_mixed_result_types(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let gate = Latch::one();
    let number = pool.submit(|| 1_i64).unwrap();
    let text = gated(&pool, &gate, "text");
    assert_eq!(get(&number), Ok(&1));
    let mut completed = as_completed([text.erase(), number.erase()], None);
    assert!(!completed.next().unwrap().unwrap().running(), "the finished one first");
    gate.set();
    assert!(completed.next().unwrap().unwrap().done());
    assert!(completed.next().is_none());
    assert_eq!(text.result(), Ok(&"text"));
}

fn as_completed_on_nothing_ends_at_once(kind: SchedulerKind) {
    let _pool = pool(kind, 1);
    assert!(as_completed(Vec::<AnyFuture>::new(), None).next().is_none());
    assert!(as_completed(Vec::<AnyFuture>::new(), Some(Duration::ZERO)).next().is_none());
}

fn cancel_wakes_a_blocked_as_completed_at_once(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let queued = [pool.submit(|| 1_usize).unwrap(), pool.submit(|| 2_usize).unwrap()];
    let (answer, answered) = mpsc::channel();
    let iterating = thread::spawn({
        let queued = queued.clone();
        move || {
            for item in as_completed(&queued, None) {
                let future = item.unwrap();
                answer.send(future.cancelled()).unwrap();
            }
        }
    });
    assert!(queued[1].cancel());
    assert_eq!(answered.recv_timeout(PATIENCE), Ok(true));
    assert!(queued[0].cancel());
    assert_eq!(answered.recv_timeout(PATIENCE), Ok(true));
    iterating.join().unwrap();
    assert!(held.future.running(), "woken by the cancels, not by the worker");
    held.release();
}
