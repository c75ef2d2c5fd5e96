#![cfg(loom)]
//! Models of a task that blocks on a future it cannot run, against the task that completes it
//! (`src/thread_pool/worker.rs`, "Waiting without adding deadlocks"): the waiting task's thread
//! hands its worker slot to a spare thread, which runs the queued completer; without that
//! compensation, one worker is a deadlock.

mod support;

use stealpool::loom_api::Fault;
use stealpool::{Promise, SchedulerKind};
use support::{ModelPool, check_broken, check_capped};

/// The preemption bound of these models: with a worker, a spare thread and the test's thread,
/// a bound of 3 takes over three minutes per model; the hand-off races need two.
const PREEMPTIONS: usize = 2;

/// One worker. The first task waits for a promise that only the second task, queued behind it,
/// completes. A thread per task finishes this program; so must the pool.
fn block_vs_queued_completer(kind: SchedulerKind) {
    let pool = ModelPool::with_scheduler(1, kind);
    let (promise, future) = Promise::new();
    let waiter = pool.submit(move || *future.result().unwrap()).unwrap();
    let completer = pool.submit(move || promise.set_result(5).unwrap()).unwrap();
    assert_eq!(waiter.result(), Ok(&5));
    assert_eq!(completer.result(), Ok(&()));
}

#[test]
fn block_vs_queued_completer_compensates_work_stealing() {
    check_capped(PREEMPTIONS, || block_vs_queued_completer(SchedulerKind::WorkStealing));
}

#[test]
fn block_vs_queued_completer_compensates_shared_queue() {
    check_capped(PREEMPTIONS, || block_vs_queued_completer(SchedulerKind::SharedQueue));
}

/// Without compensation the waiter keeps the only worker and the completer never runs.
#[test]
#[should_panic(expected = "deadlock")]
fn block_vs_queued_completer_broken_no_compensation() {
    check_broken(Fault::NoCompensation, || block_vs_queued_completer(SchedulerKind::WorkStealing));
}
