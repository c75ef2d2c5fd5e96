//! Waiting never adds a deadlock: the programs below complete when every task has a thread of
//! its own (and in CPython), and they hung when a waiting worker ran unrelated queued tasks on
//! its stack. Each now completes on both schedulers: a waiter steals back its awaited task if
//! it is still queued, and otherwise hands its worker slot to a spare thread and blocks. Every
//! wait is bounded, so a regression fails instead of hanging.

#[macro_use]
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{Latch, PATIENCE, builder, get, pool};
use stealpool::{FutureError, Promise, ReturnWhen, SchedulerKind, as_completed, wait};

scheduler_tests!(
    a_queued_task_that_waits_on_the_waiter,
    a_queued_task_that_blocks_on_a_channel_the_waiter_feeds,
    a_pipeline_of_parents_and_follow_ups,
    a_cross_pool_wait_frees_the_waiting_pool,
    result_timeout_on_a_worker_does_not_run_the_task_inline,
    wait_with_a_timeout_on_a_worker_does_not_run_tasks_inline,
    as_completed_with_a_timeout_on_a_worker_does_not_run_tasks_inline,
    an_untimed_wait_steals_back_its_queued_task,
    wait_steals_back_every_queued_awaited_task,
    compensation_starts_a_spare_and_reuses_it,
    at_the_cap_a_waiter_keeps_its_worker,
);

/// 2 workers. A submits B, which starts on the other worker; A waits for B. Meanwhile C, queued,
/// waits for A. A waiter that ran C on its stack could never resume (C waits for it).
fn a_queued_task_that_waits_on_the_waiter(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let handle = pool.handle();
    let (b_started, b_gate, a_waiting) = (Latch::one(), Latch::one(), Latch::one());
    let a = pool
        .submit({
            let (b_started, b_gate, a_waiting) = (b_started.clone(), b_gate.clone(), a_waiting.clone());
            move || {
                let b = handle
                    .submit(move || {
                        b_started.set();
                        b_gate.wait();
                        1
                    })
                    .unwrap();
                a_waiting.set();
                *b.result().unwrap() + 1
            }
        })
        .unwrap();
    a_waiting.wait();
    b_started.wait();
    let c = pool
        .submit({
            let a = a.clone();
            move || *a.result().unwrap() + 10
        })
        .unwrap();
    b_gate.set();
    assert_eq!(get(&a), Ok(&2));
    assert_eq!(get(&c), Ok(&12));
}

/// W waits for F (running on another worker), then sends on a channel; Q, queued behind W,
/// blocks on that channel. With free workers left, this must complete.
fn a_queued_task_that_blocks_on_a_channel_the_waiter_feeds(kind: SchedulerKind) {
    for workers in [2, 8, 32] {
        let pool = pool(kind, workers);
        let handle = pool.handle();
        let (sender, receiver) = mpsc::channel::<u32>();
        let (f_started, f_gate, w_waiting) = (Latch::one(), Latch::one(), Latch::one());
        let w = pool
            .submit({
                let (f_started, f_gate, w_waiting) = (f_started.clone(), f_gate.clone(), w_waiting.clone());
                move || {
                    let f = handle
                        .submit(move || {
                            f_started.set();
                            f_gate.wait();
                            7
                        })
                        .unwrap();
                    w_waiting.set();
                    let value = *f.result().unwrap();
                    sender.send(value).unwrap();
                }
            })
            .unwrap();
        w_waiting.wait();
        f_started.wait();
        let q =
            pool.submit(move || receiver.recv_timeout(PATIENCE).expect("W sends once F is done")).unwrap();
        f_gate.set();
        assert_eq!(get(&w), Ok(&()), "{workers} workers");
        assert_eq!(get(&q), Ok(&7), "{workers} workers");
    }
}

/// 4 workers; each parent submits 4 children, works, then waits for them; each parent has a
/// follow-up task that waits for the parent.
fn a_pipeline_of_parents_and_follow_ups(kind: SchedulerKind) {
    for _round in 0..5 {
        let pool = pool(kind, 4);
        let mut follow_ups = Vec::new();
        for parent_index in 0..6u64 {
            let handle = pool.handle();
            let parent = pool
                .submit(move || {
                    let children: Vec<_> = (0..4u64)
                        .map(|child| {
                            handle
                                .submit(move || {
                                    std::thread::sleep(Duration::from_millis(1));
                                    child
                                })
                                .unwrap()
                        })
                        .collect();
                    std::thread::sleep(Duration::from_millis(5)); // the parent's own work
                    children.iter().map(|child| *child.result().unwrap()).sum::<u64>() + parent_index
                })
                .unwrap();
            let follow_up = pool.submit(move || *parent.result().unwrap() * 2).unwrap();
            follow_ups.push((parent_index, follow_up));
        }
        for (parent_index, follow_up) in &follow_ups {
            assert_eq!(get(follow_up), Ok(&((6 + parent_index) * 2)));
        }
    }
}

/// Pool A (1 worker) waits for pool B's future, whose task waits for a task queued in A: A's
/// waiting worker must let A's queue go on.
fn a_cross_pool_wait_frees_the_waiting_pool(kind: SchedulerKind) {
    let pool_a = pool(kind, 1);
    let pool_b = pool(kind, 1);
    let (handle_a, handle_b) = (pool_a.handle(), pool_b.handle());
    let x = pool_a
        .submit(move || {
            let y = handle_b
                .submit(move || {
                    let z = handle_a.submit(|| 40).unwrap();
                    *z.result().unwrap() + 1
                })
                .unwrap();
            *y.result().unwrap() + 1
        })
        .unwrap();
    assert_eq!(get(&x), Ok(&42));
}

/// A task submits L (which runs only once the test opens its gate) and waits for it with
/// `timed_wait` (a 20 ms timeout). Running L inline would hold the waiter past its deadline, here
/// forever: the gate opens only after the wait returned. Returns what `timed_wait` saw.
fn timed_wait_on_a_worker<R: Send + Sync + 'static>(
    kind: SchedulerKind,
    timed_wait: impl FnOnce(&stealpool::Future<()>) -> R + Send + 'static,
) -> R {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    let gate = Latch::one();
    let waiter = pool
        .submit({
            let gate = gate.clone();
            move || {
                let long = handle.submit(move || gate.wait()).unwrap();
                (timed_wait(&long), long)
            }
        })
        .unwrap();
    let (seen, long) = waiter.join_timeout_or_fail();
    gate.set();
    assert_eq!(get(&long), Ok(&()));
    seen
}

const TIMEOUT: Duration = Duration::from_millis(20);

fn result_timeout_on_a_worker_does_not_run_the_task_inline(kind: SchedulerKind) {
    let outcome = timed_wait_on_a_worker(kind, |long| long.result_timeout(TIMEOUT).map(|_| ()));
    assert_eq!(outcome, Err(FutureError::Timeout));
}

fn wait_with_a_timeout_on_a_worker_does_not_run_tasks_inline(kind: SchedulerKind) {
    let counts = timed_wait_on_a_worker(kind, |long| {
        let (done, not_done) = wait([long], Some(TIMEOUT), ReturnWhen::AllCompleted);
        (done.len(), not_done.len())
    });
    assert_eq!(counts, (0, 1));
}

fn as_completed_with_a_timeout_on_a_worker_does_not_run_tasks_inline(kind: SchedulerKind) {
    let first = timed_wait_on_a_worker(kind, |long| {
        as_completed([long], Some(TIMEOUT)).next().map(|item| item.is_ok())
    });
    assert_eq!(first, Some(false), "one Timeout item");
}

/// One worker, no spare allowed: an untimed wait on a queued child must run it itself.
fn an_untimed_wait_steals_back_its_queued_task(kind: SchedulerKind) {
    let pool = builder(kind).max_workers(1).max_spare_threads(0).build().unwrap();
    let handle = pool.handle();
    let parent = pool.submit(move || *handle.submit(|| 20).unwrap().result().unwrap() + 1).unwrap();
    assert_eq!(get(&parent), Ok(&21));
    assert_eq!(pool.stats().slot_handoffs, 0, "no hand-off was needed");
}

fn wait_steals_back_every_queued_awaited_task(kind: SchedulerKind) {
    let pool = builder(kind).max_workers(1).max_spare_threads(0).build().unwrap();
    let handle = pool.handle();
    let parent = pool
        .submit(move || {
            let children: Vec<_> = (0..5).map(|i| handle.submit(move || i).unwrap()).collect();
            let (done, not_done) = wait(&children, None, ReturnWhen::AllCompleted);
            let order: Vec<i32> =
                as_completed(&children, None).map(|child| *child.unwrap().result().unwrap()).collect();
            (done.len(), not_done.len(), order.len())
        })
        .unwrap();
    assert_eq!(get(&parent), Ok(&(5, 0, 5)));
}

/// A task that waits on a future it cannot run (a promise) hands its slot to a spare; a second
/// such wait reuses the spare thread.
fn compensation_starts_a_spare_and_reuses_it(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    for round in 0..2 {
        let (promise, future) = Promise::new();
        let waiting = Latch::one();
        let waiter = pool
            .submit({
                let waiting = waiting.clone();
                move || {
                    waiting.set();
                    *future.result().unwrap()
                }
            })
            .unwrap();
        waiting.wait();
        // The pool still runs tasks while the waiter waits: this one completes the promise.
        let completer = pool.submit(move || promise.set_result(round).unwrap()).unwrap();
        assert_eq!(get(&completer), Ok(&()));
        assert_eq!(get(&waiter), Ok(&round));
    }
    // Counters are final once the threads have exited.
    pool.shutdown(true, false);
    let stats = pool.stats();
    assert_eq!(pool.threads_started(), 1);
    assert_eq!(stats.slot_handoffs, 2);
    assert!(stats.spare_threads_started <= 2, "{stats:?}");
    assert_eq!(stats.submitted, stats.tasks_run(), "{stats:?}");
}

/// With `max_spare_threads(0)` a waiting task keeps its worker: the waiter's wait ends only
/// when someone outside completes what it waits for.
fn at_the_cap_a_waiter_keeps_its_worker(kind: SchedulerKind) {
    let pool = builder(kind).max_workers(1).max_spare_threads(0).build().unwrap();
    let (promise, future) = Promise::new();
    let waiting = Latch::one();
    let waiter = pool
        .submit({
            let waiting = waiting.clone();
            move || {
                waiting.set();
                *future.result().unwrap()
            }
        })
        .unwrap();
    waiting.wait();
    let queued = pool.submit(|| 5).unwrap();
    assert_eq!(queued.result_timeout(Duration::from_millis(50)), Err(FutureError::Timeout));
    promise.set_result(9).unwrap();
    assert_eq!(get(&waiter), Ok(&9));
    assert_eq!(get(&queued), Ok(&5));
    pool.shutdown(true, false);
    let stats = pool.stats();
    assert_eq!((stats.slot_handoffs, stats.spare_threads_started), (0, 0), "{stats:?}");
}

/// `join` of a test's task future, bounded by [`PATIENCE`].
trait JoinOrFail<T> {
    fn join_timeout_or_fail(self) -> T;
}

impl<T: Send + Sync + 'static> JoinOrFail<T> for stealpool::Future<T> {
    fn join_timeout_or_fail(self) -> T {
        match self.result_timeout(PATIENCE) {
            Err(FutureError::Timeout) => {
                panic!("the waiting task did not return within {PATIENCE:?}: deadlock")
            }
            _ => self.join().expect("the task returns"),
        }
    }
}
