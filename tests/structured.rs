//! Structured fork-join: `join(a, b)` and `scope(|s| s.submit(..))` with closures that borrow
//! from the caller's stack, on both schedulers, from inside and from outside the pool. Every wait
//! is bounded (latches and `get` give up after `PATIENCE`), so a regression fails, never hangs.

#[macro_use]
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use common::{Latch, get, pool};
use stealpool::{FutureError, PoolHandle, SchedulerKind};

scheduler_tests!(
    join_returns_both_results_and_borrows,
    nested_joins_on_the_pool_compute_the_sum,
    join_from_outside_lets_a_worker_run_b,
    join_resumes_the_panic_of_a_or_b,
    join_on_a_shut_down_pool_runs_both_inline,
    join_waits_for_a_stolen_b_without_running_queued_tasks,
    scope_tasks_borrow_and_are_done_when_it_returns,
    scope_tasks_submit_more_tasks_to_the_scope,
    scope_captures_task_panics_and_resumes_the_bodys,
    scope_on_a_worker_completes_with_one_worker,
    scope_after_shutdown_refuses_and_drops_the_closure,
    scope_waits_for_a_cancelled_tasks_closure_to_drop,
    scope_tasks_blocking_on_each_other_complete,
);

fn sum(pool: &PoolHandle, values: &[u64]) -> u64 {
    if values.len() <= 64 {
        return values.iter().sum();
    }
    let (left, right) = values.split_at(values.len() / 2);
    let (a, b) = pool.join(|| sum(pool, left), || sum(pool, right));
    a + b
}

fn join_returns_both_results_and_borrows(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let text = String::from("vong lap");
    let mut written = Vec::new();
    let (length, ()) = pool.join(|| text.len(), || written.push(text.as_str()));
    assert_eq!(length, 8);
    assert_eq!(written, ["vong lap"]);
}

fn nested_joins_on_the_pool_compute_the_sum(kind: SchedulerKind) {
    for workers in [1, 2, 4] {
        let pool = pool(kind, workers);
        let values: Vec<u64> = (1..=20_000).collect();
        let handle = pool.handle();
        let total = pool.submit(move || sum(&handle, &values)).unwrap();
        assert_eq!(get(&total), Ok(&200_010_000), "{workers} workers");
        // Called from outside the pool as well.
        let values: Vec<u64> = (1..=20_000).collect();
        assert_eq!(sum(&pool.handle(), &values), 200_010_000);
    }
}

/// `a` waits until `b` has started: `b` must run on a worker, not after `a` on the caller.
fn join_from_outside_lets_a_worker_run_b(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let b_started = Latch::one();
    let caller = thread::current().id();
    let (_, b_thread) = pool.join(
        || b_started.wait(),
        || {
            b_started.set();
            thread::current().id()
        },
    );
    assert_ne!(b_thread, caller);
    // The queued half of a join is not a submitted task; an outside submit is.
    assert_eq!(pool.stats().submitted, 0, "{:?}", pool.stats());
    get(&pool.submit(|| 1).expect("the pool is open")).expect("the task returns");
    assert_eq!(pool.stats().submitted, 1, "{:?}", pool.stats());
}

fn join_resumes_the_panic_of_a_or_b(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let b_ran = AtomicUsize::new(0);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        pool.join(|| panic!("a failed"), || b_ran.fetch_add(1, Ordering::SeqCst))
    }))
    .unwrap_err();
    assert_eq!(panicked.downcast_ref::<&str>(), Some(&"a failed"));

    let panicked =
        catch_unwind(AssertUnwindSafe(|| pool.join(|| 1, || -> u32 { panic!("b failed") }))).unwrap_err();
    assert_eq!(panicked.downcast_ref::<&str>(), Some(&"b failed"));

    // Both panic: `a`'s panic is the one resumed, after `b` settled.
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        pool.join(|| -> u32 { panic!("a first") }, || -> u32 { panic!("b second") })
    }))
    .unwrap_err();
    assert_eq!(panicked.downcast_ref::<&str>(), Some(&"a first"));

    // The pool is unharmed: its worker survives, joins go on.
    let handle = pool.handle();
    assert_eq!(pool.join(|| 2, || 3), (2, 3));
    let values: Vec<u64> = (1..=1000).collect();
    assert_eq!(get(&pool.submit(move || sum(&handle, &values)).unwrap()), Ok(&500_500));
}

fn join_on_a_shut_down_pool_runs_both_inline(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    pool.shutdown(true, false);
    let caller = thread::current().id();
    let (a, b) = pool.join(|| thread::current().id(), || thread::current().id());
    assert_eq!((a, b), (caller, caller));
}

/// 2 workers. Task T joins `a` and `b`; `b` is stolen by the other worker and waits until task C
/// has started; `a` submits C, which then waits for T to have finished its join. A joiner that
/// ran C on its stack while waiting for `b` could never return (C waits for it); the joiner must
/// block instead, and its worker slot must go to a spare thread, which runs C.
fn join_waits_for_a_stolen_b_without_running_queued_tasks(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let handle = pool.handle();
    let (b_started, c_started, joined) = (Latch::one(), Latch::one(), Latch::one());
    let t = pool
        .submit({
            let (b_started, c_started, joined) = (b_started.clone(), c_started.clone(), joined.clone());
            move || {
                let (c, b) = handle.join(
                    || {
                        b_started.wait();
                        let (c_started, joined) = (c_started.clone(), joined.clone());
                        handle
                            .submit(move || {
                                c_started.set();
                                joined.wait();
                                "c"
                            })
                            .unwrap()
                    },
                    || {
                        b_started.set();
                        c_started.wait();
                        "b"
                    },
                );
                joined.set();
                (*get(&c).unwrap(), b)
            }
        })
        .unwrap();
    assert_eq!(get(&t), Ok(&("c", "b")));
}

fn scope_tasks_borrow_and_are_done_when_it_returns(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    let inputs: Vec<u64> = (0..100).collect();
    let mut squares = vec![0; inputs.len()];
    let total = AtomicUsize::new(0);
    let futures = pool.scope(|s| {
        let mut futures = Vec::new();
        for (input, square) in inputs.iter().zip(squares.iter_mut()) {
            let total = &total;
            futures.push(
                s.submit(move || {
                    *square = input * input;
                    total.fetch_add(1, Ordering::SeqCst);
                    *input
                })
                .unwrap(),
            );
        }
        futures
    });
    assert_eq!(total.load(Ordering::SeqCst), 100);
    assert!(futures.iter().all(|future| future.done()));
    assert_eq!(squares, inputs.iter().map(|input| input * input).collect::<Vec<_>>());
    assert_eq!(*futures[7].result().unwrap(), 7);
}

fn scope_tasks_submit_more_tasks_to_the_scope(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let seen = Mutex::new(Vec::new());
    pool.scope(|s| {
        for parent in 0..4 {
            let seen = &seen;
            s.submit(move || {
                for child in 0..3 {
                    s.submit(move || seen.lock().unwrap().push((parent, child))).unwrap();
                }
            })
            .unwrap();
        }
    });
    let mut seen = seen.into_inner().unwrap();
    seen.sort_unstable();
    assert_eq!(seen, (0..4).flat_map(|parent| (0..3).map(move |child| (parent, child))).collect::<Vec<_>>());
}

fn scope_captures_task_panics_and_resumes_the_bodys(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let failing = pool.scope(|s| s.submit(|| -> u32 { panic!("task failed") }).unwrap());
    match failing.result() {
        Err(FutureError::Panicked(panic)) => assert_eq!(panic.message(), "task failed"),
        other => panic!("expected the task's panic, got {other:?}"),
    }

    let finished = AtomicUsize::new(0);
    let gate = Latch::one();
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            for _ in 0..3 {
                let (finished, gate) = (&finished, gate.clone());
                s.submit(move || {
                    gate.wait();
                    finished.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap();
            }
            gate.set();
            panic!("body failed");
        })
    }))
    .unwrap_err();
    assert_eq!(panicked.downcast_ref::<&str>(), Some(&"body failed"));
    // The panic was resumed only after every task of the scope had finished.
    assert_eq!(finished.load(Ordering::SeqCst), 3);
}

/// A scope opened by a task on a one-worker pool: its tasks are queued behind the task itself,
/// which runs them (steal-back) or hands its worker over while it waits.
fn scope_on_a_worker_completes_with_one_worker(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    let outer = pool
        .submit(move || {
            let values: Vec<u64> = (1..=50).collect();
            let mut doubled = vec![0; values.len()];
            handle.scope(|s| {
                for (value, slot) in values.iter().zip(doubled.iter_mut()) {
                    s.submit(move || *slot = 2 * value).unwrap();
                }
            });
            doubled.iter().sum::<u64>()
        })
        .unwrap();
    assert_eq!(get(&outer), Ok(&2550));
}

/// Counts its drops: tells whether a closure holding it is gone.
struct DropCounter<'a>(&'a AtomicUsize);

impl Drop for DropCounter<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn scope_after_shutdown_refuses_and_drops_the_closure(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    pool.shutdown(true, false);
    let drops = AtomicUsize::new(0);
    pool.scope(|s| {
        let counter = DropCounter(&drops);
        let refused = s.submit(move || drop(counter));
        assert!(matches!(refused, Err(stealpool::SubmitError::Shutdown)));
    });
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// A scoped task cancelled while queued never runs, and its closure (with what it borrows) is
/// dropped before the scope returns.
fn scope_waits_for_a_cancelled_tasks_closure_to_drop(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let drops = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    let gate = Latch::one();
    let cancelled = pool.scope(|s| {
        let blocker_gate = gate.clone();
        s.submit(move || blocker_gate.wait()).unwrap();
        let (counter, ran) = (DropCounter(&drops), &ran);
        let queued = s
            .submit(move || {
                let _counter = counter;
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        let cancelled = queued.cancel();
        gate.set();
        cancelled
    });
    if cancelled {
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// Two workers, one of them busy with the task that opens the scope. The first scoped task
/// waits for a latch that only the second, queued behind it, opens: the scope's end must leave a
/// worker for the second (it runs the first inline at most, never both).
fn scope_tasks_blocking_on_each_other_complete(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let handle = pool.handle();
    let outer = pool
        .submit(move || {
            let opened = Latch::one();
            let order = Mutex::new(Vec::new());
            handle.scope(|s| {
                let (opened_first, order_first) = (&opened, &order);
                s.submit(move || {
                    opened_first.wait();
                    order_first.lock().unwrap().push("waiter");
                })
                .unwrap();
                s.submit(|| {
                    order.lock().unwrap().push("opener");
                    opened.set();
                })
                .unwrap();
            });
            order.into_inner().unwrap()
        })
        .unwrap();
    assert_eq!(get(&outer).unwrap(), &["opener", "waiter"]);
}
