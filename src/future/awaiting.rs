//! `.await` on a [`Future`]: `impl IntoFuture for Future<T>` (the owned value, as
//! [`Future::join`]) and for `&Future<T>` (a borrow, as [`Future::result`]).
//!
//! Polling never blocks and never helps: a pending poll registers a [`WakerSlot`] in the
//! future's waiter list (the list `result()`, `wait` and `as_completed` use) and returns
//! `Pending`; the completion takes the waker out of the slot and wakes it. A re-poll with a new
//! waker swaps it in and checks the state again after the swap, so a completion that raced the
//! swap is seen either by the check or through the slot (it publishes the terminal state before
//! it notifies). Dropping the awaiting future removes its registration.
//!
//! The crate's type is named `Future`, as Python's is; in a module that also uses
//! `std::future::Future` (in the 2024 prelude only as `IntoFuture`'s bound, not by name),
//! import it as `stealpool::Future as PoolFuture`, or write `stealpool::Future<T>`.

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::Future;
use super::state::is_terminal;
use super::task::Erased;
use crate::error::FutureError;
use crate::notify::Notify;
use crate::sync::{Arc, Mutex, lock, unwinding_a_failed_model};

/// The waker of one awaiting task, registered as a waiter.
struct WakerSlot {
    waker: Mutex<Option<Waker>>,
}

impl Notify for WakerSlot {
    fn notify(&self, _token: usize) {
        let waker = lock(&self.waker).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// A registration of one awaiting task with one future.
struct Registration {
    slot: Arc<WakerSlot>,
    id: u64,
}

/// Ready once the future is done; registers or refreshes the waker otherwise.
fn poll_done(erased: &dyn Erased, registration: &mut Option<Registration>, cx: &mut Context<'_>) -> Poll<()> {
    if is_terminal(erased.state()) {
        return Poll::Ready(());
    }
    match registration {
        Some(registration) => {
            {
                let mut waker = lock(&registration.slot.waker);
                match &*waker {
                    Some(current) if current.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
            }
            if is_terminal(erased.state()) { Poll::Ready(()) } else { Poll::Pending }
        }
        None => {
            let slot = Arc::new(WakerSlot { waker: Mutex::new(Some(cx.waker().clone())) });
            match erased.register(slot.clone(), 0) {
                None => Poll::Ready(()),
                Some(id) => {
                    *registration = Some(Registration { slot, id });
                    Poll::Pending
                }
            }
        }
    }
}

/// What `future.await` polls: resolves to the value, moved out as by [`Future::join`].
#[must_use = "futures do nothing unless awaited"]
pub struct AwaitValue<T: Send + 'static> {
    future: Option<Future<T>>,
    registration: Option<Registration>,
}

impl<T: Send + 'static> IntoFuture for Future<T> {
    type Output = Result<T, FutureError>;
    type IntoFuture = AwaitValue<T>;

    fn into_future(self) -> AwaitValue<T> {
        AwaitValue { future: Some(self), registration: None }
    }
}

impl<T: Send + 'static> std::future::Future for AwaitValue<T> {
    type Output = Result<T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let future = this.future.as_ref().expect("polled after it returned Ready");
        if poll_done(future.erased(), &mut this.registration, cx).is_pending() {
            return Poll::Pending;
        }
        let future = this.future.take().expect("checked above");
        if let Some(registration) = this.registration.take() {
            future.erased().unregister(registration.id);
        }
        Poll::Ready(future.take())
    }
}

impl<T: Send + 'static> Drop for AwaitValue<T> {
    fn drop(&mut self) {
        if unwinding_a_failed_model() {
            return;
        }
        if let (Some(future), Some(registration)) = (&self.future, &self.registration) {
            future.erased().unregister(registration.id);
        }
    }
}

/// What `(&future).await` polls: resolves to a borrow of the value, as [`Future::result`].
#[must_use = "futures do nothing unless awaited"]
pub struct AwaitRef<'a, T: Send + 'static> {
    future: &'a Future<T>,
    registration: Option<Registration>,
}

impl<'a, T: Send + 'static> IntoFuture for &'a Future<T> {
    type Output = Result<&'a T, FutureError>;
    type IntoFuture = AwaitRef<'a, T>;

    fn into_future(self) -> AwaitRef<'a, T> {
        AwaitRef { future: self, registration: None }
    }
}

impl<'a, T: Send + 'static> std::future::Future for AwaitRef<'a, T> {
    type Output = Result<&'a T, FutureError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let future = this.future;
        if poll_done(future.erased(), &mut this.registration, cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(registration) = this.registration.take() {
            future.erased().unregister(registration.id);
        }
        Poll::Ready(Future::value(future.core.outcome()?))
    }
}

impl<T: Send + 'static> Drop for AwaitRef<'_, T> {
    fn drop(&mut self) {
        if unwinding_a_failed_model() {
            return;
        }
        if let Some(registration) = &self.registration {
            self.future.erased().unregister(registration.id);
        }
    }
}
