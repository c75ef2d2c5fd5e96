#![cfg(loom)]
//! Models of new work racing a worker going to sleep (`src/scheduler/sleep.rs`, "no lost
//! wake-up"): the task is always run. A lost wake-up shows as a deadlock (the worker parked with
//! the task queued and nobody left to wake it), which loom reports as `deadlock; threads = [...]`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use loom::thread;
use stealpool::SchedulerKind;
use stealpool::loom_api::{Fault, Run, Stealing, Task};
use support::{ModelPool, check, check_broken, check_broken_capped, check_capped};

/// The work-stealing scheduler alone: a push from outside races the one worker's search, spin
/// and park.
fn push_vs_park() {
    let scheduler = Arc::new(Stealing::new(1));
    let local = scheduler.worker(0);
    let (task, future) = Task::new(|| 7);
    let worker = thread::spawn({
        let scheduler = scheduler.clone();
        move || {
            loop {
                if let Some(task) = scheduler.next_task(&local) {
                    return task.run();
                }
                scheduler.park(&local, &|| false);
            }
        }
    });
    scheduler.push_external(task);
    assert_eq!(worker.join().unwrap(), Run::Ran);
    assert_eq!(future.result(), Ok(&7));
}

#[test]
fn push_vs_park_no_lost_wakeup() {
    check(push_vs_park);
}

/// Parking right after registering, without the fence and the re-check: the push looked for
/// sleepers before the registration, and the worker sleeps on a queued task.
#[test]
#[should_panic(expected = "deadlock")]
fn push_vs_park_broken_skip_recheck() {
    check_broken(Fault::SkipSleepRecheck, push_vs_park);
}

/// The sleep protocol without its two `SeqCst` fences (and the sleeper count read `Relaxed`):
/// the push reads no sleeper while the worker's re-check reads an empty queue (the queue's
/// emptiness check is racy, as crossbeam's is), and the worker sleeps on a queued task.
#[test]
#[should_panic(expected = "deadlock")]
fn push_vs_park_broken_no_fences() {
    check_broken(Fault::NoSleepFences, push_vs_park);
}

/// Starts `count` worker threads on `scheduler`: each runs tasks, parks when it finds none, and
/// returns how many tasks it ran once `done` is set (and it is woken).
fn spawn_workers(
    scheduler: &Arc<Stealing>,
    done: &Arc<AtomicBool>,
    count: usize,
) -> Vec<thread::JoinHandle<usize>> {
    (0..count)
        .map(|index| {
            let (scheduler, done) = (scheduler.clone(), done.clone());
            let local = scheduler.worker(index);
            thread::spawn(move || {
                let mut ran = 0;
                while !done.load(SeqCst) {
                    match scheduler.next_task(&local) {
                        Some(task) => ran += usize::from(task.run() == Run::Ran),
                        None => scheduler.park(&local, &|| done.load(SeqCst)),
                    }
                }
                ran
            })
        })
        .collect()
}

/// Two workers, one task: whichever worker the push wakes (or finds awake) runs it; then the
/// owner wakes both to exit (the shutdown wake-up, `wake_all`), which must reach a worker however
/// far it got into going to sleep.
fn push_vs_two_workers() {
    let scheduler = Arc::new(Stealing::new(2));
    let done = Arc::new(AtomicBool::new(false));
    let workers = spawn_workers(&scheduler, &done, 2);
    let (task, future) = Task::new(|| 7);
    scheduler.push_external(task);
    assert_eq!(future.result(), Ok(&7));
    done.store(true, SeqCst);
    scheduler.wake_all();
    let ran: usize = workers.into_iter().map(|worker| worker.join().unwrap()).sum();
    assert_eq!(ran, 1);
}

/// Capped at two preemptions: with the deques' racy emptiness checks, three take over six
/// minutes (two are what each twin's bug needs; see `support::TWIN_MIN_PREEMPTIONS`).
#[test]
fn push_vs_two_workers_no_lost_wakeup() {
    check_capped(2, push_vs_two_workers);
}

#[test]
#[should_panic(expected = "deadlock")]
fn push_vs_two_workers_broken_skip_recheck() {
    check_broken(Fault::SkipSleepRecheck, push_vs_two_workers);
}

/// Two sleeping workers, two pushes: the first push wakes one worker (now searching), the second
/// is gated (no wake-up while a searcher looks). The first task waits for the second, so the
/// second must get the other worker: the searcher, on finding work, wakes it for what is left.
fn gated_push_vs_two_workers() {
    let scheduler = Arc::new(Stealing::new(2));
    let done = Arc::new(AtomicBool::new(false));
    let workers = spawn_workers(&scheduler, &done, 2);
    let (second, second_done) = Task::new(|| 2);
    let (first, first_done) = Task::new(move || *second_done.result().unwrap() + 1);
    scheduler.push_external(first);
    scheduler.push_external(second);
    assert_eq!(first_done.result(), Ok(&3));
    done.store(true, SeqCst);
    scheduler.wake_all();
    for worker in workers {
        worker.join().unwrap();
    }
}

/// Capped at two preemptions, as `push_vs_two_workers`.
#[test]
fn gated_push_vs_two_workers_no_lost_wakeup() {
    check_capped(2, gated_push_vs_two_workers);
}

/// At bound 2 loom meets the deadlock in about 20 s; at bound 3 it did not within 10 minutes.
#[test]
#[should_panic(expected = "deadlock")]
fn gated_push_vs_two_workers_broken_no_search_chain() {
    check_broken_capped(Fault::NoSearchChain, 2, gated_push_vs_two_workers);
}

/// The whole pool: its one worker finishes a first task and goes idle while the owner submits a
/// second, which must run (the pool starts no second thread: it is at `max_workers`).
fn submit_vs_idle_worker() {
    submit_vs_idle_worker_on(SchedulerKind::WorkStealing);
}

/// The same on the shared-queue scheduler (one queue for all workers, the same sleep protocol).
fn submit_vs_idle_worker_shared_queue() {
    submit_vs_idle_worker_on(SchedulerKind::SharedQueue);
}

fn submit_vs_idle_worker_on(kind: SchedulerKind) {
    let pool = ModelPool::with_scheduler(1, kind);
    let first = pool.submit(|| 1).unwrap();
    assert_eq!(first.result(), Ok(&1));
    let second = pool.submit(|| 2).unwrap();
    assert_eq!(second.result(), Ok(&2));
    assert_eq!(pool.threads_started(), 1);
}

#[test]
fn submit_vs_idle_worker_no_lost_wakeup() {
    check(submit_vs_idle_worker);
}

#[test]
#[should_panic(expected = "deadlock")]
fn submit_vs_idle_worker_broken_skip_recheck() {
    check_broken(Fault::SkipSleepRecheck, submit_vs_idle_worker);
}

#[test]
fn submit_vs_idle_worker_shared_queue_no_lost_wakeup() {
    check(submit_vs_idle_worker_shared_queue);
}

/// The worker parks right after registering as a sleeper, without the fence and the re-check
/// of the shared queue: the submit's push falls in between, and the worker sleeps with the task
/// queued.
#[test]
#[should_panic(expected = "deadlock")]
fn submit_vs_idle_worker_shared_queue_broken_skip_recheck() {
    check_broken(Fault::SkipSleepRecheck, submit_vs_idle_worker_shared_queue);
}
