//! `wait` and `as_completed`: blocking on many futures at once, of any result types.
//!
//! Both follow CPython's design (a waiter object installed on every pending future), without its
//! polling-free-but-late cancel notification: a cancel wakes them at once (see
//! [`crate::future`]). A [`Collector`] is registered with each pending future under a token (the
//! future's index); completions push their token and wake the blocked thread. Nothing polls: the
//! thread sleeps on its parker (a pool thread after stealing back awaited tasks of its pool and
//! handing its slot off, see `crate::blocking`) until a token arrives.
//!
//! Duplicates are handled as Python handles them (`set(fs)`): each distinct future is waited on,
//! returned and yielded once, at the position of its first occurrence.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::blocking::{self, Blocker};
use crate::error::FutureError;
use crate::future::{AnyFuture, Erased, Future};
use crate::notify::Notify;

use crate::sync::{Arc, Mutex, lock};

/// Anything `wait` and `as_completed` accept: a [`Future`] of any type, a reference to one, or
/// an [`AnyFuture`].
pub trait Waitable {
    #[doc(hidden)]
    fn erased_future(&self) -> &dyn Erased;
    #[doc(hidden)]
    fn erased_arc(&self) -> Arc<dyn Erased>;
}

impl<T: Send + 'static> Waitable for Future<T> {
    fn erased_future(&self) -> &dyn Erased {
        self.erased()
    }
    fn erased_arc(&self) -> Arc<dyn Erased> {
        self.erase().into_erased()
    }
}

impl Waitable for AnyFuture {
    fn erased_future(&self) -> &dyn Erased {
        self.erased()
    }
    fn erased_arc(&self) -> Arc<dyn Erased> {
        self.clone().into_erased()
    }
}

impl<W: Waitable + ?Sized> Waitable for &W {
    fn erased_future(&self) -> &dyn Erased {
        (**self).erased_future()
    }
    fn erased_arc(&self) -> Arc<dyn Erased> {
        (**self).erased_arc()
    }
}

/// Steal-back for `wait` and `as_completed` (see `crate::blocking`): on a thread of the pool
/// that owns them, and for untimed waits, runs pending awaited tasks inline, in input order,
/// until `enough()` holds. Returns whether it ran any.
fn steal_back_awaited<W: Waitable>(
    blocker: &Blocker,
    futures: &[W],
    deadline: Option<Instant>,
    enough: &dyn Fn() -> bool,
) -> bool {
    let Some(context) = blocker.steal_back_context().filter(|_| deadline.is_none()) else { return false };
    let mut ran = false;
    for future in futures {
        if enough() {
            break;
        }
        let erased = future.erased_future();
        if erased.pool_id() == context.pool_id() {
            ran |= crate::future::steal_back(context, erased, || future.erased_arc());
        }
    }
    ran
}

/// When [`wait`] returns (Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`).
///
/// ```
/// use std::time::Duration;
/// use stealpool::{ReturnWhen, ThreadPoolExecutor, wait};
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let (hold, held) = std::sync::mpsc::channel::<()>();
/// let slow = pool.submit(move || held.recv().is_ok())?;
/// let failing = pool.submit(|| -> bool { panic!("no") })?;
/// let futures = [slow.clone(), failing];
/// // The panic ends the wait at once, although `slow` is still running.
/// let (done, not_done) = wait(&futures, Some(Duration::from_secs(60)), ReturnWhen::FirstException);
/// assert_eq!((done.len(), not_done.len()), (1, 1));
/// assert!(done[0].exception()?.is_some());
/// hold.send(())?;
/// let (done, _) = wait(&futures, None, ReturnWhen::AllCompleted);
/// assert_eq!(done.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReturnWhen {
    /// As soon as any future finishes or is cancelled.
    FirstCompleted,
    /// As soon as any future finishes by panicking (or failing); if none does, when all are done.
    FirstException,
    /// When every future is done.
    #[default]
    AllCompleted,
}

/// Receives completions of many futures and wakes whichever thread currently waits on them.
struct Collector {
    state: Mutex<CollectorState>,
}

struct CollectorState {
    /// Tokens (indices) of the futures that completed, in completion order.
    completed: VecDeque<usize>,
    /// The blocked thread, if one is blocked.
    waiter: Option<Arc<dyn Notify>>,
    /// Tokens received so far.
    received: usize,
    /// Wake the waiter only once this many tokens arrived: 1 for `as_completed` and the
    /// `First*` conditions, every registered future for `AllCompleted` (one wake-up per wait
    /// instead of one per completion).
    wake_after: usize,
}

impl Collector {
    fn new() -> Arc<Self> {
        Arc::new(Collector {
            state: Mutex::new(CollectorState {
                completed: VecDeque::new(),
                waiter: None,
                received: 0,
                wake_after: 1,
            }),
        })
    }

    fn set_waiter(&self, waiter: Option<Arc<dyn Notify>>) {
        lock(&self.state).waiter = waiter;
    }

    /// Installs the waiter, to be woken once `wake_after` tokens arrived in all.
    fn set_waiter_after(&self, waiter: Arc<dyn Notify>, wake_after: usize) {
        let mut state = lock(&self.state);
        state.waiter = Some(waiter);
        state.wake_after = wake_after.max(1);
    }

    fn pop(&self) -> Option<usize> {
        lock(&self.state).completed.pop_front()
    }

    fn is_empty(&self) -> bool {
        lock(&self.state).completed.is_empty()
    }
}

impl Notify for Collector {
    fn notify(&self, token: usize) {
        #[cfg(loom)]
        if crate::faults::injected(crate::faults::Fault::SplitCollectorNotify) {
            let waiter = lock(&self.state).waiter.clone();
            lock(&self.state).completed.push_back(token);
            if let Some(waiter) = waiter {
                waiter.notify(token);
            }
            return;
        }
        // Push and read the waiter under one lock: a waiter installed before this push is woken,
        // one installed after sees the token when it checks (no lost wake-up).
        let waiter = {
            let mut state = lock(&self.state);
            state.completed.push_back(token);
            state.received += 1;
            if state.received >= state.wake_after { state.waiter.clone() } else { None }
        };
        if let Some(waiter) = waiter {
            waiter.notify(token);
        }
    }
}

/// Registrations of one collector with many futures, removed on drop so that a long-lived
/// future does not keep a finished wait's collector alive.
struct Registrations {
    entries: Vec<(usize, u64)>,
}

impl Registrations {
    fn remove<W: Waitable>(&mut self, futures: &[W]) {
        for (index, id) in self.entries.drain(..) {
            futures[index].erased_future().unregister(id);
        }
    }
}

/// Keeps the first occurrence of each distinct future.
fn distinct<W: Waitable>(futures: impl IntoIterator<Item = W>) -> Vec<W> {
    let futures = futures.into_iter();
    // Sized up front: growing the set rehashes every identity seen so far, several times over
    // for a large wait.
    let mut seen = HashSet::with_capacity(futures.size_hint().0);
    futures.filter(|future| seen.insert(future.erased_future().identity())).collect()
}

fn is_done(future: &dyn Erased) -> bool {
    crate::future::is_terminal(future.state())
}

fn owns_work<W: Waitable>(futures: &[W]) -> impl Fn(usize) -> bool + '_ {
    move |pool_id| futures.iter().any(|future| future.erased_future().pool_id() == pool_id)
}

/// Waits for the futures according to `return_when`, at most `timeout` (`None`: no limit).
///
/// Returns `(done, not_done)`, each in the order of the input, duplicates removed, like
/// Python's pair of sets. A timeout is not an error: the futures still pending are in
/// `not_done`. Accepts futures of different result types through [`Waitable`].
///
/// ```
/// use std::time::Duration;
/// use stealpool::{ReturnWhen, ThreadPoolExecutor, wait};
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let (hold, held) = std::sync::mpsc::channel::<()>();
/// let quick = pool.submit(|| 1)?;
/// let slow = pool.submit(move || held.recv().map_or(0, |()| 2))?;
/// let futures = vec![quick, slow];
///
/// let (done, not_done) = wait(&futures, None, ReturnWhen::FirstCompleted);
/// assert_eq!((done.len(), not_done.len()), (1, 1));
/// assert_eq!(done[0].result(), Ok(&1));
///
/// // A timeout is not an error: what is still pending is in `not_done`.
/// let (_, not_done) = wait(&futures, Some(Duration::from_millis(10)), ReturnWhen::AllCompleted);
/// assert_eq!(not_done.len(), 1);
/// hold.send(())?;
/// let (done, not_done) = wait(&futures, None, ReturnWhen::AllCompleted);
/// assert_eq!((done.len(), not_done.len()), (2, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn wait<W: Waitable>(
    futures: impl IntoIterator<Item = W>,
    timeout: Option<Duration>,
    return_when: ReturnWhen,
) -> (Vec<W>, Vec<W>) {
    let deadline = blocking::deadline_after(timeout);
    let futures = distinct(futures);
    wait_distinct(&futures, deadline, return_when);
    futures.into_iter().partition(|future| is_done(future.erased_future()))
}

fn condition_holds<W: Waitable>(futures: &[W], return_when: ReturnWhen) -> bool {
    let mut done = futures.iter().map(|future| future.erased_future()).filter(|future| is_done(*future));
    match return_when {
        ReturnWhen::FirstCompleted => done.next().is_some() || futures.is_empty(),
        ReturnWhen::FirstException => {
            done.any(|future| future.raised()) || futures.iter().all(|f| is_done(f.erased_future()))
        }
        ReturnWhen::AllCompleted => futures.iter().all(|f| is_done(f.erased_future())),
    }
}

fn wait_distinct<W: Waitable>(futures: &[W], deadline: Option<Instant>, return_when: ReturnWhen) {
    if condition_holds(futures, return_when) || blocking::expired(deadline) {
        return;
    }
    let collector = Collector::new();
    let mut registrations = Registrations { entries: Vec::new() };
    // A future that completes between the check above and its registration is not registered
    // and sends no token: count it here, or `FirstCompleted` would wait for a token that never
    // comes (found by the loom model `wait_first_completed_vs_completion_wakes`).
    let mut found_done = 0usize;
    let mut found_raised = false;
    for (index, future) in futures.iter().enumerate() {
        match future.erased_future().register(collector.clone(), index) {
            Some(id) => registrations.entries.push((index, id)),
            None => {
                found_done += 1;
                found_raised |= future.erased_future().raised();
            }
        }
    }
    let blocker = Blocker::new(owns_work(futures));
    steal_back_awaited(&blocker, futures, deadline, &|| condition_holds(futures, return_when));
    let wake_after = match return_when {
        ReturnWhen::AllCompleted => registrations.entries.len(),
        ReturnWhen::FirstCompleted | ReturnWhen::FirstException => 1,
    };
    collector.set_waiter_after(blocker.notifier(), wake_after);
    // Count completions as they arrive instead of rescanning every future on each wake-up, so
    // waiting for all of n futures costs O(n), not O(n^2). Each future is counted once: either
    // found done above, or through the one token its completion sends to a registration.
    let completed = std::cell::Cell::new(found_done);
    let raised = std::cell::Cell::new(found_raised);
    let ready = || {
        while let Some(index) = collector.pop() {
            completed.set(completed.get() + 1);
            if futures[index].erased_future().raised() {
                raised.set(true);
            }
        }
        match return_when {
            ReturnWhen::FirstCompleted => completed.get() > 0,
            ReturnWhen::FirstException => raised.get() || completed.get() == futures.len(),
            ReturnWhen::AllCompleted => completed.get() == futures.len(),
        }
    };
    blocker.block_until(&ready, deadline);
    collector.set_waiter(None);
    registrations.remove(futures);
}

/// Yields the futures as they complete: those already done first (in input order), then each
/// as it finishes or is cancelled. Each distinct future is yielded once.
///
/// If `timeout` (counted from this call) runs out first, the iterator yields one
/// `Err(FutureError::Timeout)` and ends, like Python raising `TimeoutError` from the loop.
///
/// ```
/// use std::time::Duration;
/// use stealpool::{FutureError, ThreadPoolExecutor, as_completed};
///
/// let pool = ThreadPoolExecutor::new(3)?;
/// let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
/// let last = pool.submit(move || wait_for_go.recv().map_or(0, |()| 1))?;
/// let first = pool.submit(|| 2)?;
/// let futures = vec![last, first];
///
/// // `first` finishes while `last` waits: it comes out first, whatever the input order.
/// let mut completed = as_completed(&futures, Some(Duration::from_secs(60)));
/// assert_eq!(completed.next().unwrap()?.result(), Ok(&2));
/// go.send(())?;
/// assert_eq!(completed.next().unwrap()?.result(), Ok(&1));
/// assert!(completed.next().is_none());
///
/// // A timeout ends the loop with one error.
/// let (_keep, never_sent) = std::sync::mpsc::channel::<()>();
/// let never = pool.submit(move || never_sent.recv().is_ok())?;   // runs until `_keep` drops
/// let mut timed = as_completed([never], Some(Duration::from_millis(10)));
/// assert!(matches!(timed.next(), Some(Err(FutureError::Timeout))));
/// assert!(timed.next().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn as_completed<W: Waitable>(
    futures: impl IntoIterator<Item = W>,
    timeout: Option<Duration>,
) -> AsCompleted<W> {
    let deadline = blocking::deadline_after(timeout);
    let futures = distinct(futures);
    let collector = Collector::new();
    let mut ready = VecDeque::new();
    let mut registrations = Registrations { entries: Vec::new() };
    for (index, future) in futures.iter().enumerate() {
        match future.erased_future().register(collector.clone(), index) {
            Some(id) => registrations.entries.push((index, id)),
            None => ready.push_back(index),
        }
    }
    let remaining = futures.len();
    AsCompleted {
        futures: futures.into_iter().map(Some).collect(),
        ready,
        collector,
        registrations,
        remaining,
        deadline,
    }
}

/// The iterator returned by [`as_completed`] (an example is there): futures in completion
/// order, each distinct one once, then one `Err(FutureError::Timeout)` if time runs out.
/// Dropping it stops listening to the futures that are still pending.
pub struct AsCompleted<W: Waitable> {
    futures: Vec<Option<W>>,
    /// Futures found done at the call, yielded first.
    ready: VecDeque<usize>,
    collector: Arc<Collector>,
    registrations: Registrations,
    /// Futures not yet yielded; 0 once finished or timed out.
    remaining: usize,
    deadline: Option<Instant>,
}

impl<W: Waitable> AsCompleted<W> {
    fn take(&mut self, index: usize) -> Option<Result<W, FutureError>> {
        self.remaining -= 1;
        let future = self.futures[index].take().expect("each future completes once");
        Some(Ok(future))
    }

    /// The next completion recorded and not yet yielded (a future yielded after a scan may
    /// still have its token in the collector).
    fn pop_recorded(&mut self) -> Option<usize> {
        if let Some(index) = self.ready.pop_front() {
            return Some(index);
        }
        while let Some(index) = self.collector.pop() {
            if self.futures[index].is_some() {
                return Some(index);
            }
        }
        None
    }

    /// A future not yet yielded that is done although its completion has not reached the
    /// collector yet (its state is published before its listeners are notified).
    fn find_done(&self) -> Option<usize> {
        self.futures
            .iter()
            .position(|future| future.as_ref().is_some_and(|future| is_done(future.erased_future())))
    }

    fn unregister_all(&mut self) {
        for (index, id) in self.registrations.entries.drain(..) {
            if let Some(future) = &self.futures[index] {
                future.erased_future().unregister(id);
            }
        }
    }
}

impl<W: Waitable> Iterator for AsCompleted<W> {
    type Item = Result<W, FutureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        if let Some(index) = self.pop_recorded() {
            return self.take(index);
        }
        let pending: Vec<&W> = self.futures.iter().flatten().collect();
        let blocker = Blocker::new(owns_work(&pending));
        // A task run inline here completes before this returns, and its registration has put
        // its token in the collector.
        let collector = &self.collector;
        if steal_back_awaited(&blocker, &pending, self.deadline, &|| !collector.is_empty())
            && let Some(index) = self.pop_recorded()
        {
            return self.take(index);
        }
        self.collector.set_waiter(Some(blocker.notifier()));
        let collector = &self.collector;
        blocker.block_until(&|| !collector.is_empty(), self.deadline);
        self.collector.set_waiter(None);
        match self.pop_recorded().or_else(|| self.find_done()) {
            Some(index) => self.take(index),
            None => {
                self.remaining = 0;
                self.unregister_all();
                Some(Err(FutureError::Timeout))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining + 1))
    }
}

impl<W: Waitable> Drop for AsCompleted<W> {
    /// Takes the collector off every future still pending (a registration left behind only
    /// costs a wake-up nobody reads, so it is safe to skip).
    ///
    /// While the thread unwinds, a second panic escaping this drop would abort the process (a
    /// failed loom model unwinds through here, and loom panics again on any access to its
    /// primitives after the failure): then the work runs under `catch_unwind` and a panic is
    /// dropped.
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.unregister_all()));
        } else {
            self.unregister_all();
        }
    }
}

impl<W: Waitable> std::iter::FusedIterator for AsCompleted<W> {}
