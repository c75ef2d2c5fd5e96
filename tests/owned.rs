//! Owned results and `.await`: `Future::join`, results that are only `Send`, panic payloads, a
//! future awaited from async code, and user drops that panic inside the crate's bookkeeping.

#[macro_use]
mod common;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use common::{Latch, PATIENCE, hold_worker, pool};
use stealpool::{FutureError, Promise, SchedulerKind};

scheduler_tests!(
    join_moves_the_value_out,
    join_with_another_handle_alive_is_shared,
    join_takes_a_value_that_is_neither_sync_nor_clone,
    join_gives_back_the_panic_payload,
    a_handle_made_after_join_sees_taken,
    map_moves_values_that_are_only_send,
    await_owned_and_borrowed,
    await_registers_and_is_woken,
    await_of_a_cancelled_future_is_cancelled,
    dropping_a_pending_await_is_harmless,
    cancel_with_a_panicking_closure_drop_still_wakes_the_waiter,
    cancel_futures_with_a_panicking_closure_drop_still_shuts_down,
);

fn join_moves_the_value_out(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let future = pool.submit(|| String::from("owned")).unwrap();
    assert_eq!(future.join(), Ok(String::from("owned")));
}

fn join_with_another_handle_alive_is_shared(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let future = pool.submit(|| vec![7]).unwrap();
    let other = future.clone();
    assert_eq!(future.join(), Err(FutureError::Shared));
    // The value stays where the remaining handle can borrow it, and that one can join.
    assert_eq!(other.result(), Ok(&vec![7]));
    assert_eq!(other.join(), Ok(vec![7]));
}

fn join_takes_a_value_that_is_neither_sync_nor_clone(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    // `RefCell` is `Send` but not `Sync`: the future stays on this thread, where `join` moves
    // the value out (here into an `Rc`, which is not even `Send`).
    let future = pool.submit(|| RefCell::new(5)).unwrap();
    let cell = future.join().unwrap();
    *cell.borrow_mut() += 1;
    let shared = Rc::new(cell);
    assert_eq!(*shared.borrow(), 6);
}

fn join_gives_back_the_panic_payload(kind: SchedulerKind) {
    #[derive(Debug, PartialEq)]
    struct Custom(u32);
    let pool = pool(kind, 1);
    let future = pool.submit(|| -> u8 { std::panic::panic_any(Custom(9)) }).unwrap();
    let Err(FutureError::Panicked(panic)) = future.join() else { panic!("the task panicked") };
    let resumed = catch_unwind(AssertUnwindSafe(|| panic.resume_unwind())).unwrap_err();
    assert_eq!(resumed.downcast_ref::<Custom>(), Some(&Custom(9)), "the original payload, re-raised");
}

fn a_handle_made_after_join_sees_taken(_kind: SchedulerKind) {
    let (promise, future) = Promise::new();
    promise.set_result(3).unwrap();
    assert_eq!(future.join(), Ok(3));
    let late = promise.future();
    assert!(late.done());
    assert_eq!(late.result(), Err(FutureError::Taken));
}

fn map_moves_values_that_are_only_send(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let cells: Vec<RefCell<usize>> =
        pool.map(RefCell::new, 0..50).unwrap().collect::<Result<_, _>>().expect("no item fails");
    assert_eq!(cells.iter().map(|cell| *cell.borrow()).collect::<Vec<_>>(), (0..50).collect::<Vec<_>>());
}

/// A current-thread tokio runtime: polls on this thread only, so a `Pending` must be woken.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(async {
        tokio::time::timeout(PATIENCE, future).await.expect("awaited in time: no lost wake-up")
    })
}

fn await_owned_and_borrowed(kind: SchedulerKind) {
    let pool = pool(kind, 2);
    let borrowed = pool.submit(|| 40).unwrap();
    let owned = pool.submit(|| String::from("two")).unwrap();
    let (sum, text) = block_on(async {
        let value = (&borrowed).await.unwrap();
        (*value + 2, owned.await.unwrap())
    });
    assert_eq!((sum, text.as_str()), (42, "two"));
}

fn await_registers_and_is_woken(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let gate = Latch::one();
    let future = common::gated(&pool, &gate, 11);
    let opener = {
        let gate = gate.clone();
        thread::spawn(move || {
            // Opens the gate once the awaiting side has (most likely) parked; correctness does
            // not depend on the order, only on the wake-up.
            thread::yield_now();
            gate.set();
        })
    };
    assert_eq!(block_on(future.into_future()), Ok(11));
    opener.join().unwrap();
}

fn await_of_a_cancelled_future_is_cancelled(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let future = pool.submit(|| 1).unwrap();
    let canceller = future.clone();
    let result = block_on(async move {
        let awaiting = async { (&future).await.copied() };
        let cancel = async {
            tokio::task::yield_now().await;
            assert!(canceller.cancel());
        };
        tokio::join!(awaiting, cancel).0
    });
    assert_eq!(result, Err(FutureError::Cancelled));
    held.release();
}

fn dropping_a_pending_await_is_harmless(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let gate = Latch::one();
    let future = common::gated(&pool, &gate, 5);
    // Poll once (registers), then drop the await: the completion must not wake a dead task.
    block_on(async {
        let mut awaiting = std::pin::pin!((&future).into_future());
        let first = futures_poll_once(awaiting.as_mut()).await;
        assert!(first.is_none(), "the gated task cannot be done yet");
    });
    gate.set();
    assert_eq!(common::get(&future), Ok(&5));
}

/// Polls `future` once; `Some` if it was ready.
async fn futures_poll_once<F: std::future::Future + Unpin>(mut future: F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut future).poll(cx) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

use std::future::IntoFuture;

/// Panics when dropped (once), counting the drops.
struct PanicOnDrop(Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("a closure's capture panicked in its drop");
        }
    }
}

fn cancel_with_a_panicking_closure_drop_still_wakes_the_waiter(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let drops = Arc::new(AtomicUsize::new(0));
    let capture = PanicOnDrop(drops.clone());
    let future = pool
        .submit(move || {
            let _keep = &capture;
        })
        .unwrap();
    let waiter = {
        let future = future.clone();
        let registered = Latch::one();
        let handle = thread::spawn({
            let registered = registered.clone();
            move || {
                registered.set();
                future.result_timeout(PATIENCE).map(|_| ())
            }
        });
        registered.wait();
        handle
    };
    assert!(future.cancel(), "cancel() itself does not unwind");
    assert_eq!(waiter.join().unwrap(), Err(FutureError::Cancelled), "the waiter was told, not left blocked");
    assert_eq!(drops.load(Ordering::SeqCst), 1, "the closure was dropped once");
    held.release();
}

fn cancel_futures_with_a_panicking_closure_drop_still_shuts_down(kind: SchedulerKind) {
    let pool = pool(kind, 1);
    let held = hold_worker(&pool);
    let drops = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..3)
        .map(|_| {
            let capture = PanicOnDrop(drops.clone());
            pool.submit(move || {
                let _keep = &capture;
            })
            .unwrap()
        })
        .collect();
    pool.shutdown(false, true);
    for future in &futures {
        assert_eq!(future.result_timeout(PATIENCE).map(|_| ()), Err(FutureError::Cancelled));
    }
    held.release();
    drop(pool);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}
