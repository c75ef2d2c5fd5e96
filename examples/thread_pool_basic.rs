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
//! `cargo run --example thread_pool_basic`

mod common;

use std::error::Error;

use common::Out;
use stealpool::ThreadPoolExecutor;

fn task(out: &Out) {
    out.line("Executing our Task");
    let result: i32 = (0..10).sum();
    out.line(format_args!("I: {result}"));
    let thread = std::thread::current();
    out.line(format_args!("Task Executed {}", thread.name().unwrap_or("<unnamed>")));
}

/// The example, writing to `out`.
pub fn run(out: &Out) -> Result<(), Box<dyn Error>> {
    let executor = ThreadPoolExecutor::new(3)?;
    for _ in 0..7 {
        let out = out.clone();
        // Like the Python script, the example keeps no future: the task still runs.
        executor.submit(move || task(&out))?;
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
    fn seven_tasks_run_on_at_most_three_threads() {
        let lines = captured(run);
        assert_eq!(lines.len(), 21, "{lines:#?}");
        assert_eq!(lines.iter().filter(|l| *l == "Executing our Task").count(), 7);
        assert_eq!(lines.iter().filter(|l| *l == "I: 45").count(), 7);
        let threads: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("Task Executed ")).collect();
        assert_eq!(threads.len(), 7);
        let distinct: HashSet<&str> = threads.iter().copied().collect();
        assert!((1..=3).contains(&distinct.len()), "{distinct:?}");
        assert!(distinct.iter().all(|name| name.starts_with("ThreadPoolExecutor-")), "{distinct:?}");
    }
}
