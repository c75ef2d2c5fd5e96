//! `map`: input order (also when later items finish first), the timeout, a panic at its item
//! with the iteration going on, cancelling on early drop, the bounded look-ahead of
//! `buffersize` (zero refused), a shutdown in the middle of a bounded map, and a shut-down pool
//! (each scheduler).

#[macro_use]
mod common;

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Latch, hold_worker, pool};
use stealpool::{FutureError, MapOptions, SchedulerKind, SubmitError};

scheduler_tests!(
    results_come_in_input_order,
    results_come_in_input_order_whatever_the_completion_order,
    empty_input_yields_nothing,
    result_type_need_not_be_sync_or_clone,
    an_item_is_yielded_only_after_the_items_before_it,
    an_item_is_yielded_only_after_the_items_before_it_with_a_buffersize,
    timeout_ends_the_iteration_at_the_late_item,
    a_panic_is_yielded_at_its_item_and_the_iteration_goes_on,
    collecting_into_a_result_stops_at_the_first_error,
    buffersize_zero_is_refused,
    a_refused_refill_fails_its_own_item_after_the_earlier_ones,
    dropping_the_iterator_cancels_what_has_not_started,
    buffersize_bounds_the_look_ahead,
    buffersize_reads_an_endless_input_lazily,
    chunksize_does_not_change_the_results,
    map_on_a_shut_down_pool_is_refused,
    map_through_a_handle,
);

fn results_come_in_input_order(kind: SchedulerKind) {
    let pool = pool(kind, 4);
    let doubled: Vec<u64> = pool.map(|n: u64| 2 * n, 0..500).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(doubled, (0..500).map(|n| 2 * n).collect::<Vec<_>>());
}

fn results_come_in_input_order_whatever_the_completion_order(kind: SchedulerKind) {
    // Item i finishes only after item i + 1: they complete in reverse order.
    const N: usize = 4;
    let pool = pool(kind, N);
    let finished: Arc<Vec<Latch>> = Arc::new((0..N).map(|_| Latch::one()).collect());
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let results: Vec<usize> = pool
        .map(
            {
                let (finished, order) = (finished.clone(), order.clone());
                move |i: usize| {
                    if i + 1 < N {
                        finished[i + 1].wait();
                    }
                    order.lock().unwrap().push(i);
                    finished[i].set();
                    i * 10
                }
            },
            0..N,
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(results, [0, 10, 20, 30]);
    assert_eq!(*order.lock().unwrap(), [3, 2, 1, 0]);
}

/// Items 1..N finish before item 0 is allowed to: a `map` that yielded a finished item before
/// the unfinished ones ahead of it would yield 10 first.
fn an_item_is_yielded_only_after_the_items_before_it(kind: SchedulerKind) {
    later_items_finish_first(kind, MapOptions::new());
}

fn an_item_is_yielded_only_after_the_items_before_it_with_a_buffersize(kind: SchedulerKind) {
    later_items_finish_first(kind, MapOptions::new().buffersize(4));
}

fn later_items_finish_first(kind: SchedulerKind, options: MapOptions) {
    const N: usize = 4;
    let pool = pool(kind, N);
    let gate = Latch::one();
    let later_done = Latch::new(N - 1);
    let mut results = pool
        .map_with(
            {
                let (gate, later_done) = (gate.clone(), later_done.clone());
                move |i: usize| {
                    if i == 0 {
                        gate.wait();
                    } else {
                        later_done.count_down();
                    }
                    i * 10
                }
            },
            0..N,
            options,
        )
        .unwrap();
    later_done.wait();
    gate.set();
    let yielded: Vec<usize> = results.by_ref().map(Result::unwrap).collect();
    assert_eq!(yielded, [0, 10, 20, 30]);
    assert_eq!(results.next(), None);
}

fn empty_input_yields_nothing(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let mut results = pool.map(|n: i32| n, Vec::new()).unwrap();
    assert!(results.next().is_none());
    assert!(results.next().is_none());
    assert_eq!(pool.stats().submitted, 0);
}

fn result_type_need_not_be_sync_or_clone(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let cells: Vec<Cell<u8>> = pool.map(Cell::new, 0..10_u8).unwrap().map(Result::unwrap).collect();
    assert_eq!(cells.iter().map(Cell::get).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
}

fn timeout_ends_the_iteration_at_the_late_item(kind: SchedulerKind) {
    let pool = pool(kind, 4);
    let gate = Latch::one();
    let quick_done = Latch::new(2);
    let mut results = pool
        .map_with(
            {
                let (gate, quick_done) = (gate.clone(), quick_done.clone());
                move |i: usize| {
                    if i < 2 {
                        quick_done.count_down();
                    } else {
                        gate.wait();
                    }
                    i
                }
            },
            0..4,
            MapOptions::new().timeout(Duration::from_millis(50)),
        )
        .unwrap();
    // Items 0 and 1 are finished before they are asked for: the deadline does not touch them.
    quick_done.wait();
    assert_eq!(results.next(), Some(Ok(0)));
    assert_eq!(results.next(), Some(Ok(1)));
    // Item 2 cannot finish before the gate opens: the timeout (from the call) ends the iteration
    // there, without waiting another timeout for item 3.
    assert_eq!(results.next(), Some(Err(FutureError::Timeout)));
    assert_eq!(results.next(), None);
    assert_eq!(results.next(), None);
    gate.set();
}

fn a_panic_is_yielded_at_its_item_and_the_iteration_goes_on(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let results: Vec<_> = pool
        .map(
            |i: u32| {
                if i == 3 || i == 7 {
                    panic!("item {i} failed");
                }
                i
            },
            0..10,
        )
        .unwrap()
        .collect();
    assert_eq!(results.len(), 10, "{results:?}");
    for (i, result) in results.iter().enumerate() {
        match result {
            Err(FutureError::Panicked(panic)) if i == 3 || i == 7 => {
                assert_eq!(panic.message(), format!("item {i} failed"));
            }
            Ok(value) if i != 3 && i != 7 => assert_eq!(*value as usize, i),
            other => panic!("item {i}: {other:?} in {results:?}"),
        }
    }
    // The pool still works.
    assert_eq!(pool.map(|i: u32| i + 1, [1]).unwrap().next(), Some(Ok(2)));
}

fn collecting_into_a_result_stops_at_the_first_error(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let collected: Result<Vec<u32>, FutureError> = pool
        .map(
            |i: u32| {
                if i == 2 {
                    panic!("item 2 failed");
                }
                i
            },
            0..6,
        )
        .unwrap()
        .collect();
    let Err(FutureError::Panicked(panic)) = collected else { panic!("expected the panic: {collected:?}") };
    assert_eq!(panic.message(), "item 2 failed");
}

fn buffersize_zero_is_refused(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let refused = pool.map_with(|i: i32| i, 0..3, MapOptions::new().buffersize(0));
    let Err(error) = refused else { panic!("buffersize(0) was accepted") };
    assert_eq!(error, SubmitError::InvalidArgument("buffersize must be greater than 0"));
    assert_eq!(error.to_string(), "invalid argument: buffersize must be greater than 0");
    assert_eq!(pool.stats().submitted, 0, "nothing is submitted");
    // An endless input is not read either.
    assert!(pool.map_with(|i: u64| i, 0.., MapOptions::new().buffersize(0)).is_err());
}

fn a_refused_refill_fails_its_own_item_after_the_earlier_ones(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let mut results = pool.map_with(|i: i32| i, 0..5, MapOptions::new().buffersize(2)).unwrap();
    // Items 0 and 1 are accepted; then the pool is closed (without waiting: they stay queued).
    pool.shutdown(false, false);
    held.release();
    // Taking item 0 tries to submit item 2, which is refused: items 0 and 1 still come, then
    // item 2's error, then nothing (items 3 and 4 are never read).
    assert_eq!(results.next(), Some(Ok(0)));
    assert_eq!(results.next(), Some(Ok(1)));
    let refused = results.next();
    assert_eq!(refused, Some(Err(FutureError::Refused(SubmitError::Shutdown))), "item 2's error");
    let Some(Err(error)) = refused else { unreachable!() };
    assert_eq!(error.to_string(), "the executor refused the item: cannot schedule new tasks after shutdown");
    assert_eq!(results.next(), None);
}

fn dropping_the_iterator_cancels_what_has_not_started(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let started = Latch::one();
    let gate = Latch::one();
    let calls = Arc::new(AtomicUsize::new(0));
    let results = pool
        .map(
            {
                let (started, gate, calls) = (started.clone(), gate.clone(), calls.clone());
                move |i: usize| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    if i == 0 {
                        started.set();
                        gate.wait();
                    }
                    i
                }
            },
            0..10,
        )
        .unwrap();
    // Item 0 runs on the only worker; items 1..10 are queued behind it.
    started.wait();
    drop(results);
    gate.set();
    pool.shutdown(true, false);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "only the started item ran");
    let stats = pool.stats();
    assert_eq!((stats.submitted, stats.tasks_run(), stats.tasks_not_run()), (10, 1, 9));
}

fn buffersize_bounds_the_look_ahead(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let pulled = Arc::new(AtomicUsize::new(0));
    let inputs = {
        let pulled = pulled.clone();
        (0..100_usize).inspect(move |_| {
            pulled.fetch_add(1, Ordering::SeqCst);
        })
    };
    let mut results = pool.map_with(|i| i * 2, inputs, MapOptions::new().buffersize(3)).unwrap();
    // Nothing has been consumed: exactly `buffersize` items were read and submitted.
    assert_eq!(pulled.load(Ordering::SeqCst), 3);
    assert_eq!(pool.stats().submitted, 1 + 3);
    held.release();
    for expected in 0..5 {
        assert_eq!(results.next(), Some(Ok(expected * 2)));
        // Each item taken lets exactly one more in: `buffersize` ahead of the consumer.
        assert_eq!(pulled.load(Ordering::SeqCst), expected + 1 + 3);
    }
    let rest: Vec<_> = results.map(Result::unwrap).collect();
    assert_eq!(rest, (5..100).map(|i| i * 2).collect::<Vec<_>>());
    assert_eq!(pulled.load(Ordering::SeqCst), 100);
}

fn buffersize_reads_an_endless_input_lazily(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let first: Vec<u64> = pool
        .map_with(|i: u64| i * i, 0.., MapOptions::new().buffersize(4))
        .unwrap()
        .take(20)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(first, (0..20).map(|i| i * i).collect::<Vec<_>>());
    pool.shutdown(true, false);
    let stats = pool.stats();
    // The first 4 at the call, then one more for each of the 20 taken.
    assert_eq!(stats.submitted, 20 + 4);
    assert_eq!(stats.submitted, stats.tasks_run() + stats.tasks_not_run());
}

fn chunksize_does_not_change_the_results(kind: SchedulerKind) {
    let pool = pool(kind, 3);
    let results: Vec<i32> = pool
        .map_with(|i: i32| -i, 0..50, MapOptions::new().chunksize(7).buffersize(5))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(results, (0..50).map(|i| -i).collect::<Vec<_>>());
}

fn map_on_a_shut_down_pool_is_refused(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    pool.shutdown(true, false);
    assert!(matches!(pool.map(|i: i32| i, 0..3), Err(SubmitError::Shutdown)));
    assert!(matches!(
        pool.map_with(|i: i32| i, 0.., MapOptions::new().buffersize(2)),
        Err(SubmitError::Shutdown)
    ));
}

fn map_through_a_handle(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let handle = pool.handle();
    // From inside a task of the same pool (the waiting worker helps).
    let inner = pool
        .submit(move || handle.map(|i: i32| i + 1, 0..20).unwrap().map(Result::unwrap).sum::<i32>())
        .unwrap();
    assert_eq!(common::get(&inner), Ok(&(1..=20).sum()));
    // With a bounded look-ahead, from inside a task on the only worker.
    let handle = pool.handle();
    let bounded = pool
        .submit(move || {
            let options = MapOptions::new().buffersize(2);
            handle.map_with(|i: i32| i * 3, 0..30, options).unwrap().map(Result::unwrap).sum::<i32>()
        })
        .unwrap();
    assert_eq!(common::get(&bounded), Ok(&(0..30).map(|i| i * 3).sum()));
}
