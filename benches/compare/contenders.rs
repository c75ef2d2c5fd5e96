//! The contenders, each behind one small adapter implementing [`Contender`].
//!
//! Every adapter runs the same [`Case`] with its own library's most idiomatic, fastest fair
//! means of submitting and waiting (the configuration each uses is written in [`SPECS`] and
//! copied into the report). A case an adapter cannot express honestly is refused with a reason,
//! which the report prints instead of a number.

use std::future::Future as StdFuture;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use stealpool::{LocalOrder, PoolHandle, SchedulerKind, ThreadPoolExecutor, as_completed};

use crate::work::{Latch, Work, nanos_since};

/// A workload instance: what one timed sample runs.
#[derive(Clone, Copy, Debug)]
pub enum Case {
    /// `n` tasks submitted from a thread outside the pool, then wait for all.
    Burst { n: usize, work: Work },
    /// A binary tree of tasks spawned from tasks, `depth` levels below the root; leaves do `work`.
    Nested { depth: u32, work: Work },
    /// `Executor.map` over `0..n`, results consumed in order.
    Map { n: usize, work: Work },
    /// `n` submissions consumed in completion order.
    AsCompleted { n: usize, work: Work },
}

/// What a contender is, for the ratios of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// stealpool's work-stealing scheduler.
    Ours,
    /// stealpool's shared-queue scheduler, the "naive channel pool" every ratio is taken against.
    Naive,
    /// Another library (or `std::thread`).
    Peer,
    /// The sequential loop on the calling thread: the lower bound of the overhead.
    Limit,
}

/// One contender at one worker count.
pub trait Contender {
    /// `Err(reason)` when this contender has no honest way to run `case`.
    fn supports(&self, case: &Case) -> Result<(), &'static str>;

    /// Runs `case` once; returns when all its tasks have finished.
    fn run(&self, case: &Case);

    /// One latency probe: submits `background` tasks of `load` work, then an empty probe task,
    /// and returns (submit→start, submit→result) of the probe in nanoseconds; then waits for the
    /// background. `None` if the contender has no pool to probe (or cannot be loaded).
    fn probe(&self, background: usize, load: Work) -> Option<(u64, u64)>;
}

/// A contender's identity, its configuration and how to build it.
pub struct Spec {
    pub id: &'static str,
    pub role: Role,
    /// False when the worker count does not apply (measured once, shown at every count).
    pub scales: bool,
    pub config: &'static str,
    pub build: fn(usize) -> Box<dyn Contender>,
}

/// Every contender of the comparison, in report order.
pub const SPECS: &[Spec] = &[
    Spec {
        id: "stealpool-ws",
        role: Role::Ours,
        scales: true,
        config: "`ThreadPoolExecutor::builder().max_workers(w).scheduler(SchedulerKind::WorkStealing)\
                 .local_order(LocalOrder::Lifo)`; outside: `submit` then `result()` on each future; \
                 nested: `PoolHandle::submit` of both children, then `result()` on both (the waiting \
                 worker runs queued work meanwhile)",
        build: |w| Box::new(Stealpool::new(w, SchedulerKind::WorkStealing, LocalOrder::Lifo)),
    },
    Spec {
        id: "stealpool-ws-fifo",
        role: Role::Ours,
        scales: true,
        config: "as `stealpool-ws` with `.local_order(LocalOrder::Fifo)`",
        build: |w| Box::new(Stealpool::new(w, SchedulerKind::WorkStealing, LocalOrder::Fifo)),
    },
    Spec {
        id: "stealpool-ws-join",
        role: Role::Ours,
        scales: true,
        config: "as `stealpool-ws`, nested fan-out only, written with `PoolHandle::join` (rayon's \
                 idiom: the second child queued on the worker's deque, the first run inline, the \
                 second claimed back unless stolen; no `Future` per node)",
        build: |w| Box::new(StealpoolJoin(Stealpool::new(w, SchedulerKind::WorkStealing, LocalOrder::Lifo))),
    },
    Spec {
        id: "stealpool-shared",
        role: Role::Naive,
        scales: true,
        config: "as `stealpool-ws` with `.scheduler(SchedulerKind::SharedQueue)`: one \
                 FIFO queue that every worker takes from and sleeps on (the naive channel pool, \
                 CPython's design; a lock-free `Injector` and the same sleep protocol as work \
                 stealing, so the two differ only in per-worker deques and stealing)",
        build: |w| Box::new(Stealpool::new(w, SchedulerKind::SharedQueue, LocalOrder::Lifo)),
    },
    Spec {
        id: "threadpool",
        role: Role::Peer,
        scales: true,
        config: "`threadpool::ThreadPool::new(w)`; `execute` + a count-down latch (one lock round \
                 trip per batch); nested: children `execute`d from tasks, leaves count down; \
                 latency: result through an `mpsc` channel",
        build: |w| Box::new(ThreadPoolCrate { pool: threadpool::ThreadPool::new(w) }),
    },
    Spec {
        id: "rayon",
        role: Role::Peer,
        scales: true,
        config: "`rayon::ThreadPoolBuilder::new().num_threads(w)`; outside: `ThreadPool::spawn` + \
                 count-down latch (rayon's path for work from outside the pool); nested: \
                 `install` + recursive `rayon::join` (rayon's idiom: one side runs inline, so it \
                 makes half the tasks); latency: `spawn` + `mpsc` channel",
        build: |w| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(w).build().expect("a rayon pool");
            Box::new(Rayon { pool })
        },
    },
    Spec {
        id: "tokio",
        role: Role::Peer,
        scales: true,
        config: "`tokio::runtime::Builder::new_multi_thread().worker_threads(w)`; `Runtime::spawn` \
                 then `block_on` over the `JoinHandle`s; nested: `tokio::spawn` of both children, \
                 then `.await` both; as_completed: `JoinSet::join_next` (completion order)",
        build: |w| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(w)
                .build()
                .expect("a tokio runtime");
            Box::new(Tokio { runtime })
        },
    },
    Spec {
        id: "std-thread",
        role: Role::Peer,
        scales: false,
        config: "`std::thread::Builder::new().stack_size(64 KiB).spawn` per task, `join` each; only \
                 up to 10 000 tasks and depth 12 (depth 16 would keep up to 65 536 threads alive \
                 at once, beyond the default `pid_max` of 32 768)",
        build: |_| Box::new(StdThread),
    },
    Spec {
        id: "inline",
        role: Role::Limit,
        scales: false,
        config: "a sequential loop (or recursion) on the calling thread: the same work, no pool",
        build: |_| Box::new(Inline),
    },
];

const NO_MAP: &str = "no per-item futures yielding results in input order (rayon's `par_iter`, \
                      the nearest, chunks the input: a different contract)";
const NO_AS_COMPLETED: &str = "no completion-order iterator over independent futures";

// --- stealpool ------------------------------------------------------------------------------

struct Stealpool {
    pool: ThreadPoolExecutor,
}

impl Stealpool {
    fn new(workers: usize, scheduler: SchedulerKind, order: LocalOrder) -> Stealpool {
        let pool = ThreadPoolExecutor::builder()
            .max_workers(workers)
            .scheduler(scheduler)
            .local_order(order)
            .build()
            .expect("a valid pool configuration");
        Stealpool { pool }
    }

    fn submit_all(&self, n: usize, work: Work) -> Vec<stealpool::Future<()>> {
        (0..n).map(|i| self.pool.submit(move || work.run(i)).expect("the pool is open")).collect()
    }
}

/// A tree node: submit both children to the pool, then wait for both (helping meanwhile).
fn stealpool_node(handle: &PoolHandle, depth: u32, index: usize, work: Work) {
    if depth == 0 {
        work.run(index);
        return;
    }
    let children: [stealpool::Future<()>; 2] = [0, 1].map(|side| {
        let inner = handle.clone();
        handle
            .submit(move || stealpool_node(&inner, depth - 1, 2 * index + side, work))
            .expect("the pool is open")
    });
    for child in &children {
        child.result().expect("a tree task does not fail");
    }
}

impl Contender for Stealpool {
    fn supports(&self, _case: &Case) -> Result<(), &'static str> {
        Ok(())
    }

    fn run(&self, case: &Case) {
        match *case {
            Case::Burst { n, work } => {
                for future in &self.submit_all(n, work) {
                    future.result().expect("a burst task does not fail");
                }
            }
            Case::Nested { depth, work } => {
                let handle = self.pool.handle();
                let root = self.pool.submit(move || stealpool_node(&handle, depth, 0, work));
                root.expect("the pool is open").result().expect("the root does not fail");
            }
            Case::Map { n, work } => {
                let results = self.pool.map(move |i: usize| work.run(i), 0..n).expect("the pool is open");
                for result in results {
                    result.expect("a map item does not fail");
                }
            }
            Case::AsCompleted { n, work } => {
                let futures = self.submit_all(n, work);
                for done in as_completed(&futures, None) {
                    done.expect("no timeout was set");
                }
            }
        }
    }

    fn probe(&self, background: usize, load: Work) -> Option<(u64, u64)> {
        let load = self.submit_all(background, load);
        let submitted = Instant::now();
        let probe = self.pool.submit(move || nanos_since(submitted)).expect("the pool is open");
        let started = *probe.result().expect("the probe does not fail");
        let finished = nanos_since(submitted);
        for future in &load {
            future.result().expect("a load task does not fail");
        }
        Some((started, finished))
    }
}

/// `stealpool-ws` with the nested tree written with `PoolHandle::join`.
struct StealpoolJoin(Stealpool);

fn stealpool_join_node(handle: &PoolHandle, depth: u32, index: usize, work: Work) {
    if depth == 0 {
        work.run(index);
        return;
    }
    handle.join(
        || stealpool_join_node(handle, depth - 1, 2 * index, work),
        || stealpool_join_node(handle, depth - 1, 2 * index + 1, work),
    );
}

impl Contender for StealpoolJoin {
    fn supports(&self, case: &Case) -> Result<(), &'static str> {
        match case {
            Case::Nested { .. } => Ok(()),
            _ => Err("a variant of `stealpool-ws` for the nested fan-out only"),
        }
    }

    fn run(&self, case: &Case) {
        let Case::Nested { depth, work } = *case else { unreachable!("refused by supports") };
        let handle = self.0.pool.handle();
        let root = self.0.pool.submit(move || stealpool_join_node(&handle, depth, 0, work));
        root.expect("the pool is open").result().expect("the root does not fail");
    }

    fn probe(&self, _background: usize, _load: Work) -> Option<(u64, u64)> {
        None // the same pool as `stealpool-ws`
    }
}

// --- shared by the latch-counted peers (threadpool, rayon) ----------------------------------

/// One task of a latch-counted burst: runs its work, then counts the latch down. A concrete type,
/// so that handing it to a pool's own `execute`/`spawn` adds no allocation of ours.
struct Counted {
    latch: Arc<Latch>,
    work: Work,
    index: usize,
}

impl Counted {
    fn run(self) {
        self.work.run(self.index);
        self.latch.count_down();
    }
}

/// `n` tasks of `work` handed to `spawn` from this thread, waited for through one latch.
fn latch_burst(n: usize, work: Work, spawn: impl Fn(Counted)) {
    let latch = Arc::new(Latch::new(n));
    for index in 0..n {
        spawn(Counted { latch: latch.clone(), work, index });
    }
    latch.wait();
}

/// The probe task of [`channel_probe`]: sends the time from submission to its start.
struct Probe {
    sender: mpsc::Sender<u64>,
    submitted: Instant,
}

impl Probe {
    fn run(self) {
        self.sender.send(nanos_since(self.submitted)).expect("the prober waits");
    }
}

/// A latency probe for pools whose tasks return nothing: `background` tasks of `load` through
/// `spawn_load`, then the probe through `spawn_probe`, its result back through a channel.
fn channel_probe(
    background: usize,
    load: Work,
    spawn_load: impl Fn(Counted),
    spawn_probe: impl FnOnce(Probe),
) -> Option<(u64, u64)> {
    let latch = Arc::new(Latch::new(background));
    for index in 0..background {
        spawn_load(Counted { latch: latch.clone(), work: load, index });
    }
    let (sender, receiver) = mpsc::channel();
    let submitted = Instant::now();
    spawn_probe(Probe { sender, submitted });
    let started = receiver.recv().expect("the probe runs");
    let finished = nanos_since(submitted);
    latch.wait();
    Some((started, finished))
}

// --- threadpool ------------------------------------------------------------------------------

struct ThreadPoolCrate {
    pool: threadpool::ThreadPool,
}

fn threadpool_node(pool: &threadpool::ThreadPool, latch: &Arc<Latch>, depth: u32, index: usize, work: Work) {
    if depth == 0 {
        work.run(index);
        latch.count_down();
        return;
    }
    for side in 0..2 {
        let (inner, latch) = (pool.clone(), latch.clone());
        pool.execute(move || threadpool_node(&inner, &latch, depth - 1, 2 * index + side, work));
    }
}

impl Contender for ThreadPoolCrate {
    fn supports(&self, case: &Case) -> Result<(), &'static str> {
        match case {
            Case::Map { .. } => Err(NO_MAP),
            Case::AsCompleted { .. } => Err(NO_AS_COMPLETED),
            _ => Ok(()),
        }
    }

    fn run(&self, case: &Case) {
        match *case {
            Case::Burst { n, work } => latch_burst(n, work, |task| self.pool.execute(move || task.run())),
            Case::Nested { depth, work } => {
                let latch = Arc::new(Latch::new(1 << depth));
                threadpool_node(&self.pool, &latch, depth, 0, work);
                latch.wait();
            }
            _ => unreachable!("refused by supports"),
        }
    }

    fn probe(&self, background: usize, load: Work) -> Option<(u64, u64)> {
        channel_probe(
            background,
            load,
            |task| self.pool.execute(move || task.run()),
            |probe| self.pool.execute(move || probe.run()),
        )
    }
}

// --- rayon -----------------------------------------------------------------------------------

struct Rayon {
    pool: rayon::ThreadPool,
}

fn rayon_node(depth: u32, index: usize, work: Work) {
    if depth == 0 {
        work.run(index);
        return;
    }
    rayon::join(|| rayon_node(depth - 1, 2 * index, work), || rayon_node(depth - 1, 2 * index + 1, work));
}

impl Contender for Rayon {
    fn supports(&self, case: &Case) -> Result<(), &'static str> {
        match case {
            Case::Map { .. } => Err(NO_MAP),
            Case::AsCompleted { .. } => Err(NO_AS_COMPLETED),
            _ => Ok(()),
        }
    }

    fn run(&self, case: &Case) {
        match *case {
            Case::Burst { n, work } => latch_burst(n, work, |task| self.pool.spawn(move || task.run())),
            Case::Nested { depth, work } => self.pool.install(|| rayon_node(depth, 0, work)),
            _ => unreachable!("refused by supports"),
        }
    }

    fn probe(&self, background: usize, load: Work) -> Option<(u64, u64)> {
        channel_probe(
            background,
            load,
            |task| self.pool.spawn(move || task.run()),
            |probe| self.pool.spawn(move || probe.run()),
        )
    }
}

// --- tokio -----------------------------------------------------------------------------------

struct Tokio {
    runtime: tokio::runtime::Runtime,
}

/// A tree node as a task: spawn both children, await both (boxed: the future type is recursive).
fn tokio_node(depth: u32, index: usize, work: Work) -> Pin<Box<dyn StdFuture<Output = ()> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            work.run(index);
            return;
        }
        let left = tokio::spawn(tokio_node(depth - 1, 2 * index, work));
        let right = tokio::spawn(tokio_node(depth - 1, 2 * index + 1, work));
        left.await.expect("a tree task does not fail");
        right.await.expect("a tree task does not fail");
    })
}

impl Contender for Tokio {
    fn supports(&self, case: &Case) -> Result<(), &'static str> {
        match case {
            Case::Map { .. } => Err(NO_MAP),
            _ => Ok(()),
        }
    }

    fn run(&self, case: &Case) {
        match *case {
            Case::Burst { n, work } => {
                let handles: Vec<_> =
                    (0..n).map(|i| self.runtime.spawn(async move { work.run(i) })).collect();
                self.runtime.block_on(async move {
                    for handle in handles {
                        handle.await.expect("a burst task does not fail");
                    }
                });
            }
            Case::Nested { depth, work } => {
                let root = self.runtime.spawn(tokio_node(depth, 0, work));
                self.runtime.block_on(root).expect("the root does not fail");
            }
            Case::AsCompleted { n, work } => self.runtime.block_on(async move {
                let mut set = tokio::task::JoinSet::new();
                for i in 0..n {
                    set.spawn(async move { work.run(i) });
                }
                while let Some(done) = set.join_next().await {
                    done.expect("a task does not fail");
                }
            }),
            Case::Map { .. } => unreachable!("refused by supports"),
        }
    }

    fn probe(&self, background: usize, load: Work) -> Option<(u64, u64)> {
        let load: Vec<_> = (0..background).map(|i| self.runtime.spawn(async move { load.run(i) })).collect();
        let submitted = Instant::now();
        let probe = self.runtime.spawn(async move { nanos_since(submitted) });
        let started = self.runtime.block_on(probe).expect("the probe does not fail");
        let finished = nanos_since(submitted);
        self.runtime.block_on(async move {
            for handle in load {
                handle.await.expect("a load task does not fail");
            }
        });
        Some((started, finished))
    }
}

// --- std::thread per task --------------------------------------------------------------------

struct StdThread;

/// Largest burst and tree depth run with a thread per task (see its `Spec::config`).
const STD_THREAD_MAX_TASKS: usize = 10_000;
const STD_THREAD_MAX_DEPTH: u32 = 12;

fn spawn_small<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new().stack_size(64 * 1024).spawn(f).expect("a thread")
}

fn std_thread_node(depth: u32, index: usize, work: Work) {
    if depth == 0 {
        work.run(index);
        return;
    }
    let children = [0, 1].map(|side| spawn_small(move || std_thread_node(depth - 1, 2 * index + side, work)));
    for child in children {
        child.join().expect("a tree thread does not panic");
    }
}

impl Contender for StdThread {
    fn supports(&self, case: &Case) -> Result<(), &'static str> {
        match *case {
            Case::Burst { n, .. } if n > STD_THREAD_MAX_TASKS => {
                Err("a thread per task: 10 000 tasks at most")
            }
            Case::Nested { depth, .. } if depth > STD_THREAD_MAX_DEPTH => {
                Err("a thread per task: up to 65 536 live threads exceed the default pid_max")
            }
            Case::Map { .. } => Err(NO_MAP),
            Case::AsCompleted { .. } => Err(NO_AS_COMPLETED),
            _ => Ok(()),
        }
    }

    fn run(&self, case: &Case) {
        match *case {
            Case::Burst { n, work } => {
                let threads: Vec<_> = (0..n).map(|i| spawn_small(move || work.run(i))).collect();
                for thread in threads {
                    thread.join().expect("a burst thread does not panic");
                }
            }
            Case::Nested { depth, work } => {
                spawn_small(move || std_thread_node(depth, 0, work)).join().expect("the root does not panic")
            }
            _ => unreachable!("refused by supports"),
        }
    }

    fn probe(&self, background: usize, _load: Work) -> Option<(u64, u64)> {
        if background > 0 {
            return None; // no pool to load: every thread starts on its own
        }
        let submitted = Instant::now();
        let started = spawn_small(move || nanos_since(submitted)).join().expect("the probe does not panic");
        Some((started, nanos_since(submitted)))
    }
}

// --- the sequential limit --------------------------------------------------------------------

struct Inline;

fn inline_node(depth: u32, index: usize, work: Work) {
    if depth == 0 {
        work.run(index);
        return;
    }
    inline_node(depth - 1, 2 * index, work);
    inline_node(depth - 1, 2 * index + 1, work);
}

impl Contender for Inline {
    fn supports(&self, _case: &Case) -> Result<(), &'static str> {
        Ok(())
    }

    fn run(&self, case: &Case) {
        match *case {
            Case::Burst { n, work } | Case::Map { n, work } | Case::AsCompleted { n, work } => {
                (0..n).for_each(|i| work.run(i))
            }
            Case::Nested { depth, work } => inline_node(depth, 0, work),
        }
    }

    fn probe(&self, _background: usize, _load: Work) -> Option<(u64, u64)> {
        None
    }
}
