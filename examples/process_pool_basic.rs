//! Two tasks on a pool of at most three worker processes, each printing the pid of the process
//! that runs it.
//!
//! The Python original:
//!
//! ```python
//! def task():
//!     print("Executing our Task on Process {}".format(os.getpid()))
//!
//! def main():
//!     executor = ProcessPoolExecutor(max_workers=3)
//!     task1 = executor.submit(task)
//!     task2 = executor.submit(task)
//!
//! if __name__ == '__main__':
//!     main()
//! ```
//!
//! Python's `if __name__ == '__main__'` guard keeps a worker from running the program again;
//! here that is the first line of `main`, `run_if_worker`, which turns a copy of this program
//! started by the pool into a worker. A function cannot travel to another process, so the task
//! is a value (`ReportPid`) of a type registered by name. Each line comes from a child, with a
//! pid other than the parent's. As in the Python script nothing waits for the futures
//! explicitly: dropping the executor at the end of `run` waits for both tasks.
//!
//! `cargo run --example process_pool_basic`

use std::error::Error;

use serde::{Deserialize, Serialize};
use stealpool::process_pool::{ProcessPoolExecutor, Registry, Task, run_if_worker};

/// `task()`: prints the pid of the worker process running it, and returns it.
#[derive(Serialize, Deserialize)]
pub struct ReportPid;

impl Task for ReportPid {
    type Output = u32;
    const NAME: &'static str = "process_pool_basic::task";

    fn run(self) -> u32 {
        let pid = std::process::id();
        println!("Executing our Task on Process {pid}");
        pid
    }
}

/// The tasks this program runs in worker processes.
pub fn registry() -> Registry {
    Registry::new().register::<ReportPid>()
}

/// The example; returns the pids of the processes that ran the two tasks.
pub fn run() -> Result<Vec<u32>, Box<dyn Error>> {
    let executor = ProcessPoolExecutor::new(3)?;
    let task1 = executor.submit(ReportPid)?;
    let task2 = executor.submit(ReportPid)?;
    drop(executor); // leaving `main` in Python: the pool finishes its tasks and its workers exit
    Ok(vec![*task1.result()?, *task2.result()?])
}

pub fn main() -> Result<(), Box<dyn Error>> {
    run_if_worker(&registry());
    println!("Parent process {}", std::process::id());
    run()?;
    Ok(())
}
