//! The executor itself: building it (and refusing a configuration that could not start a
//! thread), lazy threads and their names, the initializer (and a panicking one), a thread that
//! cannot start, a panicking task, and thread-safety of the public types (each scheduler).

#[macro_use]
mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread;

use common::{Latch, PATIENCE, builder, get, hold_worker, pool};
use stealpool::{
    AnyFuture, BrokenReason, BuildError, Future, FutureError, PoolHandle, Promise, SchedulerKind,
    SubmitError, TaskPanic, ThreadPoolExecutor, default_max_workers,
};

static_assertions::assert_impl_all!(Future<i32>: Send, Sync, Clone);
static_assertions::assert_impl_all!(Future<Vec<String>>: Send, Sync, Clone);
static_assertions::assert_impl_all!(AnyFuture: Send, Sync, Clone);
static_assertions::assert_impl_all!(ThreadPoolExecutor: Send, Sync);
static_assertions::assert_impl_all!(PoolHandle: Send, Sync, Clone);
static_assertions::assert_impl_all!(Promise<i32>: Send, Sync);
static_assertions::assert_impl_all!(FutureError: Send, Sync, std::error::Error);
static_assertions::assert_impl_all!(SubmitError: Send, Sync, std::error::Error);
static_assertions::assert_impl_all!(BuildError: Send, Sync, std::error::Error);

scheduler_tests!(
    zero_workers_is_a_build_error,
    a_thread_name_prefix_with_a_nul_byte_is_a_build_error,
    a_stack_size_out_of_range_is_a_build_error,
    a_thread_that_cannot_start_breaks_the_pool_and_drop_returns,
    sequential_submit_and_result_start_exactly_one_thread,
    threads_start_lazily_and_never_exceed_max_workers,
    max_workers_tasks_run_at_once,
    idle_threads_are_reused,
    thread_names_carry_the_prefix,
    default_thread_names,
    initializer_runs_once_per_started_thread,
    panicking_initializer_breaks_the_pool,
    panicking_tasks_leave_the_pool_working,
    handles_submit_from_other_threads_and_do_not_shut_down,
    pinned_workers_run_on_their_slots_cpu,
    a_spare_thread_taking_a_slot_is_pinned_to_its_cpu,
    sleeping_workers_do_not_stand_in_for_threads_never_started,
);

#[test]
fn default_pool_has_the_default_size() {
    let expected = (thread::available_parallelism().map_or(1, |n| n.get()) + 4).min(32);
    assert_eq!(default_max_workers(), expected);
    let pool = ThreadPoolExecutor::default();
    assert_eq!(pool.max_workers(), expected);
    assert_eq!(get(&pool.submit(|| 1).unwrap()), Ok(&1));
    assert_eq!(ThreadPoolExecutor::builder().build().unwrap().max_workers(), expected);
}

fn zero_workers_is_a_build_error(kind: SchedulerKind) {
    assert!(matches!(builder(kind).max_workers(0).build(), Err(BuildError::ZeroWorkers)));
    assert!(matches!(ThreadPoolExecutor::new(0), Err(BuildError::ZeroWorkers)));
    let error = builder(kind).max_workers(0).build().unwrap_err();
    assert!(error.to_string().contains("max_workers"), "{error}");
}

fn a_thread_name_prefix_with_a_nul_byte_is_a_build_error(kind: SchedulerKind) {
    let error = builder(kind).thread_name_prefix("pool\0name").build().unwrap_err();
    assert!(matches!(&error, BuildError::InvalidThreadName(prefix) if prefix == "pool\0name"), "{error:?}");
    assert!(error.to_string().contains("NUL"), "{error}");
    // Any other text is a valid prefix.
    let pool = builder(kind).thread_name_prefix("tên luồng").max_workers(1).build().unwrap();
    let name = pool.submit(|| thread::current().name().map(str::to_owned)).unwrap().join().unwrap();
    assert_eq!(name.as_deref(), Some("tên luồng_0"));
}

fn a_stack_size_out_of_range_is_a_build_error(kind: SchedulerKind) {
    for bytes in [0, isize::MAX as usize + 1, usize::MAX] {
        let error = builder(kind).stack_size(bytes).build().unwrap_err();
        assert!(matches!(error, BuildError::InvalidStackSize(b) if b == bytes), "{error:?}");
    }
    // A size below the platform's minimum is raised to it.
    let pool = builder(kind).stack_size(1).max_workers(1).build().unwrap();
    assert_eq!(get(&pool.submit(|| 7).unwrap()), Ok(&7));
}

/// A stack no system can map (1 PiB, beyond the 47-bit address space): the thread cannot start,
/// the pool breaks with the reason, and dropping it returns (the submission in flight was
/// released).
fn a_thread_that_cannot_start_breaks_the_pool_and_drop_returns(kind: SchedulerKind) {
    if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
        return;
    }
    let pool = builder(kind).stack_size(1 << 50).max_workers(2).build().unwrap();
    let future = pool.submit(|| 1).expect("accepted before the pool knew it was broken");
    let Err(FutureError::Broken(why)) = get(&future) else { panic!("expected Broken: {future:?}") };
    let BrokenReason::ThreadSpawnFailed(error) = &why else { panic!("expected ThreadSpawnFailed: {why:?}") };
    assert!(error.raw_os_error().is_some(), "{error:?}");
    assert_eq!(why.to_string(), format!("could not start a worker thread: {error}"));
    assert_eq!(pool.submit(|| 2).unwrap_err(), SubmitError::Broken(why.clone()));
    let (dropped, receiver) = std::sync::mpsc::channel();
    thread::spawn(move || {
        drop(pool);
        dropped.send(()).unwrap();
    });
    receiver.recv_timeout(PATIENCE).expect("the pool's drop returns");
}

fn threads_start_lazily_and_never_exceed_max_workers(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    assert_eq!(pool.max_workers(), 3);
    assert_eq!(pool.threads_started(), 0, "no thread before the first submit");
    assert_eq!(get(&pool.submit(|| 1).unwrap()), Ok(&1));
    assert_eq!(pool.threads_started(), 1, "one task needs one thread");

    let names = Arc::new(Mutex::new(HashSet::new()));
    let submitters: Vec<_> = (0..4)
        .map(|_| {
            let (handle, names) = (pool.handle(), names.clone());
            thread::spawn(move || {
                let futures: Vec<_> = (0..250)
                    .map(|_| {
                        let names = names.clone();
                        handle
                            .submit(move || {
                                names.lock().unwrap().insert(thread::current().name().map(str::to_owned));
                            })
                            .unwrap()
                    })
                    .collect();
                common::wait_all(&futures);
            })
        })
        .collect();
    for submitter in submitters {
        submitter.join().unwrap();
    }
    assert!(pool.threads_started() <= 3, "{} threads", pool.threads_started());
    assert!(names.lock().unwrap().len() <= 3);
    pool.shutdown(true, false);
    assert!(pool.threads_started() <= 3);
}

fn max_workers_tasks_run_at_once(kind: SchedulerKind) {
    // `N` tasks that each wait for all the others need `N` threads at once. Each pool is first
    // warmed up with a few tasks, so that some threads exist and sit idle: an idle thread
    // counted by one submit must not be counted again by the next, or the last task would wait
    // for a thread that is never started.
    const N: usize = 4;
    for round in 0..20 {
        let pool = pool(kind, N);
        for i in 0..round % 3 {
            assert_eq!(get(&pool.submit(move || i).unwrap()), Ok(&i));
        }
        for future in &meeting(&pool, N) {
            assert_eq!(get(future), Ok(&true), "round {round}: a task waited for a thread");
        }
        assert_eq!(pool.threads_started(), N);
    }
}

/// Submits `n` tasks that each wait (up to [`PATIENCE`]) until all `n` have started; each
/// returns whether they all met, which needs `n` threads at once.
fn meeting(pool: &ThreadPoolExecutor, n: usize) -> Vec<Future<bool>> {
    let all_in = Latch::new(n);
    (0..n)
        .map(|_| {
            let all_in = all_in.clone();
            pool.submit(move || {
                all_in.count_down();
                all_in.wait_for(PATIENCE)
            })
            .unwrap()
        })
        .collect()
}

/// Tasks that must all run at once each get a thread, also right after the pool's workers went
/// to sleep: a parked worker is no reason to skip starting a thread, since one push may wake it
/// and the next ones (held back while it searches) would all count on it.
fn sleeping_workers_do_not_stand_in_for_threads_never_started(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    for future in &meeting(&pool, 2) {
        assert_eq!(get(future), Ok(&true), "a task waited for a thread");
    }
    // Both workers are parked (their counters say so) before the next tasks arrive.
    let deadline = std::time::Instant::now() + PATIENCE;
    while pool.stats().workers.iter().filter(|worker| worker.parks > 0).count() < 2 {
        assert!(std::time::Instant::now() < deadline, "the idle workers never parked");
        thread::yield_now();
    }
    for future in &meeting(&pool, 3) {
        assert_eq!(get(future), Ok(&true), "a task waited for a thread");
    }
    assert_eq!(pool.threads_started(), 3);
}

/// CPython reuses an idle thread instead of starting another: submit, wait for the result,
/// submit again, ... on an 8-worker pool runs on one thread.
fn sequential_submit_and_result_start_exactly_one_thread(kind: SchedulerKind) {
    let pool = pool(kind, 8);
    for i in 0..100 {
        assert_eq!(get(&pool.submit(move || i).unwrap()), Ok(&i));
    }
    assert_eq!(pool.threads_started(), 1);
}

/// Four tasks that wait for one another start all four threads; the next 200 tasks, each
/// submitted after the previous one finished, find an idle thread and start none.
fn idle_threads_are_reused(kind: SchedulerKind) {
    const N: usize = 4;
    let pool = pool(kind, N);
    for future in &meeting(&pool, N) {
        assert_eq!(get(future), Ok(&true), "a task waited for a thread");
    }
    assert_eq!(pool.threads_started(), N);
    for i in 0..200 {
        assert_eq!(get(&pool.submit(move || i).unwrap()), Ok(&i));
    }
    assert_eq!(pool.threads_started(), N);
}

fn thread_names_carry_the_prefix(kind: SchedulerKind) {
    let pool = builder(kind).max_workers(3).thread_name_prefix("crunch").build().unwrap();
    let all_in = Latch::new(3);
    let names: Vec<_> = (0..3)
        .map(|_| {
            let all_in = all_in.clone();
            pool.submit(move || {
                all_in.count_down();
                all_in.wait();
                thread::current().name().map(str::to_owned)
            })
            .unwrap()
        })
        .collect();
    let names: HashSet<_> = names.iter().map(|name| get(name).unwrap().clone().unwrap()).collect();
    let expected: HashSet<_> = (0..3).map(|i| format!("crunch_{i}")).collect();
    assert_eq!(names, expected);
}

fn default_thread_names(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let name = pool.submit(|| thread::current().name().map(str::to_owned)).unwrap();
    let name = get(&name).unwrap().clone().expect("worker threads are named");
    assert!(name.starts_with("ThreadPoolExecutor-") && name.ends_with("_0"), "{name}");
}

fn initializer_runs_once_per_started_thread(kind: SchedulerKind) {
    let initialized = Arc::new(Mutex::new(Vec::new()));
    let pool = builder(kind)
        .max_workers(4)
        .initializer({
            let initialized = initialized.clone();
            move || initialized.lock().unwrap().push(thread::current().id())
        })
        .build()
        .unwrap();
    assert!(initialized.lock().unwrap().is_empty(), "no thread, no initializer");
    let ran_on = Arc::new(Mutex::new(HashSet::new()));
    let all_in = Latch::new(4);
    let mut futures: Vec<_> = (0..4)
        .map(|_| {
            let (all_in, ran_on) = (all_in.clone(), ran_on.clone());
            pool.submit(move || {
                ran_on.lock().unwrap().insert(thread::current().id());
                all_in.count_down();
                all_in.wait();
            })
            .unwrap()
        })
        .collect();
    for _ in 0..200 {
        let ran_on = ran_on.clone();
        futures.push(
            pool.submit(move || {
                ran_on.lock().unwrap().insert(thread::current().id());
            })
            .unwrap(),
        );
    }
    common::wait_all(&futures);
    pool.shutdown(true, false);
    let initialized = initialized.lock().unwrap();
    let distinct: HashSet<_> = initialized.iter().copied().collect();
    assert_eq!(distinct.len(), initialized.len(), "once per thread");
    assert_eq!(initialized.len(), pool.threads_started());
    assert_eq!(initialized.len(), 4, "four tasks at once needed four threads");
    assert!(ran_on.lock().unwrap().is_subset(&distinct), "every task ran on an initialized thread");
}

fn panicking_initializer_breaks_the_pool(kind: SchedulerKind) {
    let pool = builder(kind).max_workers(2).initializer(|| panic!("no database")).build().unwrap();
    let mut accepted = Vec::new();
    for i in 0..20 {
        match pool.submit(move || i) {
            Ok(future) => accepted.push(future),
            Err(SubmitError::Broken(BrokenReason::InitializerPanicked(panic))) => {
                assert_eq!(panic.message(), "no database")
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(!accepted.is_empty(), "the first submit comes before any thread, so it is accepted");
    for future in &accepted {
        match future.result_timeout(PATIENCE) {
            Err(FutureError::Broken(BrokenReason::InitializerPanicked(panic))) => {
                assert_eq!(panic.message(), "no database")
            }
            other => panic!("expected Broken, got {other:?}"),
        }
        assert!(future.done() && !future.cancelled());
        assert!(matches!(future.exception(), Err(FutureError::Broken(BrokenReason::InitializerPanicked(_)))));
    }
    let refused = pool.submit(|| 0).unwrap_err();
    let reason = BrokenReason::InitializerPanicked(TaskPanic::new("no database"));
    assert_eq!(refused, SubmitError::Broken(reason));
    assert_eq!(
        refused.to_string(),
        "cannot schedule new tasks: the executor is broken: a worker's initializer panicked: no database"
    );
    assert!(matches!(pool.map(|i: i32| i, 0..3), Err(SubmitError::Broken(_))));
    pool.shutdown(true, false);
    let stats = pool.stats();
    assert_eq!(stats.tasks_run(), 0);
    assert_eq!(stats.submitted, stats.tasks_not_run(), "{stats:?}");
}

fn panicking_tasks_leave_the_pool_working(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let panicked: Vec<_> =
        (0..100).map(|i| pool.submit(move || -> u32 { panic!("task {i}") }).unwrap()).collect();
    let normal: Vec<_> = (0..100_u32).map(|i| pool.submit(move || i).unwrap()).collect();
    for (i, future) in panicked.iter().enumerate() {
        match get(future) {
            Err(FutureError::Panicked(panic)) => assert_eq!(panic.message(), format!("task {i}")),
            other => panic!("expected a panic, got {other:?}"),
        }
    }
    for (i, future) in normal.iter().enumerate() {
        assert_eq!(get(future), Ok(&(i as u32)));
    }
    assert_eq!(pool.threads_started(), 1, "the worker survived every panic");
    pool.shutdown(true, false);
    assert_eq!(pool.stats().tasks_run(), 200);
}

fn handles_submit_from_other_threads_and_do_not_shut_down(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let handle = pool.handle();
    let from_thread = thread::spawn({
        let handle = handle.clone();
        move || *get(&handle.submit(|| 5).unwrap()).unwrap()
    });
    assert_eq!(from_thread.join().unwrap(), 5);
    drop(handle);
    assert_eq!(get(&pool.submit(|| 6).unwrap()), Ok(&6), "dropping a handle does not shut down");
    let held = hold_worker(&pool);
    let handle = pool.handle();
    handle.shutdown(false, false);
    assert_eq!(pool.submit(|| 7).unwrap_err(), SubmitError::Shutdown, "a handle can shut down");
    held.release();
    assert!(format!("{handle:?}").contains("PoolHandle"));
}

/// With `pin_workers`, the thread of slot `i` runs on the `i`-th CPU the process may use
/// (wrapping around: three workers on two CPUs put slots 0 and 2 on the first).
#[cfg(target_os = "linux")]
fn pinned_workers_run_on_their_slots_cpu(kind: SchedulerKind) {
    use rustix::thread::{CpuSet, sched_getaffinity, sched_getcpu};
    let mask = sched_getaffinity(None).expect("the process's CPU mask");
    let allowed: Vec<usize> = (0..CpuSet::MAX_CPU).filter(|&cpu| mask.is_set(cpu)).collect();
    let pool = builder(kind).max_workers(3).thread_name_prefix("pinned").pin_workers(true).build().unwrap();
    // All three tasks run at once (each waits for the others), so on three threads.
    let all_running = Latch::new(3);
    let futures: Vec<_> = (0..3)
        .map(|_| {
            let all_running = all_running.clone();
            pool.submit(move || {
                let name = thread::current().name().map(str::to_owned).expect("a named worker");
                let cpu = sched_getcpu();
                let mask = sched_getaffinity(None).expect("the thread's CPU mask");
                let mask: Vec<usize> = (0..CpuSet::MAX_CPU).filter(|&cpu| mask.is_set(cpu)).collect();
                all_running.count_down();
                all_running.wait();
                (name, cpu, mask)
            })
            .unwrap()
        })
        .collect();
    let mut slots = HashSet::new();
    for future in &futures {
        let (name, cpu, mask) = get(future).unwrap();
        let slot: usize =
            name.strip_prefix("pinned_").and_then(|index| index.parse().ok()).expect("a slot's thread");
        let expected = allowed[slot % allowed.len()];
        assert_eq!(mask, &vec![expected], "{name}'s CPU mask; the process may use {allowed:?}");
        assert_eq!(*cpu, expected, "{name} ran on CPU {cpu}");
        slots.insert(slot);
    }
    assert_eq!(slots, HashSet::from([0, 1, 2]));
}

/// A task that waits hands its slot to a spare thread; with `pin_workers`, the spare runs on the
/// slot's CPU and the waiting thread is unpinned until it takes a slot again.
#[cfg(target_os = "linux")]
fn a_spare_thread_taking_a_slot_is_pinned_to_its_cpu(kind: SchedulerKind) {
    use rustix::thread::{CpuSet, sched_getaffinity};
    let cpus_of =
        |mask: CpuSet| -> Vec<usize> { (0..CpuSet::MAX_CPU).filter(|&cpu| mask.is_set(cpu)).collect() };
    let allowed = cpus_of(sched_getaffinity(None).expect("the process's CPU mask"));
    let pool = builder(kind).max_workers(1).thread_name_prefix("pinned").pin_workers(true).build().unwrap();
    let (promise, awaited) = Promise::<()>::new();
    // The only worker waits for a promise that the task queued behind it completes.
    let waiter = pool
        .submit(move || {
            let done = awaited.result_timeout(PATIENCE).is_ok();
            // Its slot went to the spare: this thread now runs on any of the process's CPUs.
            (done, cpus_of(sched_getaffinity(None).expect("the thread's CPU mask")))
        })
        .unwrap();
    let completer = pool
        .submit(move || {
            let name = thread::current().name().map(str::to_owned).expect("a named thread");
            let mask = cpus_of(sched_getaffinity(None).expect("the thread's CPU mask"));
            promise.set_result(()).expect("completed once");
            (name, mask)
        })
        .unwrap();
    let (name, mask) = get(&completer).unwrap();
    assert!(name.starts_with("pinned_spare_"), "a spare ran the completer: {name}");
    assert_eq!(mask, &vec![allowed[0]], "the spare took slot 0");
    assert_eq!(get(&waiter), Ok(&(true, allowed)));
}

#[cfg(not(target_os = "linux"))]
fn a_spare_thread_taking_a_slot_is_pinned_to_its_cpu(_kind: SchedulerKind) {}

#[cfg(not(target_os = "linux"))]
fn pinned_workers_run_on_their_slots_cpu(kind: SchedulerKind) {
    // Not Linux: the option is accepted and the pool works as without it.
    let pool = builder(kind).max_workers(2).pin_workers(true).build().unwrap();
    assert_eq!(get(&pool.submit(|| 7).unwrap()), Ok(&7));
}
