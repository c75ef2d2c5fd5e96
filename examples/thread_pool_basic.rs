//! Three threads taking turns: seven tasks on a pool of at most three threads.
//!
//! The Python original:
//!
//! ```python
//! def task():
//!     print("Executing our Task")
//!     result = 0
//!     for i in range(10):
//!         result = result + i
//!     print("I: {}".format(result))
//!     print("Task Executed {}".format(threading.current_thread()))
//!
//! executor = ThreadPoolExecutor(max_workers=3)
//! task1 = executor.submit(task)   # ... seven submits in all
//! ```
//!
//! Only three threads ever run the seven tasks: a thread that finishes a task takes the next
//! one instead of exiting. The Python script never waits for its tasks (the interpreter joins
//! the pool's threads at exit); here dropping the executor at the end of `run` is
//! `shutdown(wait = true)`, so `run` returns once all seven have run.
//!
//! In Python the three threads take turns because each task prints through a slow terminal
//! while the next submit arrives. Here a task takes a microsecond, so one or two threads could
//! run all seven; instead the first three tasks meet at a barrier before they print, so the
//! three overlap, the pool starts all three threads, and the other four tasks are shared out
//! among them. Every run shows exactly three thread names.
//!
//! `cargo run --example thread_pool_basic`

mod common;

use std::error::Error;
use std::sync::{Arc, Barrier};

use common::Out;
use stealpool::ThreadPoolExecutor;

fn task(out: &Out, meet: Option<&Barrier>) {
    if let Some(meet) = meet {
        meet.wait();
    }
    out.line("Executing our Task");
    let result: i32 = (0..10).sum();
    out.line(format_args!("I: {result}"));
    let thread = std::thread::current();
    out.line(format_args!("Task Executed {}", thread.name().unwrap_or("<unnamed>")));
}

/// The example, writing to `out`.
pub fn run(out: &Out) -> Result<(), Box<dyn Error>> {
    let executor = ThreadPoolExecutor::new(3)?;
    // Tasks 1 to 3 wait here for one another: three at once need three threads.
    let meet = Arc::new(Barrier::new(3));
    for n in 0..7 {
        let out = out.clone();
        let meet = (n < 3).then(|| meet.clone());
        // Like the Python script, the example keeps no future: the task still runs.
        executor.submit(move || task(&out, meet.as_deref()))?;
    }
    Ok(())
}

pub fn main() -> Result<(), Box<dyn Error>> {
    run(&Out::stdout())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::common::captured;
    use super::*;

    #[test]
    fn seven_tasks_run_on_exactly_three_threads() {
        let lines = captured(run);
        assert_eq!(lines.len(), 21, "{lines:#?}");
        assert_eq!(lines.iter().filter(|l| *l == "Executing our Task").count(), 7);
        assert_eq!(lines.iter().filter(|l| *l == "I: 45").count(), 7);
        let threads: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("Task Executed ")).collect();
        assert_eq!(threads.len(), 7);
        let distinct: HashSet<&str> = threads.iter().copied().collect();
        assert_eq!(distinct.len(), 3, "{distinct:?}");
        let mut indices: Vec<&str> = distinct.iter().map(|name| name.rsplit('_').next().unwrap()).collect();
        indices.sort_unstable();
        assert_eq!(indices, ["0", "1", "2"], "{distinct:?}");
        assert!(distinct.iter().all(|name| name.starts_with("ThreadPoolExecutor-")), "{distinct:?}");
    }
}
