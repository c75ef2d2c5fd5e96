//! The process pool as a context manager: leaving the scope waits for every task.
//!
//! The Python original:
//!
//! ```python
//! def task(index):
//!     time.sleep(3)
//!     print("Executing our Task on Process {} {}".format(index, os.getpid()))
//!
//! def main():
//!     print("Starting ThreadPoolExecutor")
//!     with ProcessPoolExecutor(max_workers=3) as executor:
//!         future = executor.submit(task, (2))
//!         future = executor.submit(task, (3))
//!         future = executor.submit(task, (4))
//!     print("All tasks complete")
//! ```
//!
//! The `with` block is a scope: the executor is dropped at its end, which is
//! `shutdown(wait = true)`, so "All tasks complete" is printed after the three tasks' lines.
//! The sleep (300 ms here, not 3 s) keeps each task busy long enough that the three tasks run in
//! three processes at once, as the notes explain; without it, one child may take them all. (The
//! Python prints "Starting ThreadPoolExecutor", a slip this port corrects.)
//!
//! `cargo run --example process_pool_context`

use std::error::Error;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use stealpool::process_pool::{ProcessPoolExecutor, Registry, Task, run_if_worker};

/// `task(index)`: sleeps, then prints its index and the pid of its worker process.
#[derive(Serialize, Deserialize)]
pub struct IndexedTask {
    pub index: u32,
}

impl Task for IndexedTask {
    type Output = (u32, u32);
    const NAME: &'static str = "process_pool_context::task";

    fn run(self) -> (u32, u32) {
        std::thread::sleep(Duration::from_millis(300));
        let pid = std::process::id();
        println!("Executing our Task on Process {} {pid}", self.index);
        (self.index, pid)
    }
}

/// The tasks this program runs in worker processes.
pub fn registry() -> Registry {
    Registry::new().register::<IndexedTask>()
}

/// The example; returns `(index, pid)` of each task, in submission order.
pub fn run() -> Result<Vec<(u32, u32)>, Box<dyn Error>> {
    println!("Starting ProcessPoolExecutor");
    let futures = {
        let executor = ProcessPoolExecutor::new(3)?;
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
    run_if_worker(&registry());
    run()?;
    Ok(())
}
