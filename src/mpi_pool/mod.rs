//! `MpiPoolExecutor`: the process pool's tasks run on the ranks of an MPI job
//! (mpi4py's `MPIPoolExecutor`), with the executors' API. Feature `mpi`.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use stealpool::mpi_pool::MpiPoolExecutor;
//! use stealpool::process_pool::{Registry, Task, run_if_worker};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Square(u64);
//!
//! impl Task for Square {
//!     type Output = u64;
//!     const NAME: &'static str = "square";
//!     fn run(self) -> u64 {
//!         self.0 * self.0
//!     }
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     run_if_worker(&Registry::new().register::<Square>()); // ranks 1..N-1 serve tasks here
//!     let pool = MpiPoolExecutor::new()?;                     // rank 0 goes on
//!     assert_eq!(*pool.submit(Square(7))?.result()?, 49);
//!     let squares: Vec<u64> = pool.map((1..=4).map(Square))?.collect::<Result<_, _>>()?;
//!     assert_eq!(squares, [1, 4, 9, 16]);
//!     Ok(())
//! }
//! ```
//!
//! Launch: `mpiexec -n 4 target/release/examples/NAME` (rank 0 and three worker ranks).
//!
//! # Ranks and the hook
//!
//! Every rank runs the same program. [`run_if_worker`](crate::process_pool::run_if_worker), the
//! process pool's hook, called first in `main`, also decides the MPI role (rank detection:
//! `launch.rs`): a rank above 0 of a launch with more than one rank initialises MPI and serves
//! tasks until the program ends, never returning; rank 0 starts its MPI thread (which
//! initialises MPI) and returns to run the program. Without `mpiexec`, or with `-n 1`, MPI is
//! never initialised and [`MpiPoolExecutor::new`] returns [`BuildError::InvalidConfig`] saying
//! so: there are no worker ranks, and the program should use a
//! [`ProcessPoolExecutor`](crate::ProcessPoolExecutor) instead (`mpi_pool::worker_ranks()` tells
//! which case it is in).
//!
//! The worker ranks belong to the program, not to one executor: executors built one after the
//! other (or at the same time) share them, and their tasks share one queue. MPI is finalised
//! when the thread that started rank 0's MPI thread ends: the main thread, when the hook was
//! called first in `main`, so MPI ends as the program returns from `main` (or calls
//! `std::process::exit` on the main thread). Then queued and running tasks fail with
//! [`FutureError::Broken`], every worker rank is told to stop, and rank 0 finalises MPI. A
//! program that ends from another thread skips this, and Open MPI reports that rank 0 exited
//! without finalising.
//!
//! # Protocol
//!
//! Rank 0's MPI thread (`rank0.rs`) owns a central FIFO queue of jobs (a task, or a `map`
//! chunk) and, per worker rank, the tasks it holds. Worker ranks (`worker.rs`) run a local
//! queue. The messages (`protocol.rs`):
//!
//! - worker → rank 0: `Report` (finished results, tasks given back, or nothing: "ready"), and
//!   `Stopped`, its last message;
//! - rank 0 → worker: `Tasks` (a batch, possibly empty), only as the answer to a `Report`;
//!   `Reclaim` and `Stop`, unsolicited one-byte signals.
//!
//! **Turn-taking.** Between rank 0 and each worker, reports and answers alternate: a worker
//! sends a `Report` only when it has no unanswered one, and rank 0 sends `Tasks` only to a
//! worker whose report it has not answered yet. So the two never send each other a `Tasks` and
//! a `Report` at the same time, and every blocking send meets a peer that is receiving (a worker
//! waiting for an answer probes for it; rank 0 probes all the time): no deadlock, whatever the
//! message sizes and MPI's eager limits. The unsolicited signals are sent with non-blocking sends
//! from a `static` buffer, so rank 0 never blocks on them, and each worker receives them whatever
//! it is doing. A worker's results that finish while it waits for an answer go into its next
//! report; a `Reclaim` is answered in it.
//!
//! **Scheduling.** Rank 0 answers a report at once with a batch: whole jobs from the front of
//! the queue, up to the rank's free room (`RANK_CAPACITY` = 16 tasks held per rank) and its fair
//! share (queued tasks / worker ranks, at least one), so that the last tasks spread over ranks
//! instead of filling one. Idle ranks are served first. A rank that is idle and gets nothing is
//! *parked*: its answer waits until tasks arrive. The local queue hides a round trip: while a
//! rank runs one task, the results of the previous ones travel and the next batch arrives. When
//! the queue is empty and a rank is parked, rank 0 sends `Reclaim` to every rank holding two or
//! more tasks; each gives back the tasks its runner has not started, they return to the front
//! of the queue and go to the idle ranks. So a long task holds up no one: what was queued behind
//! it moves to a rank that is free (the scheduler's work stealing, with rank 0 as the thief's
//! agent).
//!
//! **Invariant.** Every accepted task is in exactly one place: the central queue, held by
//! exactly one worker rank (recorded in rank 0's table under that rank; in flight, queued, or
//! running there), or done. A task leaves a worker only by its result or by being given back,
//! each reported once by that worker; rank 0 moves it out of the rank's table when the report
//! arrives. Hence no task is lost or run twice, and each future completes once.
//!
//! **Threads.** Each process makes all its MPI calls from one thread (see `launch.rs`), which
//! polls: it spins briefly after activity, then backs off to 1 ms sleeps (`backoff.rs`). On rank 0 that
//! is the MPI thread; executors talk to it over a channel, and the futures' done-callbacks run
//! on it (don't block in them). On a worker it is the main thread; tasks run on a runner thread.
//!
//! # API and semantics
//!
//! As [`ProcessPoolExecutor`](crate::ProcessPoolExecutor): [`submit`](MpiPoolExecutor::submit),
//! [`map`](MpiPoolExecutor::map) / [`map_with`](MpiPoolExecutor::map_with) (with `chunksize`: a
//! chunk travels to one rank as one job), futures that work with [`wait`](crate::wait) and
//! [`as_completed`](crate::as_completed), `cancel()` of a task not yet sent to a rank (once sent it
//! is running: `cancel()` returns false), [`shutdown`](MpiPoolExecutor::shutdown)`(wait,
//! cancel_futures)`, and `Drop` as `shutdown(wait = true)`. A panic in a task comes back as
//! [`FutureError::Panicked`] with its message; an unknown task name, an undecodable value or an
//! output that cannot be serialised fails only its future ([`FutureError::WorkerFailed`]).
//! Not offered: `initializer` and `max_tasks_per_child` (ranks are not restarted).
//!
//! # Faults
//!
//! MPI's default fault model ends the job when a rank dies: if a worker rank aborts, is killed
//! or runs out of memory, `mpiexec` (Open MPI) kills every rank, rank 0 included, and prints
//! which rank died and how ("mpiexec noticed that process rank 1 ... exited on signal 6
//! (Aborted)"), exiting with a failure status. Nothing hangs, but nothing survives either:
//! unlike the process pool, the pool cannot replace a rank (that would need MPI's
//! fault-tolerance extension, ULFM, which Open MPI does not enable by default). A report that
//! cannot be read retires its rank: its tasks fail with [`FutureError::WorkerFailed`] and no
//! more go to it.

mod backoff;
mod launch;
mod protocol;
mod rank0;
mod worker;

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

use self::rank0::{Command, Job, JobItem, Typed};
use crate::error::{BrokenReason, BuildError, FutureError, SubmitError, WorkerFailure};
use crate::future::{Future, Promise};
use crate::map::{MapIter, MapOptions};
use crate::process_pool::map::ChunkFeeder;
use crate::process_pool::protocol::encode_value;
use crate::process_pool::{Registry, Task};

/// Set on a worker rank (to refuse building a pool inside a task there).
static IN_WORKER_RANK: AtomicBool = AtomicBool::new(false);

/// Rank 0's MPI thread, once started (or why it could not be).
static WORLD: OnceLock<Result<World, String>> = OnceLock::new();

struct World {
    commands: Sender<Command>,
    workers: usize,
}

thread_local! {
    /// Ends MPI when the thread that started rank 0's MPI thread ends (see "Ranks and the hook").
    static FINALIZER: RefCell<Option<Finalizer>> = const { RefCell::new(None) };
}

struct Finalizer {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Finalizer {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Finalize);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The hook's MPI part (called by `run_if_worker`): a worker rank serves tasks and never
/// returns; rank 0 starts its MPI thread; any other process returns at once.
pub(crate) fn enter(registry: &Registry) {
    match launch::launched() {
        Some((rank, size)) if size > 1 && rank > 0 => worker::serve(registry),
        Some((0, size)) if size > 1 => {
            if let Err(why) = world() {
                eprintln!("stealpool: rank 0 could not start MPI: {why}");
            }
        }
        _ => {}
    }
}

/// Rank 0's MPI thread, started on first use.
fn world() -> Result<&'static World, &'static str> {
    let world = WORLD.get_or_init(|| {
        let workers = match launch::launched() {
            None => {
                return Err(
                    "this process was not started by mpiexec (or another MPI launcher), so there are \
                            no worker ranks: launch it with `mpiexec -n N` (N >= 2), or use a \
                            ProcessPoolExecutor"
                        .into(),
                );
            }
            Some((_, 1)) => {
                return Err("the MPI job has a single rank, so there are no worker ranks: launch it with \
                            `mpiexec -n N` (N >= 2), or use a ProcessPoolExecutor"
                    .into());
            }
            Some((rank, _)) if rank != 0 => {
                return Err(format!("an MPI pool can only be built on rank 0 (this is rank {rank})"));
            }
            Some((_, size)) => size - 1,
        };
        let started = rank0::start()?;
        debug_assert_eq!(started.workers, workers);
        let commands = started.commands.clone();
        FINALIZER.with(|slot| {
            *slot.borrow_mut() = Some(Finalizer { commands: started.commands, thread: Some(started.thread) })
        });
        Ok(World { commands, workers: started.workers })
    });
    world.as_ref().map_err(String::as_str)
}

/// The number of worker ranks an [`MpiPoolExecutor`] can use: the MPI job's size minus one, or
/// zero when the process was not launched by `mpiexec` with two ranks or more (then
/// [`MpiPoolExecutor::new`] fails). Reads the launcher's environment; starts nothing.
pub fn worker_ranks() -> usize {
    match launch::launched() {
        Some((_, size)) if size > 1 => size - 1,
        _ => 0,
    }
}

/// The rank of this process in the MPI job (0 for the program, 1.. for workers), from the
/// launcher's environment; `None` without `mpiexec`. Tasks may call it to learn where they run.
pub fn this_rank() -> Option<usize> {
    launch::launched().map(|(rank, _)| rank)
}

/// A pool of MPI worker ranks running [`Task`]s (mpi4py's `MPIPoolExecutor`).
///
/// Build it on rank 0 of an `mpiexec` launch whose `main` called
/// [`run_if_worker`](crate::process_pool::run_if_worker) first (see the
/// [module documentation](self)). Dropping it is `shutdown(wait = true)`.
pub struct MpiPoolExecutor {
    state: Arc<ExecState>,
    commands: Sender<Command>,
    workers: usize,
}

/// What an executor and the done-callbacks of its futures share.
struct ExecState {
    id: u64,
    counts: Mutex<Counts>,
    all_done: Condvar,
}

struct Counts {
    shutdown: bool,
    /// Tasks accepted and still held by rank 0 (see [`Ticket`]).
    unfinished: usize,
}

impl ExecState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One accepted task of an executor, held by rank 0 with the task: dropped when rank 0 lets go
/// of the task (completed, cancelled while queued, or failed), which is when
/// `shutdown(wait = true)` stops waiting for it. Counting this way needs no done-callback on the
/// user's future (a running callback would hold a handle and make `join` fail with `Shared`).
pub(crate) struct Ticket(Arc<ExecState>);

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self.0.lock();
        counts.unfinished -= 1;
        if counts.unfinished == 0 {
            self.0.all_done.notify_all();
        }
    }
}

impl MpiPoolExecutor {
    /// An executor over every worker rank of the MPI job.
    ///
    /// [`BuildError::InvalidConfig`] when there are no worker ranks (no `mpiexec`, or `-n 1`),
    /// on a worker rank, or when MPI could not be started; the text says which.
    pub fn new() -> Result<Self, BuildError> {
        if IN_WORKER_RANK.load(Ordering::Relaxed) {
            return Err(BuildError::InvalidConfig(
                "an MPI pool cannot be built inside a task running on a worker rank".into(),
            ));
        }
        let world = world().map_err(|why| BuildError::InvalidConfig(why.to_owned()))?;
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let state = ExecState {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            counts: Mutex::new(Counts { shutdown: false, unfinished: 0 }),
            all_done: Condvar::new(),
        };
        Ok(MpiPoolExecutor {
            state: Arc::new(state),
            commands: world.commands.clone(),
            workers: world.workers,
        })
    }

    /// Sends `task` to a worker rank and returns the future of its output.
    ///
    /// `Err(SubmitError::Shutdown)` after shutdown; `Err(SubmitError::Broken)` once MPI has been
    /// finalised. A value that cannot be serialised gives a future that has already failed with
    /// [`FutureError::WorkerFailed`].
    pub fn submit<T: Task>(&self, task: T) -> Result<Future<T::Output>, SubmitError> {
        let mut futures = self.submit_job(vec![task])?;
        Ok(futures.pop().expect("one future per task"))
    }

    /// Runs every task of `tasks` on the pool; the outputs come in input order (see
    /// [`map_with`](Self::map_with)).
    pub fn map<'a, T, I>(&self, tasks: I) -> Result<MapIter<'a, T::Output>, SubmitError>
    where
        T: Task,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
    {
        self.map_with(tasks, MapOptions::new())
    }

    /// `map` with a timeout, a bounded look-ahead (`buffersize`) or a `chunksize`.
    ///
    /// With `chunksize = n`, `n` consecutive tasks travel to one rank together and run there one
    /// after the other (fewer messages for small tasks), unless an idle rank reclaims the ones
    /// not started yet. Each still has its own result, and a failed item does not end the
    /// iteration; the map's `timeout` does (see [`MapIter`]). Dropping the iterator cancels the
    /// items that have not been sent.
    pub fn map_with<'a, T, I>(
        &self,
        tasks: I,
        options: MapOptions,
    ) -> Result<MapIter<'a, T::Output>, SubmitError>
    where
        T: Task,
        I: IntoIterator<Item = T>,
        I::IntoIter: 'a,
    {
        let pool = Submitter { state: self.state.clone(), commands: self.commands.clone() };
        let mut feeder =
            ChunkFeeder::new(tasks.into_iter(), options.chunk_len(), move |chunk| pool.submit_job(chunk));
        MapIter::start(Box::new(move || feeder.next()), options)
    }

    /// Stops accepting tasks. With `cancel_futures`, cancels this executor's tasks not yet sent
    /// to a rank; with `wait`, returns once every task it accepted is done (run, failed or
    /// cancelled). Idempotent. Called from a done-callback (which runs on rank 0's MPI thread) it
    /// does not wait: that thread must go on to complete the tasks.
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        let mut counts = self.state.lock();
        counts.shutdown = true;
        if cancel_futures {
            let _ = self.commands.send(Command::CancelQueued(self.state.id));
        }
        if !wait || rank0::on_mpi_thread() {
            return;
        }
        while counts.unfinished > 0 {
            counts = self.state.all_done.wait(counts).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The number of worker ranks (the MPI job's size minus one).
    pub fn max_workers(&self) -> usize {
        self.workers
    }

    fn submit_job<T: Task>(&self, tasks: Vec<T>) -> Result<Vec<Future<T::Output>>, SubmitError> {
        Submitter { state: self.state.clone(), commands: self.commands.clone() }.submit_job(tasks)
    }
}

impl Drop for MpiPoolExecutor {
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for MpiPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpiPoolExecutor").field("max_workers", &self.workers).finish_non_exhaustive()
    }
}

/// What submitting needs (shared by the executor and its `map` iterators).
struct Submitter {
    state: Arc<ExecState>,
    commands: Sender<Command>,
}

impl Submitter {
    /// Submits one job carrying `tasks` (one task, or a `map` chunk).
    fn submit_job<T: Task>(&self, tasks: Vec<T>) -> Result<Vec<Future<T::Output>>, SubmitError> {
        let mut counts = self.state.lock();
        if counts.shutdown {
            return Err(SubmitError::Shutdown);
        }
        let mut futures = Vec::with_capacity(tasks.len());
        let mut items = Vec::with_capacity(tasks.len());
        for task in tasks {
            let (promise, future) = Promise::new();
            match encode_value(&task) {
                Ok(payload) => {
                    counts.unfinished += 1;
                    let completer =
                        Box::new(Typed { promise, task: T::NAME, _ticket: Ticket(self.state.clone()) });
                    items.push(JobItem { name: T::NAME, payload, completer, started: false });
                }
                Err(message) => {
                    let failure = WorkerFailure::InputUnencodable { task: T::NAME.to_owned(), message };
                    let _ = promise.set_error(FutureError::WorkerFailed(failure));
                }
            }
            futures.push(future);
        }
        // Unlocked before a refused job is dropped: its tickets take the lock.
        drop(counts);
        if !items.is_empty()
            && self.commands.send(Command::Submit(Job { owner: self.state.id, items })).is_err()
        {
            return Err(SubmitError::Broken(BrokenReason::MpiFinalized));
        }
        Ok(futures)
    }
}
