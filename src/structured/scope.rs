//! `scope(|s| { s.submit(..); })`: tasks that may borrow from the enclosing stack, as
//! `std::thread::scope` and `rayon::scope` allow, with the executor's own `submit` and `Future`.
//!
//! # Algorithm
//!
//! A scope counts the closures it submitted that are still alive (`pending`). Each closure is
//! wrapped in a [`Scoped`] whose fields drop in declaration order: the closure first, then the
//! [`PendingGuard`] that takes it out of the count. A closure is consumed when its task runs, or
//! dropped unrun when its task is cancelled, failed by a broken pool, or refused at submission;
//! in every case the guard's drop follows. When the scope's body returns (or panics), `scope`:
//!
//! 1. waits for every future submitted through the scope, as `wait(.., ALL_COMPLETED)` does
//!    (steal-back of tasks still queued on a worker of the pool, else a compensated block), in
//!    rounds, since tasks may submit more;
//! 2. blocks until `pending` is zero: every closure, and with it every borrow of the enclosing
//!    stack, is gone (the last guard unparks the scope's thread);
//! 3. waits once more for the futures submitted during step 2, whose closures are gone, so that
//!    every future of the scope is done when `scope` returns;
//! 4. returns the body's value, or resumes its panic.
//!
//! A task's panic is captured in its future, as with `submit`; the scope does not re-raise it.
//!
//! # Why the closures may borrow
//!
//! A closure of lifetime `'scope` is queued as a `'static` one (its lifetime erased), which is
//! sound because `scope` does not return, by value or by unwinding, before step 2 has seen the
//! closure dropped, and `'scope` outlives the `scope` call (the body only sees the scope through
//! a `&'scope Scope`, which it cannot keep beyond the call: the signature is `std::thread::scope`'s).

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::blocking::{self, Blocker};
use crate::error::SubmitError;
use crate::future::{AnyFuture, Future};
use crate::parker::Parker;
use crate::sync::{Arc, AtomicUsize, Mutex, Ordering, lock};
use crate::thread_pool::PoolHandle;
use crate::wait::{ReturnWhen, wait};

/// A scope of tasks that may borrow from the stack of the code that opened it (see
/// [`ThreadPoolExecutor::scope`](crate::ThreadPoolExecutor::scope)).
pub struct Scope<'scope, 'env: 'scope> {
    pool: PoolHandle,
    state: Arc<ScopeState>,
    /// Invariant in `'scope`, as `std::thread::Scope`: a scope cannot be shortened to let a
    /// task borrow something that lives less long.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// What a scope's tasks share with the thread that opened it.
struct ScopeState {
    /// Closures submitted and not yet consumed or dropped.
    pending: AtomicUsize,
    /// Futures of the tasks submitted since the scope last collected them.
    submitted: Mutex<Vec<AnyFuture>>,
    /// The parker of the thread that opened the scope.
    owner: Arc<Parker>,
}

/// Takes a closure out of its scope's count when dropped.
struct PendingGuard(Arc<ScopeState>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        if self.0.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.owner.unpark();
        }
    }
}

/// A scoped closure with its lifetime erased, and its guard.
struct Scoped<T> {
    /// Declared first: dropped before `_guard` (fields drop in declaration order).
    func: Option<Box<dyn FnOnce() -> T + Send + 'static>>,
    _guard: PendingGuard,
}

impl<T> Scoped<T> {
    fn run(mut self) -> T {
        let func = self.func.take().expect("a scoped closure runs once");
        func()
        // `func` was consumed by the call; `self` (and its guard) drops here.
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Schedules `task`, which may borrow anything that outlives the scope, and returns its
    /// future (see [`ThreadPoolExecutor::submit`](crate::ThreadPoolExecutor::submit)). The
    /// scope does not end before the task has finished.
    ///
    /// A task cannot borrow what the scope's body itself owns, since that dies before the
    /// scope ends:
    ///
    /// ```compile_fail
    /// let pool = stealpool::ThreadPoolExecutor::new(2).unwrap();
    /// pool.scope(|s| {
    ///     let local = 5;
    ///     s.submit(|| local + 1).unwrap(); // error: `local` does not live long enough
    /// });
    /// ```
    pub fn submit<T, F>(&'scope self, task: F) -> Result<Future<T>, SubmitError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'scope,
    {
        let func: Box<dyn FnOnce() -> T + Send + 'scope> = Box::new(task);
        // SAFETY: only the lifetime changes (same type, same layout). The closure is dropped
        // before its guard (field order of `Scoped`), and `scope` returns only after every guard
        // has been dropped (module documentation), so nothing the closure borrows for `'scope`
        // is used after `'scope` ends.
        #[allow(unsafe_code)]
        let func: Box<dyn FnOnce() -> T + Send + 'static> = unsafe { std::mem::transmute(func) };
        self.state.pending.fetch_add(1, Ordering::Relaxed);
        let scoped = Scoped { func: Some(func), _guard: PendingGuard(self.state.clone()) };
        let future = self.pool.submit(move || scoped.run())?;
        lock(&self.state.submitted).push(future.erase());
        Ok(future)
    }

    /// A handle on the scope's pool, for submitting `'static` tasks as usual.
    pub fn pool(&self) -> &PoolHandle {
        &self.pool
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").field("pending", &self.state.pending.load(Ordering::Relaxed)).finish()
    }
}

/// See the module documentation.
pub(crate) fn scope<'env, F, R>(pool: &PoolHandle, body: F) -> R
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
{
    let scope = Scope {
        pool: pool.clone(),
        state: Arc::new(ScopeState {
            pending: AtomicUsize::new(0),
            submitted: Mutex::new(Vec::new()),
            owner: blocking::thread_parker(),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = catch_unwind(AssertUnwindSafe(|| body(&scope)));
    #[cfg(loom)]
    let skip = crate::faults::injected(crate::faults::Fault::ScopeReturnsEarly);
    #[cfg(not(loom))]
    let skip = false;
    if !skip {
        let state = &scope.state;
        wait_for_submitted(state);
        let gone = || state.pending.load(Ordering::Acquire) == 0;
        if !gone() {
            Blocker::new(|_| false).block_until(&gone, None);
        }
        wait_for_submitted(state);
    }
    match result {
        Ok(value) => value,
        Err(payload) => resume_unwind(payload),
    }
}

/// Waits until every future submitted through the scope so far is done, in rounds.
fn wait_for_submitted(state: &ScopeState) {
    loop {
        let batch = std::mem::take(&mut *lock(&state.submitted));
        if batch.is_empty() {
            return;
        }
        wait(&batch, None, ReturnWhen::AllCompleted);
    }
}
