//! A state-machine property test: random sequences of operations against a real
//! `ThreadPoolExecutor`, each step compared with a reference model.
//!
//! # The model
//!
//! The real pool is not deterministic (how many workers run, which task a worker takes, when a
//! worker finishes), so the model never guesses what the scheduler will do. For each future it
//! keeps what is *certain*:
//!
//! - the set of outcomes it may end with: its task's value or panic message; `Cancelled` only if
//!   someone tried to cancel it; for a task that submits a nested task, the "refused" value only
//!   if the pool was closed before the future was seen done;
//! - what was observed: once an outcome is seen it never changes; `cancel()` returning false means
//!   it never becomes cancelled, returning true means it is cancelled and never ran;
//! - whether it *must* finish: a task blocked on a latch that is certainly closed (not released,
//!   no opener task accepted) is pending or running, never done; a task blocked on a latch that
//!   an opener task will open must finish once that opener must; a task that waits on another
//!   task's future (a nested task, or `awaits`) must finish when that future must and a worker
//!   is free; any other task must finish while fewer live latched tasks than workers can hold
//!   the pool. Waiting holds no worker (steal-back or a hand-off to a spare thread), so the
//!   model no longer steers around waits: a wait that ran an unrelated task on its stack would
//!   break these guarantees, and the suite would find it.
//!
//! Only a "must finish" future is waited on without a short timeout; every blocking call still
//! has a [`LIVENESS`] bound, so a lost wake-up fails the case instead of hanging it. A result
//! obtained with a short timeout is checked for consistency only, never for timing.
//!
//! # Invariants checked after every step and at the end
//!
//! Each future ends in exactly one terminal state; each done-callback runs exactly once, and
//! only on a done future; `cancel()` true means the task never ran (runs are counted per task);
//! `map` yields in input order, each item its own result (a failure does not end it); `as_completed` yields each
//! distinct future once, only when it is done; after `shutdown(wait = true)` nothing accepted is
//! pending; the pool's counters balance: `submitted == tasks_run() + tasks_not_run()`, with
//! `tasks_run()` equal to the runs the tasks themselves counted.

mod support;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use stealpool::{
    Future, FutureError, MapOptions, PoolHandle, ReturnWhen, SubmitError, ThreadPoolExecutor, as_completed,
    wait,
};

use support::{LIVENESS, Latch, PLANNED, PoolSpec, bounded, pool_spec};

/// Latches the generated tasks choose from.
const LATCHES: u8 = 3;
/// What a nested task returns when its inner task was refused or cancelled (the pool closed).
const REFUSED: u64 = u64::MAX;

/// What a submitted task does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Task {
    /// Returns the value.
    Value(u8),
    /// Panics with `planned panic {n}`.
    Panic(u8),
    /// Blocks until the latch is released, then returns the value.
    Latched { latch: u8, value: u8 },
    /// Submits `2 * n + 1` to its own pool, waits for it and returns its value.
    Nested(u8),
    /// Opens the latch (as `Op::Release` does), then returns the value: other tasks block on
    /// what this one provides.
    Opener { latch: u8, value: u8 },
    /// Waits (untimed `result()`) for an earlier future, named as the operations name them,
    /// then returns the value: a task blocking on another task's future.
    Awaits { future: u8, value: u8 },
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Value(value) => write!(f, "value({value})"),
            Task::Panic(n) => write!(f, "panic({n})"),
            Task::Latched { latch, value } => write!(f, "latched(L{latch}, {value})"),
            Task::Nested(n) => write!(f, "nested({n})"),
            Task::Opener { latch, value } => write!(f, "opener(L{latch}, {value})"),
            Task::Awaits { future, value } => write!(f, "awaits(f{future}, {value})"),
        }
    }
}

/// One step. Futures are named by their submission number modulo the number submitted
/// (`f3` with two futures is the second one); steps that name a future do nothing before the
/// first submit.
#[derive(Clone)]
enum Op {
    Submit(Task),
    Release(u8),
    Cancel(u8),
    /// `result` with a 0–5 ms timeout, or (`block`) a bounded wait when the model says the future
    /// must finish.
    Result {
        future: u8,
        timeout_ms: u8,
        block: bool,
    },
    Exception {
        future: u8,
        timeout_ms: u8,
        block: bool,
    },
    AddCallback(u8),
    Wait {
        futures: Vec<u8>,
        when: ReturnWhen,
        timeout_ms: u8,
        block: bool,
    },
    AsCompleted {
        futures: Vec<u8>,
        timeout_ms: u8,
        block: bool,
    },
    /// `map` over values, `None` items panic. Consumed to the end when `consume` and the model
    /// says map tasks must finish; otherwise dropped at once (cancelling what has not started).
    Map {
        items: Vec<Option<u8>>,
        buffersize: Option<u8>,
        consume: bool,
    },
    /// A waiting shutdown releases every latch first (it would wait for them forever).
    Shutdown {
        wait: bool,
        cancel_futures: bool,
    },
    /// Drops the executor (`shutdown(wait = true)`), after releasing every latch.
    Drop,
}

fn names(futures: &[u8]) -> String {
    futures.iter().map(|future| format!("f{future}")).collect::<Vec<_>>().join(",")
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let block = |block: &bool| if *block { " block" } else { "" };
        match self {
            Op::Submit(task) => write!(f, "submit {task:?}"),
            Op::Release(latch) => write!(f, "release L{latch}"),
            Op::Cancel(future) => write!(f, "cancel f{future}"),
            Op::Result { future, timeout_ms, block: b } => {
                write!(f, "result f{future} {timeout_ms}ms{}", block(b))
            }
            Op::Exception { future, timeout_ms, block: b } => {
                write!(f, "exception f{future} {timeout_ms}ms{}", block(b))
            }
            Op::AddCallback(future) => write!(f, "add_done_callback f{future}"),
            Op::Wait { futures, when, timeout_ms, block: b } => {
                write!(f, "wait [{}] {when:?} {timeout_ms}ms{}", names(futures), block(b))
            }
            Op::AsCompleted { futures, timeout_ms, block: b } => {
                write!(f, "as_completed [{}] {timeout_ms}ms{}", names(futures), block(b))
            }
            Op::Map { items, buffersize, consume } => {
                let items: Vec<String> =
                    items.iter().map(|item| item.map_or("fail".to_owned(), |v| v.to_string())).collect();
                write!(f, "map [{}] buffersize={buffersize:?}", items.join(","))?;
                f.write_str(if *consume { " consume" } else { " drop" })
            }
            Op::Shutdown { wait, cancel_futures } => {
                write!(f, "shutdown(wait={wait}, cancel_futures={cancel_futures})")
            }
            Op::Drop => f.write_str("drop executor"),
        }
    }
}

/// A generated case: a pool and the steps run against it.
#[derive(Clone)]
struct Case {
    pool: PoolSpec,
    ops: Vec<Op>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "pool {:?}", self.pool)?;
        for (step, op) in self.ops.iter().enumerate() {
            writeln!(f, "  {step:2}: {op:?}")?;
        }
        Ok(())
    }
}

fn task() -> impl Strategy<Value = Task> {
    prop_oneof![
        3 => any::<u8>().prop_map(Task::Value),
        1 => any::<u8>().prop_map(Task::Panic),
        3 => (0..LATCHES, any::<u8>()).prop_map(|(latch, value)| Task::Latched { latch, value }),
        1 => any::<u8>().prop_map(Task::Nested),
        1 => (0..LATCHES, any::<u8>()).prop_map(|(latch, value)| Task::Opener { latch, value }),
        2 => (future_ref(), any::<u8>()).prop_map(|(future, value)| Task::Awaits { future, value }),
    ]
}

fn future_ref() -> impl Strategy<Value = u8> {
    0u8..16
}

fn return_when() -> impl Strategy<Value = ReturnWhen> {
    prop_oneof![
        Just(ReturnWhen::FirstCompleted),
        Just(ReturnWhen::FirstException),
        Just(ReturnWhen::AllCompleted)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let futures = || prop::collection::vec(future_ref(), 1..6);
    prop_oneof![
        8 => task().prop_map(Op::Submit),
        3 => (0..LATCHES).prop_map(Op::Release),
        3 => future_ref().prop_map(Op::Cancel),
        3 => (future_ref(), 0u8..=5, any::<bool>())
            .prop_map(|(future, timeout_ms, block)| Op::Result { future, timeout_ms, block }),
        1 => (future_ref(), 0u8..=5, any::<bool>())
            .prop_map(|(future, timeout_ms, block)| Op::Exception { future, timeout_ms, block }),
        2 => future_ref().prop_map(Op::AddCallback),
        2 => (futures(), return_when(), 0u8..=5, any::<bool>())
            .prop_map(|(futures, when, timeout_ms, block)| Op::Wait { futures, when, timeout_ms, block }),
        2 => (futures(), 0u8..=5, any::<bool>())
            .prop_map(|(futures, timeout_ms, block)| Op::AsCompleted { futures, timeout_ms, block }),
        1 => (prop::collection::vec(prop::option::weighted(0.9, any::<u8>()), 0..8),
              prop::option::of(1u8..4), any::<bool>())
            .prop_map(|(items, buffersize, consume)| Op::Map { items, buffersize, consume }),
        1 => (any::<bool>(), any::<bool>())
            .prop_map(|(wait, cancel_futures)| Op::Shutdown { wait, cancel_futures }),
        1 => Just(Op::Drop),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    // The operations come first: proptest shrinks a tuple's parts in order and may stop at the
    // first part it cannot shrink further, and the operations are what a reader needs minimal.
    (prop::collection::vec(op(), 1..40), pool_spec()).prop_map(|(ops, pool)| Case { pool, ops })
}

/// A terminal outcome as the model compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Value(u64),
    Panicked(String),
    Cancelled,
}

fn seen(result: Result<&u64, FutureError>) -> Result<Option<Seen>, String> {
    match result {
        Ok(value) => Ok(Some(Seen::Value(*value))),
        Err(FutureError::Panicked(panic)) => Ok(Some(Seen::Panicked(panic.message().to_owned()))),
        Err(FutureError::Cancelled) => Ok(Some(Seen::Cancelled)),
        Err(FutureError::Timeout) => Ok(None),
        Err(other) => Err(format!("unexpected error {other:?}")),
    }
}

/// A submitted future and what the model knows of it.
struct Tracked {
    future: Future<u64>,
    task: Task,
    /// Incremented by the task when it starts.
    runs: Arc<AtomicU32>,
    /// One counter per done-callback added.
    callbacks: Vec<Arc<AtomicU32>>,
    /// `cancel()` returned true.
    cancel_won: bool,
    /// `cancel()` returned false: it ran or runs, and is never cancelled.
    cancel_lost: bool,
    /// Someone tried to cancel it (`cancel`, `shutdown(cancel_futures = true)`).
    cancel_tried: bool,
    /// A nested task may return `REFUSED` (the pool closed before it was seen done).
    may_refuse: bool,
    /// The outcome once observed; it never changes.
    outcome: Option<Seen>,
    /// For `Task::Awaits`: the index of the future it waits for (none if it was the first).
    awaits: Option<usize>,
}

impl Tracked {
    fn allowed(&self, outcome: &Seen) -> bool {
        match (outcome, self.task) {
            (Seen::Cancelled, _) => self.cancel_tried && !self.cancel_lost,
            (Seen::Value(v), Task::Value(n)) => *v == u64::from(n),
            (
                Seen::Value(v),
                Task::Latched { value, .. } | Task::Opener { value, .. } | Task::Awaits { value, .. },
            ) => *v == u64::from(value),
            (Seen::Value(v), Task::Nested(n)) => {
                *v == 2 * u64::from(n) + 1 || (self.may_refuse && *v == REFUSED)
            }
            (Seen::Panicked(message), Task::Panic(n)) => *message == format!("{PLANNED} panic {n}"),
            _ => false,
        }
    }
}

/// The system under test and the reference model, side by side.
struct Harness {
    spec: PoolSpec,
    executor: Option<ThreadPoolExecutor>,
    handle: PoolHandle,
    latches: Vec<Arc<Latch>>,
    released: Vec<bool>,
    futures: Vec<Tracked>,
    closed: bool,
    /// Inner tasks of nested tasks that the pool accepted, and how many of them ran.
    inner_accepted: Arc<AtomicUsize>,
    inner_runs: Arc<AtomicUsize>,
    /// `map` tasks accepted, and how many of them ran.
    map_accepted: usize,
    map_runs: Arc<AtomicUsize>,
    /// Callbacks that found their future not done.
    early_callbacks: Arc<AtomicUsize>,
    /// The steps run so far, with the futures they resolved to (printed on failure).
    trace: Vec<String>,
}

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

impl Harness {
    fn new(spec: PoolSpec) -> Self {
        let executor = spec.build();
        let handle = executor.handle();
        Harness {
            spec,
            executor: Some(executor),
            handle,
            latches: (0..LATCHES).map(|_| Arc::new(Latch::default())).collect(),
            released: vec![false; usize::from(LATCHES)],
            futures: Vec::new(),
            closed: false,
            inner_accepted: Arc::default(),
            inner_runs: Arc::default(),
            map_accepted: 0,
            map_runs: Arc::default(),
            early_callbacks: Arc::default(),
            trace: Vec::new(),
        }
    }

    fn resolve(&self, future: u8) -> Option<usize> {
        (!self.futures.is_empty()).then(|| usize::from(future) % self.futures.len())
    }

    /// Latched tasks that may hold a worker forever: latch closed, not cancelled.
    fn live_latched(&self) -> usize {
        self.futures
            .iter()
            .filter(|t| matches!(t.task, Task::Latched { latch, .. } if !self.released[usize::from(latch)]))
            .filter(|t| !t.future.cancelled())
            .count()
    }

    /// Latched tasks on latches other than `latch` that may hold a worker forever.
    fn live_latched_elsewhere(&self, latch: u8) -> usize {
        self.futures
            .iter()
            .filter(|t| matches!(t.task, Task::Latched { latch: l, .. } if l != latch && !self.released[usize::from(l)]))
            .filter(|t| !t.future.cancelled())
            .count()
    }

    /// Accepted openers of `latch` that may still run (not cancelled).
    fn openers(&self, latch: u8) -> impl Iterator<Item = usize> + '_ {
        (0..self.futures.len()).filter(move |&index| {
            matches!(self.futures[index].task, Task::Opener { latch: l, .. } if l == latch)
                && !self.futures[index].future.cancelled()
        })
    }

    /// Whether the model guarantees that the future finishes (see the module doc). Waiting
    /// never holds a worker (the waiter runs its awaited task or hands its worker over), so a
    /// task that waits on a future finishes whenever that future does and a worker is free.
    fn must_finish(&self, index: usize) -> bool {
        let tracked = &self.futures[index];
        if tracked.outcome.is_some() || tracked.future.cancelled() {
            return true;
        }
        let worker_free = self.live_latched() < self.spec.workers;
        match tracked.task {
            Task::Latched { latch, .. } if !self.released[usize::from(latch)] => {
                // Opened by an opener that must run, then free to start on a worker that the
                // tasks blocked on other latches leave.
                self.openers(latch).any(|opener| self.must_finish(opener))
                    && self.live_latched_elsewhere(latch) < self.spec.workers
            }
            Task::Awaits { .. } => {
                worker_free && tracked.awaits.is_none_or(|awaited| self.must_finish(awaited))
            }
            _ => worker_free,
        }
    }

    /// A latched task whose latch is certainly closed: not released, and no opener accepted.
    fn blocked_on_latch(&self, index: usize) -> bool {
        let tracked = &self.futures[index];
        matches!(tracked.task, Task::Latched { latch, .. }
            if !self.released[usize::from(latch)] && self.openers(latch).next().is_none())
            && !tracked.future.cancelled()
    }

    /// Records an observed outcome after checking it against the model.
    fn observe(&mut self, index: usize, outcome: Seen) -> Result<(), String> {
        let tracked = &mut self.futures[index];
        ensure!(
            tracked.allowed(&outcome),
            "f{index} {:?} ended as {outcome:?}, which the model forbids",
            tracked.task
        );
        if let Some(before) = &tracked.outcome {
            ensure!(*before == outcome, "f{index} was {before:?} and is now {outcome:?}");
        }
        if let (Task::Opener { latch, .. }, Seen::Value(_)) = (tracked.task, &outcome) {
            // The opener ran: its latch is open.
            self.released[usize::from(latch)] = true;
        }
        tracked.outcome = Some(outcome);
        Ok(())
    }

    fn submit(&mut self, task: Task) -> Result<(), String> {
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let awaits = match task {
            Task::Awaits { future, .. } => self.resolve(future),
            _ => None,
        };
        let submitted = match task {
            Task::Value(value) => self.handle.submit(move || {
                counter.fetch_add(1, SeqCst);
                u64::from(value)
            }),
            Task::Panic(n) => self.handle.submit(move || -> u64 {
                counter.fetch_add(1, SeqCst);
                panic!("{PLANNED} panic {n}")
            }),
            Task::Latched { latch, value } => {
                let latch = self.latches[usize::from(latch)].clone();
                self.handle.submit(move || {
                    counter.fetch_add(1, SeqCst);
                    latch.wait();
                    u64::from(value)
                })
            }
            Task::Nested(n) => {
                let (pool, accepted, inner_runs) =
                    (self.handle.clone(), self.inner_accepted.clone(), self.inner_runs.clone());
                self.handle.submit(move || {
                    counter.fetch_add(1, SeqCst);
                    let inner = pool.submit(move || {
                        inner_runs.fetch_add(1, SeqCst);
                        2 * u64::from(n) + 1
                    });
                    match inner {
                        Ok(inner) => {
                            accepted.fetch_add(1, SeqCst);
                            inner.result().map_or(REFUSED, |value| *value)
                        }
                        Err(_) => REFUSED,
                    }
                })
            }
            Task::Opener { latch, value } => {
                let latch = self.latches[usize::from(latch)].clone();
                self.handle.submit(move || {
                    counter.fetch_add(1, SeqCst);
                    latch.release();
                    u64::from(value)
                })
            }
            Task::Awaits { value, .. } => {
                let awaited = awaits.map(|index| self.futures[index].future.clone());
                self.handle.submit(move || {
                    counter.fetch_add(1, SeqCst);
                    if let Some(awaited) = awaited {
                        let _ = awaited.result();
                    }
                    u64::from(value)
                })
            }
        };
        match submitted {
            Ok(future) => {
                ensure!(!self.closed, "submit after shutdown was accepted");
                self.trace.push(format!("  -> f{}", self.futures.len()));
                self.futures.push(Tracked {
                    future,
                    task,
                    runs,
                    callbacks: Vec::new(),
                    cancel_won: false,
                    cancel_lost: false,
                    cancel_tried: false,
                    may_refuse: false,
                    outcome: None,
                    awaits,
                });
            }
            Err(error) => {
                ensure!(self.closed, "submit to an open pool failed: {error:?}");
                ensure!(error == SubmitError::Shutdown, "submit after shutdown failed with {error:?}");
            }
        }
        Ok(())
    }

    fn release(&mut self, latch: u8) {
        self.latches[usize::from(latch)].release();
        self.released[usize::from(latch)] = true;
    }

    fn release_all(&mut self) {
        for latch in 0..LATCHES {
            self.release(latch);
        }
    }

    fn cancel(&mut self, index: usize) -> Result<(), String> {
        let tracked = &mut self.futures[index];
        tracked.cancel_tried = true;
        let cancelled = tracked.future.cancel();
        if cancelled {
            ensure!(!tracked.cancel_lost, "f{index}: cancel() is true after an earlier cancel() was false");
            ensure!(tracked.future.cancelled(), "f{index}: cancel() is true but the future is not cancelled");
            tracked.cancel_won = true;
            self.observe(index, Seen::Cancelled)?;
        } else {
            let tracked = &mut self.futures[index];
            ensure!(!tracked.cancel_won, "f{index}: cancel() is false after an earlier cancel() was true");
            ensure!(!tracked.future.cancelled(), "f{index}: cancel() is false but the future is cancelled");
            tracked.cancel_lost = true;
        }
        Ok(())
    }

    fn result(&mut self, index: usize, timeout_ms: u8, block: bool) -> Result<(), String> {
        let blocking = block && self.must_finish(index);
        let timeout = if blocking { LIVENESS } else { Duration::from_millis(u64::from(timeout_ms)) };
        let known = self.futures[index].outcome.clone();
        match seen(self.futures[index].future.result_timeout(timeout))? {
            Some(outcome) => self.observe(index, outcome),
            None => {
                ensure!(!blocking, "f{index} must finish but result() timed out after {LIVENESS:?}");
                ensure!(known.is_none(), "f{index} was seen {known:?} but result() now times out");
                Ok(())
            }
        }
    }

    fn exception(&mut self, index: usize, timeout_ms: u8, block: bool) -> Result<(), String> {
        let blocking = block && self.must_finish(index);
        let timeout = if blocking { LIVENESS } else { Duration::from_millis(u64::from(timeout_ms)) };
        let future = self.futures[index].future.clone();
        let outcome = match future.exception_timeout(timeout) {
            Ok(Some(panic)) => Seen::Panicked(panic.message().to_owned()),
            Ok(None) => match future.result_timeout(Duration::ZERO) {
                Ok(value) => Seen::Value(*value),
                other => return Err(format!("f{index}: exception() is None but result() is {other:?}")),
            },
            Err(FutureError::Cancelled) => Seen::Cancelled,
            Err(FutureError::Timeout) => {
                ensure!(!blocking, "f{index} must finish but exception() timed out after {LIVENESS:?}");
                return Ok(());
            }
            Err(other) => return Err(format!("f{index}: exception() failed with {other:?}")),
        };
        self.observe(index, outcome)
    }

    fn add_callback(&mut self, index: usize) -> Result<(), String> {
        let count = Arc::new(AtomicU32::new(0));
        let (counter, early) = (count.clone(), self.early_callbacks.clone());
        let future = &self.futures[index].future;
        let done_before = future.done();
        future.add_done_callback(move |future| {
            if !future.done() {
                early.fetch_add(1, SeqCst);
            }
            counter.fetch_add(1, SeqCst);
        });
        // A callback added to a done future runs at once, on this thread.
        ensure!(
            !done_before || count.load(SeqCst) == 1,
            "f{index} was done but its new callback did not run at once"
        );
        self.futures[index].callbacks.push(count);
        Ok(())
    }

    /// The distinct futures named, in order of first occurrence, and the list with duplicates.
    fn pick(&self, futures: &[u8]) -> (Vec<usize>, Vec<usize>) {
        let all: Vec<usize> = futures.iter().filter_map(|&future| self.resolve(future)).collect();
        let mut seen = HashSet::new();
        let distinct = all.iter().copied().filter(|index| seen.insert(*index)).collect();
        (distinct, all)
    }

    fn index_of(&self, future: &Future<u64>) -> usize {
        self.futures
            .iter()
            .position(|tracked| std::ptr::eq(&tracked.future, future))
            .expect("wait and as_completed return the references they were given")
    }

    fn wait(&mut self, futures: &[u8], when: ReturnWhen, timeout_ms: u8, block: bool) -> Result<(), String> {
        let (distinct, all) = self.pick(futures);
        let finishing: Vec<bool> = distinct.iter().map(|&index| self.must_finish(index)).collect();
        let will_hold = match when {
            ReturnWhen::FirstCompleted => distinct.is_empty() || finishing.iter().any(|&f| f),
            ReturnWhen::FirstException | ReturnWhen::AllCompleted => finishing.iter().all(|&f| f),
        };
        let blocking = block && will_hold;
        let timeout = if blocking { LIVENESS } else { Duration::from_millis(u64::from(timeout_ms)) };
        let done_before: Vec<usize> =
            distinct.iter().copied().filter(|&index| self.futures[index].future.done()).collect();
        let refs: Vec<&Future<u64>> = all.iter().map(|&index| &self.futures[index].future).collect();
        let (done, not_done) = wait(refs, Some(timeout), when);
        let done: Vec<usize> = done.into_iter().map(|future| self.index_of(future)).collect();
        let not_done: Vec<usize> = not_done.into_iter().map(|future| self.index_of(future)).collect();

        let in_order = |part: &[usize]| {
            distinct.iter().copied().filter(|index| part.contains(index)).collect::<Vec<_>>()
        };
        ensure!(
            done.len() + not_done.len() == distinct.len(),
            "wait returned {done:?} + {not_done:?} for {distinct:?}"
        );
        ensure!(
            in_order(&done) == done && in_order(&not_done) == not_done,
            "wait lost the input order: {done:?} / {not_done:?} for {distinct:?}"
        );
        for &index in &done {
            ensure!(self.futures[index].future.done(), "wait returned f{index} as done but it is not");
        }
        for index in done_before {
            ensure!(done.contains(&index), "f{index} was done before wait but is in not_done");
        }
        for &index in &distinct {
            ensure!(
                !self.blocked_on_latch(index) || not_done.contains(&index),
                "f{index} is held by a closed latch but wait says done"
            );
        }
        if blocking {
            let raised = done.iter().any(|&index| {
                matches!(self.futures[index].future.exception_timeout(Duration::ZERO), Ok(Some(_)))
            });
            let holds = match when {
                ReturnWhen::FirstCompleted => !done.is_empty() || distinct.is_empty(),
                ReturnWhen::FirstException => raised || not_done.is_empty(),
                ReturnWhen::AllCompleted => not_done.is_empty(),
            };
            ensure!(holds, "wait({when:?}) returned before its condition held: {done:?} / {not_done:?}");
        }
        Ok(())
    }

    fn as_completed(&mut self, futures: &[u8], timeout_ms: u8, block: bool) -> Result<(), String> {
        let (distinct, all) = self.pick(futures);
        let blocking = block && distinct.iter().all(|&index| self.must_finish(index));
        let timeout = if blocking { LIVENESS } else { Duration::from_millis(u64::from(timeout_ms)) };
        let done_before: Vec<usize> =
            distinct.iter().copied().filter(|&index| self.futures[index].future.done()).collect();
        let refs: Vec<&Future<u64>> = all.iter().map(|&index| &self.futures[index].future).collect();
        let mut yielded = Vec::new();
        let mut timed_out = false;
        let mut iter = as_completed(refs, Some(timeout));
        for item in iter.by_ref() {
            match item {
                Ok(future) => {
                    let index = self.index_of(future);
                    ensure!(!timed_out, "as_completed yielded f{index} after its timeout");
                    ensure!(future.done(), "as_completed yielded f{index} before it was done");
                    ensure!(!yielded.contains(&index), "as_completed yielded f{index} twice");
                    yielded.push(index);
                }
                Err(FutureError::Timeout) => {
                    ensure!(!timed_out, "as_completed timed out twice");
                    timed_out = true;
                }
                Err(other) => return Err(format!("as_completed yielded {other:?}")),
            }
        }
        ensure!(iter.next().is_none(), "as_completed yielded after it ended");
        drop(iter);
        for &index in &yielded {
            ensure!(distinct.contains(&index), "as_completed yielded f{index}, which it was not given");
        }
        ensure!(!(blocking && timed_out), "as_completed timed out though every future must finish");
        ensure!(
            timed_out || yielded.len() == distinct.len(),
            "as_completed ended without {distinct:?} (yielded {yielded:?})"
        );
        ensure!(
            !timed_out || yielded.len() < distinct.len(),
            "as_completed timed out after yielding every future"
        );
        // Those done at the call come first, in input order.
        let first: Vec<usize> = yielded.iter().copied().filter(|index| done_before.contains(index)).collect();
        ensure!(first == done_before, "futures done at the call {done_before:?} were yielded as {yielded:?}");
        Ok(())
    }

    fn map(&mut self, items: &[Option<u8>], buffersize: Option<u8>, consume: bool) -> Result<(), String> {
        let pulled = Arc::new(AtomicUsize::new(0));
        let inputs: Vec<(usize, Option<u8>)> = items.iter().copied().enumerate().collect();
        let counter = pulled.clone();
        let inputs = inputs.into_iter().inspect(move |_| {
            counter.fetch_add(1, SeqCst);
        });
        let runs = self.map_runs.clone();
        let function = move |(index, item): (usize, Option<u8>)| {
            runs.fetch_add(1, SeqCst);
            match item {
                Some(value) => 3 * u64::from(value),
                None => panic!("{PLANNED} map failure at {index}"),
            }
        };
        let mut options = MapOptions::new().timeout(LIVENESS);
        if let Some(buffersize) = buffersize {
            options = options.buffersize(usize::from(buffersize));
        }
        let results = match self.handle.map_with(function, inputs, options) {
            Ok(results) => results,
            Err(error) => {
                ensure!(self.closed, "map on an open pool failed: {error:?}");
                ensure!(error == SubmitError::Shutdown, "map after shutdown failed with {error:?}");
                return Ok(());
            }
        };
        // An empty input submits nothing, so even a closed pool accepts it (as Python's does).
        ensure!(!self.closed || items.is_empty(), "map after shutdown was accepted");
        if consume && self.live_latched() < self.spec.workers {
            let got: Vec<Result<u64, FutureError>> = results.collect();
            let mut expected = Vec::new();
            for (index, item) in items.iter().enumerate() {
                match item {
                    Some(value) => expected.push(Ok(3 * u64::from(*value))),
                    None => {
                        let message = format!("{PLANNED} map failure at {index}");
                        expected.push(Err(FutureError::Panicked(stealpool::TaskPanic::new(message))));
                    }
                }
            }
            ensure!(got == expected, "map yielded {got:?}, expected {expected:?}");
        } else {
            drop(results);
        }
        self.map_accepted += pulled.load(SeqCst);
        Ok(())
    }

    /// Marks the pool closed in the model: nested tasks not seen done may now be refused, and
    /// with `cancel_futures` every future not seen done may be cancelled.
    fn close(&mut self, cancel_futures: bool) {
        self.closed = true;
        for tracked in &mut self.futures {
            if tracked.outcome.is_none() {
                tracked.may_refuse = true;
                tracked.cancel_tried |= cancel_futures;
            }
        }
    }

    fn shutdown(&mut self, wait: bool, cancel_futures: bool) -> Result<(), String> {
        if wait {
            self.release_all();
        }
        self.close(cancel_futures);
        if wait {
            let handle = self.handle.clone();
            bounded("shutdown(wait = true)", move || handle.shutdown(true, cancel_futures))?;
            self.check_quiescent()?;
        } else {
            self.handle.shutdown(false, cancel_futures);
        }
        Ok(())
    }

    fn drop_executor(&mut self) -> Result<(), String> {
        self.release_all();
        self.close(false);
        if let Some(executor) = self.executor.take() {
            bounded("dropping the executor", move || drop(executor))?;
        }
        self.check_quiescent()
    }

    /// After a waiting shutdown: nothing accepted is pending, every callback ran exactly once,
    /// every future ended in exactly one terminal state, and the counters balance.
    fn check_quiescent(&mut self) -> Result<(), String> {
        for index in 0..self.futures.len() {
            let tracked = &self.futures[index];
            let future = &tracked.future;
            ensure!(
                future.done() && !future.running(),
                "f{index} is still {future:?} after shutdown(wait = true)"
            );
            for (n, callback) in tracked.callbacks.iter().enumerate() {
                let calls = callback.load(SeqCst);
                ensure!(calls == 1, "callback {n} of f{index} ran {calls} times");
            }
            let runs = tracked.runs.load(SeqCst);
            let outcome = seen(future.result_timeout(Duration::ZERO))?
                .ok_or(format!("f{index} is done but times out"))?;
            ensure!(
                future.cancelled() == (outcome == Seen::Cancelled),
                "f{index} is {outcome:?} but cancelled() is {}",
                future.cancelled()
            );
            ensure!(
                runs == u32::from(outcome != Seen::Cancelled),
                "f{index} ended {outcome:?} after {runs} runs"
            );
            self.observe(index, outcome)?;
        }
        let early = self.early_callbacks.load(SeqCst);
        ensure!(early == 0, "{early} callbacks ran on a future that was not done");
        let stats = self.handle.stats();
        let runs: u64 = self.futures.iter().map(|tracked| u64::from(tracked.runs.load(SeqCst))).sum::<u64>()
            + self.inner_runs.load(SeqCst) as u64
            + self.map_runs.load(SeqCst) as u64;
        let accepted = (self.futures.len() + self.inner_accepted.load(SeqCst) + self.map_accepted) as u64;
        ensure!(
            stats.submitted == accepted,
            "stats.submitted = {} but {accepted} tasks were accepted",
            stats.submitted
        );
        ensure!(
            stats.tasks_run() == runs,
            "stats.tasks_run() = {} but the tasks ran {runs} times",
            stats.tasks_run()
        );
        ensure!(
            stats.submitted == stats.tasks_run() + stats.tasks_not_run(),
            "counters do not balance: submitted {} != run {} + not run {} ({stats:?})",
            stats.submitted,
            stats.tasks_run(),
            stats.tasks_not_run()
        );
        Ok(())
    }

    /// The checks that hold after every step, whatever the scheduler did.
    fn check_step(&mut self) -> Result<(), String> {
        for index in 0..self.futures.len() {
            let tracked = &self.futures[index];
            let future = &tracked.future;
            let runs = tracked.runs.load(SeqCst);
            ensure!(runs <= 1, "f{index} ran {runs} times");
            for (n, callback) in tracked.callbacks.iter().enumerate() {
                let calls = callback.load(SeqCst);
                ensure!(calls <= 1, "callback {n} of f{index} ran {calls} times");
            }
            if tracked.cancel_won {
                ensure!(future.cancelled(), "f{index}: cancel() was true but it is {future:?}");
            }
            if self.blocked_on_latch(index) {
                ensure!(!future.done(), "f{index} is done though its latch is closed");
            }
            if future.cancelled() {
                ensure!(
                    future.done() && !future.running(),
                    "f{index} is cancelled but done() or running() disagree"
                );
                // Read again after the state: the task may have finished since `runs` was read.
                let runs = tracked.runs.load(SeqCst);
                ensure!(runs == 0, "f{index} is cancelled but its task ran");
                // Every cancel in this test happens on this thread, which runs the callbacks.
                for (n, callback) in tracked.callbacks.iter().enumerate() {
                    ensure!(callback.load(SeqCst) == 1, "f{index} is cancelled but callback {n} has not run");
                }
                self.observe(index, Seen::Cancelled)?;
            } else if future.done() {
                let outcome = seen(future.result_timeout(Duration::ZERO))?
                    .ok_or(format!("f{index} is done but times out"))?;
                ensure!(outcome != Seen::Cancelled, "f{index} says Cancelled but cancelled() is false");
                let runs = tracked.runs.load(SeqCst);
                ensure!(runs == 1, "f{index} finished as {outcome:?} after {runs} runs");
                self.observe(index, outcome)?;
            } else if let Some(outcome) = &tracked.outcome {
                return Err(format!("f{index} was seen {outcome:?} but is now {future:?}"));
            }
        }
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), String> {
        let named = |future: &u8| self.resolve(*future);
        match op {
            Op::Submit(task) => self.submit(*task)?,
            Op::Release(latch) => self.release(*latch),
            Op::Cancel(future) => {
                if let Some(index) = named(future) {
                    self.trace.push(format!("  -> f{index}"));
                    self.cancel(index)?;
                }
            }
            Op::Result { future, timeout_ms, block } => {
                if let Some(index) = named(future) {
                    self.trace.push(format!("  -> f{index}"));
                    self.result(index, *timeout_ms, *block)?;
                }
            }
            Op::Exception { future, timeout_ms, block } => {
                if let Some(index) = named(future) {
                    self.trace.push(format!("  -> f{index}"));
                    self.exception(index, *timeout_ms, *block)?;
                }
            }
            Op::AddCallback(future) => {
                if let Some(index) = named(future) {
                    self.trace.push(format!("  -> f{index}"));
                    self.add_callback(index)?;
                }
            }
            Op::Wait { futures, when, timeout_ms, block } => {
                self.wait(futures, *when, *timeout_ms, *block)?
            }
            Op::AsCompleted { futures, timeout_ms, block } => {
                self.as_completed(futures, *timeout_ms, *block)?
            }
            Op::Map { items, buffersize, consume } => self.map(items, *buffersize, *consume)?,
            Op::Shutdown { wait, cancel_futures } => self.shutdown(*wait, *cancel_futures)?,
            Op::Drop => self.drop_executor()?,
        }
        self.check_step()
    }

    fn run(&mut self, ops: &[Op]) -> Result<(), String> {
        for (step, op) in ops.iter().enumerate() {
            self.trace.push(format!("{step:2}: {op:?}"));
            self.step(op)?;
        }
        self.trace.push("end: release every latch, drop the executor".to_owned());
        self.drop_executor()
    }
}

/// Set once a case has failed in this run: from then on proptest is shrinking.
static SHRINKING: AtomicBool = AtomicBool::new(false);

/// How often a case runs: once while searching; while shrinking, several times, because whether
/// a smaller case fails can depend on the schedule (a task still queued or already taken), and a
/// candidate that passes by luck would stop the shrink early.
fn attempts() -> usize {
    if SHRINKING.load(SeqCst) { 8 } else { 1 }
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    for _ in 0..attempts() {
        run_once(case).inspect_err(|_| SHRINKING.store(true, SeqCst))?;
    }
    Ok(())
}

fn run_once(case: &Case) -> Result<(), TestCaseError> {
    support::quiet_planned_panics();
    let mut harness = Harness::new(case.pool);
    let outcome = harness.run(&case.ops);
    if let Err(why) = outcome {
        // Leave no worker blocked behind a latch, and do not wait for a pool that may be stuck.
        harness.release_all();
        std::mem::forget(harness.executor.take());
        let states: Vec<String> = harness
            .futures
            .iter()
            .enumerate()
            .map(|(index, tracked)| format!("f{index} {:?}: {:?}", tracked.task, tracked.future))
            .collect();
        return Err(TestCaseError::fail(format!(
            "{why}\non {:?}, after:\n{}\nfutures: {}",
            case.pool,
            harness.trace.join("\n"),
            states.join(", ")
        )));
    }
    Ok(())
}

proptest! {
    // Whether a case fails can depend on the schedule. While shrinking, proptest re-runs the last
    // failing case after each passing candidate and stops if it now passes; caching results (keyed
    // by the readable `Debug` form) keeps one lucky run from ending the shrink early. (Only here:
    // a cache hit does not count as a case, so a property over a small input space with a cache
    // would never reach its case count.)
    #![proptest_config(proptest::test_runner::Config {
        result_cache: proptest::test_runner::basic_result_cache,
        ..support::config(256, "proptests/proptest-regressions/model.txt")
    })]

    /// Random operation sequences on both schedulers agree with the model at every step.
    #[test]
    fn executor_agrees_with_model(case in case()) {
        run_case(&case)?;
    }
}
