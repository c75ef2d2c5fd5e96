//! The Python notes' two process-pool programs, run on MPI ranks instead of child processes.
//!
//! The originals (see `process_pool_basic.rs` and `process_pool_context.rs`):
//!
//! ```python
//! def task():
//!     print("Executing our Task on Process {}".format(os.getpid()))
//!
//! def main():
//!     executor = ProcessPoolExecutor(max_workers=3)
//!     task1 = executor.submit(task)
//!     task2 = executor.submit(task)
//! ```
//!
//! ```python
//! def task(index):
//!     time.sleep(3)
//!     print("Executing our Task on Process {} {}".format(index, os.getpid()))
//!
//! def main():
//!     with ProcessPoolExecutor(max_workers=3) as executor:
//!         future = executor.submit(task, (2))
//!         future = executor.submit(task, (3))
//!         future = executor.submit(task, (4))
//!     print("All tasks complete")
//! ```
//!
//! Here the pool is an `MpiPoolExecutor`: rank 0 runs `main`, ranks 1.. run the tasks (mpi4py's
//! `MPIPoolExecutor`). The first line of `main`, `run_if_worker`, is where a worker rank turns
//! into a worker, as a process-pool child does. Each task prints its pid and its rank. The sleep
//! (300 ms) keeps the three indexed tasks busy long enough to run on three ranks at once when
//! there are three.
//!
//! ```sh
//! cargo build --release --features mpi --example mpi_pool
//! mpiexec -n 4 target/release/examples/mpi_pool      # as root: add --allow-run-as-root
//! ```

use std::error::Error;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stealpool::mpi_pool::{self, MpiPoolExecutor};
use stealpool::process_pool::{Registry, Task, run_if_worker};

/// `task()`: prints the pid and rank of the process running it; returns `(rank, pid)`.
#[derive(Serialize, Deserialize)]
pub struct ReportRank;

impl Task for ReportRank {
    type Output = (usize, u32);
    const NAME: &'static str = "mpi_pool::task";

    fn run(self) -> (usize, u32) {
        let (rank, pid) = (mpi_pool::this_rank().unwrap_or(0), std::process::id());
        println!("Executing our Task on Process {pid} (rank {rank})");
        (rank, pid)
    }
}

/// `task(index)`: sleeps, then prints its index, pid and rank; returns `(index, rank)`.
#[derive(Serialize, Deserialize)]
pub struct IndexedTask {
    pub index: u32,
}

impl Task for IndexedTask {
    type Output = (u32, usize);
    const NAME: &'static str = "mpi_pool::indexed_task";

    fn run(self) -> (u32, usize) {
        std::thread::sleep(Duration::from_millis(300));
        let rank = mpi_pool::this_rank().unwrap_or(0);
        println!("Executing our Task on Process {} {} (rank {rank})", self.index, std::process::id());
        (self.index, rank)
    }
}

/// The tasks this program runs on worker ranks.
pub fn registry() -> Registry {
    Registry::new().register::<ReportRank>().register::<IndexedTask>()
}

/// The first program: two tasks; returns `(rank, pid)` of each.
pub fn basic() -> Result<Vec<(usize, u32)>, Box<dyn Error>> {
    let executor = MpiPoolExecutor::new()?;
    let task1 = executor.submit(ReportRank)?;
    let task2 = executor.submit(ReportRank)?;
    drop(executor); // leaving `main` in Python: the pool finishes its tasks
    Ok(vec![*task1.result()?, *task2.result()?])
}

/// The second program: the executor's scope waits for every task; returns `(index, rank)` of
/// each, in submission order.
pub fn context() -> Result<Vec<(u32, usize)>, Box<dyn Error>> {
    println!("Starting MpiPoolExecutor");
    let futures = {
        let executor = MpiPoolExecutor::new()?;
        [2, 3, 4].map(|index| executor.submit(IndexedTask { index }))
        // `executor` is dropped here: shutdown(wait = true)
    };
    let mut done = Vec::new();
    for future in futures {
        let future = future?;
        assert!(future.done(), "leaving the scope waited for every task");
        done.push(*future.result()?);
    }
    println!("All tasks complete");
    Ok(done)
}

pub fn main() -> Result<(), Box<dyn Error>> {
    run_if_worker(&registry()); // worker ranks serve tasks here until the program ends
    println!("Parent process {} (rank 0 of {} ranks)", std::process::id(), mpi_pool::worker_ranks() + 1);
    basic()?;
    context()?;
    Ok(())
}
