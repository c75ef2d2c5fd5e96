//! `map`: input order, the timeout, a panic at its item, cancelling on early drop, the bounded
//! look-ahead of `buffersize`, and a shut-down pool (each scheduler).

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
    timeout_ends_the_iteration_at_the_late_item,
    panic_ends_the_iteration_at_its_item,
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

fn panic_ends_the_iteration_at_its_item(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let results: Vec<_> = pool
        .map(
            |i: u32| {
                if i == 3 {
                    panic!("item {i} failed");
                }
                i
            },
            0..10,
        )
        .unwrap()
        .collect();
    assert_eq!(results.len(), 4, "{results:?}");
    assert_eq!(results[..3], [Ok(0), Ok(1), Ok(2)]);
    let Err(FutureError::Panicked(panic)) = &results[3] else { panic!("expected the panic: {results:?}") };
    assert_eq!(panic.message(), "item 3 failed");
    // The pool still works.
    assert_eq!(pool.map(|i: u32| i + 1, [1]).unwrap().next(), Some(Ok(2)));
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
        // Each item taken lets one more in: never more than `buffersize` ahead.
        assert!(pulled.load(Ordering::SeqCst) <= expected + 1 + 3);
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
    assert!(stats.submitted <= 20 + 4, "submitted {} for 20 results", stats.submitted);
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
