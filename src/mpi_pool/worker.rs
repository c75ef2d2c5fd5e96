//! A worker rank: what [`run_if_worker`](crate::process_pool::run_if_worker) turns ranks
//! 1..N-1 into.
//!
//! Two threads. The main thread initialised MPI and makes every MPI call (the funnelled thread
//! level): it receives batches into the local queue, reports finished items, answers `Reclaim`
//! and `Stop`. The runner thread takes items from the front of the local queue and runs them one
//! at a time with the process pool's [`Registry`] (decode, run under `catch_unwind`, encode),
//! and hands each outcome back over a channel. Keeping MPI off the runner means a long task
//! never delays a report, a `Reclaim` or a `Stop`.
//!
//! The main thread keeps the protocol's turn-taking (module documentation of
//! [`mpi_pool`](super)): after sending a `Report` it sends nothing more until rank 0's `Tasks`
//! answer arrives; outcomes finished meanwhile go into the next report, and a `Reclaim` is
//! answered in it.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Condvar, Mutex, PoisonError};

use mpi::point_to_point::MatchedReceiveVec;
use mpi::traits::*;

use super::backoff::Backoff;
use super::protocol::{
    ReportWriter, SIGNAL, TAG_RECLAIM, TAG_REPORT, TAG_STOP, TAG_STOPPED, TAG_TASKS, decode_tasks,
};
use crate::process_pool::Registry;
use crate::process_pool::registry::ItemOutcome;

/// Reports are split above this size (well under MPI's 2 GiB message limit), so that big
/// outputs are not copied into one ever larger buffer.
const REPORT_LIMIT: usize = 64 << 20;

/// One task waiting in the local queue.
struct Item {
    id: u64,
    name: String,
    payload: Vec<u8>,
}

/// The local queue shared by the MPI thread and the runner.
#[derive(Default)]
struct Local {
    state: Mutex<LocalState>,
    ready: Condvar,
}

#[derive(Default)]
struct LocalState {
    queue: VecDeque<Item>,
    /// The runner is running an item.
    running: bool,
    stop: bool,
}

impl Local {
    fn lock(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serves tasks until rank 0 sends `Stop`, then finalises MPI and exits the process.
pub(crate) fn serve(registry: &Registry) -> ! {
    let (universe, rank, size) = match super::launch::initialize() {
        Ok(world) => world,
        Err(why) => {
            eprintln!("stealpool: MPI worker: {why}");
            std::process::exit(2)
        }
    };
    super::IN_WORKER_RANK.store(true, std::sync::atomic::Ordering::Relaxed);
    let local = Local::default();
    let (finished, outcomes) = mpsc::channel();
    std::thread::scope(|scope| {
        let runner = std::thread::Builder::new()
            .name(format!("stealpool-mpi-rank{rank}-runner"))
            .spawn_scoped(scope, || run_items(registry, &local, finished));
        if let Err(error) = runner {
            eprintln!("stealpool: MPI worker rank {rank} of {size}: cannot start its runner thread: {error}");
            std::process::exit(2);
        }
        let world = universe.world();
        communicate(&world, &local, &outcomes);
        // Stop: the runner may be inside a long task; it is not waited for.
        local.lock().stop = true;
        local.ready.notify_all();
        world.process_at_rank(0).send_with_tag(&SIGNAL[..], TAG_STOPPED);
        drop(universe); // MPI_Finalize
        let _ = std::io::stdout().flush();
        std::process::exit(0)
    })
}

/// The runner thread: runs the local queue's items in order until `stop`.
fn run_items(registry: &Registry, local: &Local, finished: Sender<(u64, ItemOutcome)>) {
    loop {
        let item = {
            let mut state = local.lock();
            loop {
                if state.stop {
                    return;
                }
                if let Some(item) = state.queue.pop_front() {
                    state.running = true;
                    break item;
                }
                state = local.ready.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let outcome = registry.run(&item.name, &item.payload);
        local.lock().running = false;
        if finished.send((item.id, outcome)).is_err() {
            return;
        }
    }
}

/// The MPI thread's loop; returns when rank 0 sends `Stop`.
fn communicate(world: &impl Communicator, local: &Local, outcomes: &Receiver<(u64, ItemOutcome)>) {
    let root = world.process_at_rank(0);
    let mut finished: VecDeque<(u64, ItemOutcome)> = VecDeque::new();
    let mut reclaim = false;
    let mut fatal: Option<String> = None;
    // The first report, empty, says the rank is ready; then wait for its answer.
    root.send_with_tag(&ReportWriter::default().finish(None, None)[..], TAG_REPORT);
    let mut awaiting = true;
    let mut backoff = Backoff::new();
    loop {
        finished.extend(outcomes.try_iter());
        if !awaiting && (!finished.is_empty() || reclaim || fatal.is_some()) {
            let mut report = ReportWriter::default();
            while let Some((id, outcome)) = finished.front() {
                if !report.push(*id, outcome, REPORT_LIMIT) {
                    break;
                }
                finished.pop_front();
            }
            // Given back: the items the runner has not taken (newest last, as they came).
            let returned: Option<Vec<u64>> = std::mem::take(&mut reclaim)
                .then(|| local.lock().queue.drain(..).map(|item| item.id).collect());
            let body = report.finish(returned.as_deref(), fatal.take().as_deref());
            root.send_with_tag(&body[..], TAG_REPORT);
            awaiting = true;
            backoff.reset();
            continue;
        }
        if let Some(message) = root.immediate_matched_probe() {
            let (body, status) = message.matched_receive_vec::<u8>();
            match status.tag() {
                TAG_TASKS => {
                    awaiting = false;
                    match decode_tasks(&body) {
                        Ok(tasks) => {
                            let mut state = local.lock();
                            state.queue.extend(tasks.into_iter().map(|task| Item {
                                id: task.id,
                                name: task.name.to_owned(),
                                payload: task.payload.to_vec(),
                            }));
                            drop(state);
                            local.ready.notify_one();
                        }
                        Err(why) => {
                            fatal = Some(format!("the worker rank could not read a batch of tasks: {why}"))
                        }
                    }
                }
                TAG_RECLAIM => reclaim = true,
                TAG_STOP => return,
                tag => eprintln!("stealpool: MPI worker: ignoring a message with unknown tag {tag}"),
            }
            backoff.reset();
            continue;
        }
        // Spin only while the runner is idle: a spinning MPI thread would take the core from
        // the task (ranks are often bound to one core each).
        let runner_idle = {
            let state = local.lock();
            state.queue.is_empty() && !state.running
        };
        // Holding no task at all, the rank is parked: work may be far off.
        let busy = !runner_idle || !finished.is_empty();
        match backoff.wait_on(outcomes, runner_idle, busy) {
            Ok(outcome) => {
                finished.push_back(outcome);
                backoff.reset();
            }
            Err(RecvTimeoutError::Timeout) => {}
            // The runner is gone (it cannot be, short of a bug): keep serving MPI until `Stop`.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(super::backoff::MAX_SLEEP),
        }
    }
}
