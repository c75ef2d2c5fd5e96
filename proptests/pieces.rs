//! Property tests of the pieces, each against an exact model:
//!
//! - `wait` and `as_completed` over random mixes of pending, running, finished, panicked,
//!   failed and cancelled futures (built with `Promise`, of two result types mixed through
//!   `erase()`, with duplicates): with a zero timeout, and without one when the condition
//!   already holds, the partition is exactly the model's for every `ReturnWhen`;
//! - `as_completed` while another thread completes the pending futures one by one: those done
//!   at the call first in input order, then the rest in completion order;
//! - `map` with random lengths, `buffersize`, `chunksize` and failing items on random pools:
//!   every item in input order, a failure at its own position and the items after it too; every
//!   item runs at most once and the pool's counters balance;
//! - trees of nested submit-and-wait on 1 to 8 workers (helping must keep a one-worker pool
//!   from deadlocking).

mod support;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use proptest::prelude::*;
use stealpool::{
    AnyFuture, BrokenReason, FutureError, MapOptions, PoolHandle, Promise, ReturnWhen, TaskPanic,
    as_completed, wait,
};

use support::{LIVENESS, PLANNED, PoolSpec, bounded, pool_spec};

const WHENS: [ReturnWhen; 3] =
    [ReturnWhen::FirstCompleted, ReturnWhen::FirstException, ReturnWhen::AllCompleted];

/// The state a future is put in before `wait` or `as_completed` looks at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Value,
    Panicked,
    Failed,
    Cancelled,
}

impl State {
    fn done(self) -> bool {
        !matches!(self, State::Pending | State::Running)
    }

    fn raised(self) -> bool {
        matches!(self, State::Panicked | State::Failed)
    }
}

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Pending),
        Just(State::Running),
        Just(State::Value),
        Just(State::Panicked),
        Just(State::Failed),
        Just(State::Cancelled),
    ]
}

/// Keeps the completer halves alive while the test looks at the futures.
enum Completer {
    Number(Promise<u32>),
    Text(Promise<String>),
}

impl Completer {
    /// Completes the future as `state` says (`Pending` and `Running` leave it unfinished).
    fn drive(&self, future: &AnyFuture, state: State) {
        let result = match (self, state) {
            (_, State::Pending) => Ok(()),
            (_, State::Cancelled) => {
                assert!(future.cancel(), "a pending or running-less future cancels");
                Ok(())
            }
            (Completer::Number(p), State::Running) => p.set_running_or_notify_cancel().map(|_| ()),
            (Completer::Text(p), State::Running) => p.set_running_or_notify_cancel().map(|_| ()),
            (Completer::Number(p), State::Value) => p.set_result(7),
            (Completer::Text(p), State::Value) => p.set_result("seven".to_owned()),
            (Completer::Number(p), State::Panicked) => p.set_exception(TaskPanic::new("boom")),
            (Completer::Text(p), State::Panicked) => p.set_exception(TaskPanic::new("boom")),
            (Completer::Number(p), State::Failed) => {
                p.set_error(FutureError::Broken(BrokenReason::PromiseDropped))
            }
            (Completer::Text(p), State::Failed) => {
                p.set_error(FutureError::Broken(BrokenReason::PromiseDropped))
            }
        };
        result.expect("a fresh promise accepts one completion");
    }
}

/// Futures in the given states, alternately `Future<u32>` and `Future<String>`, erased.
fn futures_in(states: &[State]) -> (Vec<Completer>, Vec<AnyFuture>) {
    states
        .iter()
        .enumerate()
        .map(|(index, &state)| {
            let (completer, future) = if index % 2 == 0 {
                let (promise, future) = Promise::<u32>::new();
                (Completer::Number(promise), future.erase())
            } else {
                let (promise, future) = Promise::<String>::new();
                (Completer::Text(promise), future.erase())
            };
            completer.drive(&future, state);
            (completer, future)
        })
        .unzip()
}

fn index_of(futures: &[AnyFuture], future: &AnyFuture) -> usize {
    futures.iter().position(|candidate| std::ptr::eq(candidate, future)).expect("one of the inputs")
}

/// The distinct indices in `picks` (modulo `len`), in order of first occurrence.
fn distinct(picks: &[usize], len: usize) -> Vec<usize> {
    let mut seen = HashSet::new();
    picks.iter().map(|pick| pick % len).filter(|index| seen.insert(*index)).collect()
}

fn condition_holds(states: &[State], distinct: &[usize], when: ReturnWhen) -> bool {
    let mut states = distinct.iter().map(|&index| states[index]);
    match when {
        ReturnWhen::FirstCompleted => distinct.is_empty() || states.any(State::done),
        ReturnWhen::FirstException => states.clone().any(State::raised) || states.all(State::done),
        ReturnWhen::AllCompleted => states.all(State::done),
    }
}

/// A test of the pool: map items, and nested trees.
#[derive(Clone)]
struct MapCase {
    pool: PoolSpec,
    /// `None` items panic.
    items: Vec<Option<u16>>,
    buffersize: Option<usize>,
    chunksize: Option<usize>,
    /// Stop consuming after this many results (then drop the iterator).
    take: usize,
}

impl fmt::Debug for MapCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> =
            self.items.iter().map(|item| item.map_or("fail".into(), |v| v.to_string())).collect();
        write!(
            f,
            "pool {:?}, map [{}] buffersize={:?} chunksize={:?} take {}",
            self.pool,
            items.join(","),
            self.buffersize,
            self.chunksize,
            self.take
        )
    }
}

fn map_case() -> impl Strategy<Value = MapCase> {
    (
        pool_spec(),
        prop::collection::vec(prop::option::weighted(0.9, any::<u16>()), 0..40),
        prop::option::of(1usize..8),
        prop::option::of(1usize..4),
        0usize..50,
    )
        .prop_map(|(pool, items, buffersize, chunksize, take)| MapCase {
            pool,
            items,
            buffersize,
            chunksize,
            take,
        })
}

/// Submits a tree of `fanout[depth]` children per level, each task waiting for its children and
/// returning the number of tasks in its subtree.
fn tree(pool: PoolHandle, fanout: Arc<Vec<usize>>, depth: usize, runs: Arc<AtomicUsize>) -> usize {
    runs.fetch_add(1, SeqCst);
    let Some(&children) = fanout.get(depth) else { return 1 };
    let futures: Vec<_> = (0..children)
        .map(|_| {
            let (handle, fanout, runs) = (pool.clone(), fanout.clone(), runs.clone());
            pool.submit(move || tree(handle, fanout, depth + 1, runs)).expect("the pool is open")
        })
        .collect();
    1 + futures.iter().map(|future| *future.result().expect("no task panics")).sum::<usize>()
}

fn subtree_size(fanout: &[usize]) -> usize {
    fanout.iter().rev().fold(1, |below, &children| 1 + children * below)
}

proptest! {
    #![proptest_config(support::config(256, "proptests/proptest-regressions/pieces.txt"))]

    /// With a zero timeout, or none when the condition already holds, `wait` partitions the
    /// distinct futures exactly by done-ness, each part in input order.
    #[test]
    fn wait_partitions_match_the_model(
        states in prop::collection::vec(state(), 1..10),
        picks in prop::collection::vec(0usize..16, 0..14),
    ) {
        let (_completers, futures) = futures_in(&states);
        let distinct = distinct(&picks, futures.len());
        let expected_done: Vec<usize> = distinct.iter().copied().filter(|&i| states[i].done()).collect();
        let expected_not_done: Vec<usize> = distinct.iter().copied().filter(|&i| !states[i].done()).collect();
        for when in WHENS {
            let mut timeouts = vec![Some(Duration::ZERO)];
            if condition_holds(&states, &distinct, when) {
                timeouts.push(None);
            }
            for timeout in timeouts {
                let refs: Vec<&AnyFuture> = picks.iter().map(|pick| &futures[pick % futures.len()]).collect();
                let (done, not_done) = wait(refs, timeout, when);
                let done: Vec<usize> = done.into_iter().map(|f| index_of(&futures, f)).collect();
                let not_done: Vec<usize> = not_done.into_iter().map(|f| index_of(&futures, f)).collect();
                prop_assert_eq!(&done, &expected_done, "done, {:?} with timeout {:?}", when, timeout);
                prop_assert_eq!(&not_done, &expected_not_done, "not done, {:?} with timeout {:?}", when, timeout);
            }
        }
    }

    /// With a zero timeout `as_completed` yields the done futures in input order, then a
    /// timeout if any is pending, then nothing.
    #[test]
    fn as_completed_with_zero_timeout_matches_the_model(
        states in prop::collection::vec(state(), 1..10),
        picks in prop::collection::vec(0usize..16, 0..14),
    ) {
        let (_completers, futures) = futures_in(&states);
        let distinct = distinct(&picks, futures.len());
        let mut expected: Vec<Result<usize, FutureError>> =
            distinct.iter().copied().filter(|&i| states[i].done()).map(Ok).collect();
        if distinct.iter().any(|&i| !states[i].done()) {
            expected.push(Err(FutureError::Timeout));
        }
        for timeout in [Some(Duration::ZERO), None] {
            if timeout.is_none() && expected.last().is_some_and(Result::is_err) {
                continue;
            }
            let refs: Vec<&AnyFuture> = picks.iter().map(|pick| &futures[pick % futures.len()]).collect();
            let mut iter = as_completed(refs, timeout);
            let got: Vec<Result<usize, FutureError>> =
                iter.by_ref().map(|item| item.map(|f| index_of(&futures, f))).collect();
            prop_assert_eq!(&got, &expected, "timeout {:?}", timeout);
            prop_assert!(iter.next().is_none());
        }
    }

    /// While another thread completes the pending futures one at a time, `as_completed` yields
    /// those done at the call in input order, then the others in completion order; `wait` on
    /// the same futures afterwards finds them all done.
    #[test]
    fn as_completed_follows_completion_order(
        states in prop::collection::vec(state(), 1..10),
        seed in any::<u64>(),
        endings in prop::collection::vec(prop_oneof![Just(State::Value), Just(State::Panicked), Just(State::Cancelled)], 10),
    ) {
        let (completers, futures) = futures_in(&states);
        let done_at_call: Vec<usize> = (0..states.len()).filter(|&i| states[i].done()).collect();
        let mut pending: Vec<usize> = (0..states.len()).filter(|&i| !states[i].done()).collect();
        // A permutation of the pending futures, from the drawn seed.
        let mut seed = seed;
        for i in (1..pending.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            pending.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let mut iter = as_completed(futures.iter(), Some(LIVENESS));
        let plan: Vec<(usize, State)> = pending
            .iter()
            .map(|&i| {
                // A running future cannot be cancelled: finish it instead.
                let ending = match (states[i], endings[i]) {
                    (State::Running, State::Cancelled) => State::Value,
                    (_, ending) => ending,
                };
                (i, ending)
            })
            .collect();
        let thread_futures = futures.clone();
        let completer = std::thread::spawn(move || {
            for &(index, ending) in &plan {
                completers[index].drive(&thread_futures[index], ending);
            }
        });
        let got: Vec<usize> = iter
            .by_ref()
            .map(|item| item.map(|future| index_of(&futures, future)))
            .collect::<Result<_, _>>()
            .map_err(|error| TestCaseError::fail(format!("as_completed failed: {error:?}")))?;
        completer.join().expect("the completer does not panic");
        let mut expected = done_at_call;
        expected.extend(&pending);
        prop_assert_eq!(got, expected);
        let (done, not_done) = wait(&futures, Some(Duration::ZERO), ReturnWhen::AllCompleted);
        prop_assert_eq!((done.len(), not_done.len()), (futures.len(), 0));
    }

    /// `map` yields the results in input order, a failed item at its position and the rest after
    /// it; each item runs at most once; after shutdown the counters balance.
    #[test]
    fn map_matches_the_model(case in map_case()) {
        support::quiet_planned_panics();
        let executor = case.pool.build();
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let function = move |(index, item): (usize, Option<u16>)| {
            counter.fetch_add(1, SeqCst);
            match item {
                Some(value) => u32::from(value) * 2,
                None => panic!("{PLANNED} map failure at {index}"),
            }
        };
        let mut options = MapOptions::new().timeout(LIVENESS);
        if let Some(buffersize) = case.buffersize {
            options = options.buffersize(buffersize);
        }
        if let Some(chunksize) = case.chunksize {
            options = options.chunksize(chunksize);
        }
        let inputs: Vec<(usize, Option<u16>)> = case.items.iter().copied().enumerate().collect();
        let results = executor.map_with(function, inputs, options).expect("the pool is open");
        let got: Vec<Result<u32, FutureError>> = results.take(case.take).collect();

        let mut expected = Vec::new();
        for (index, item) in case.items.iter().enumerate() {
            match item {
                Some(value) => expected.push(Ok(u32::from(*value) * 2)),
                None => {
                    let panic = TaskPanic::new(format!("{PLANNED} map failure at {index}"));
                    expected.push(Err(FutureError::Panicked(panic)));
                }
            }
        }
        expected.truncate(case.take);
        prop_assert_eq!(got, expected);

        let handle = executor.handle();
        bounded("dropping the executor", move || drop(executor)).map_err(TestCaseError::fail)?;
        let stats = handle.stats();
        let ran = runs.load(SeqCst) as u64;
        prop_assert!(ran <= case.items.len() as u64, "{} runs for {} items", ran, case.items.len());
        prop_assert_eq!(stats.tasks_run(), ran);
        prop_assert!(stats.submitted <= case.items.len() as u64);
        prop_assert_eq!(stats.submitted, stats.tasks_run() + stats.tasks_not_run(), "{:?}", stats);
        prop_assert!(handle.submit(|| 0).is_err());
    }

    /// Nested submit-and-wait trees finish on any number of workers, including one, with every
    /// task run exactly once.
    #[test]
    fn nested_trees_finish_on_any_pool(pool in pool_spec(), fanout in prop::collection::vec(0usize..4, 0..4)) {
        let executor = pool.build();
        let runs = Arc::new(AtomicUsize::new(0));
        let fanout = Arc::new(fanout);
        let expected = subtree_size(&fanout);
        let (handle, tree_fanout, tree_runs) = (executor.handle(), fanout.clone(), runs.clone());
        let root = executor.submit(move || tree(handle, tree_fanout, 0, tree_runs)).expect("the pool is open");
        let total = *root.result_timeout(LIVENESS).map_err(|error| TestCaseError::fail(format!("{error:?}")))?;
        prop_assert_eq!(total, expected);
        prop_assert!(executor.threads_started() <= pool.workers);
        let handle = executor.handle();
        bounded("dropping the executor", move || drop(executor)).map_err(TestCaseError::fail)?;
        prop_assert_eq!(runs.load(SeqCst), expected);
        let stats = handle.stats();
        prop_assert_eq!(stats.submitted, expected as u64);
        prop_assert_eq!(stats.tasks_run(), expected as u64);
        prop_assert_eq!(stats.tasks_not_run(), 0);
    }
}
