//! `shutdown`: the executor finishes what it accepted and refuses anything new.
//!
//! The Python original:
//!
//! ```python
//! def someTask(n):
//!     print("Executing Task {}".format(n))
//!     time.sleep(n)
//!     print("Task {} Finished Executing".format(n))
//!
//! with ThreadPoolExecutor(max_workers=2) as executor:
//!     task1 = executor.submit(someTask, (1))
//!     task2 = executor.submit(someTask, (2))
//!     executor.shutdown(wait=True)
//!     task3 = executor.submit(someTask, (3))   # RuntimeError: cannot schedule new futures after shutdown
//!     task4 = executor.submit(someTask, (4))
//! ```
//!
//! Tasks 1 and 2 run to completion before `shutdown(wait = true)` returns. Python then raises
//! `RuntimeError` at the third submit, which ends the script; here `submit` returns
//! `Err(SubmitError::Shutdown)`, a value, and the example prints it for tasks 3 and 4 alike.
//! A task sleeps `n` tenths of a second rather than `n` seconds, so the example runs quickly
//! with the same output.
//!
//! `cargo run --example shutdown`

mod common;

use std::error::Error;
use std::thread;
use std::time::Duration;

use common::Out;
use stealpool::ThreadPoolExecutor;

/// What one second of the Python script takes here.
const SECOND: Duration = Duration::from_millis(100);

fn some_task(out: &Out, n: u32, second: Duration) {
    out.line(format_args!("Executing Task {n}"));
    thread::sleep(second * n);
    out.line(format_args!("Task {n} Finished Executing"));
}

/// The example, writing to `out`; a task of the Python script sleeping one second sleeps
/// `second` here.
pub fn run(out: &Out, second: Duration) -> Result<(), Box<dyn Error>> {
    let executor = ThreadPoolExecutor::new(2)?;
    for n in [1, 2] {
        let out = out.clone();
        executor.submit(move || some_task(&out, n, second))?;
    }
    executor.shutdown(true, false);
    for n in [3, 4] {
        let task_out = out.clone();
        if let Err(error) = executor.submit(move || some_task(&task_out, n, second)) {
            out.line(format_args!("Task {n} not submitted: {error}"));
        }
    }
    Ok(())
}

pub fn main() -> Result<(), Box<dyn Error>> {
    run(&Out::stdout(), SECOND)
}

#[cfg(test)]
mod tests {
    use super::common::{captured, position};
    use super::*;

    #[test]
    fn accepted_tasks_finish_and_later_submits_are_refused() {
        let lines = captured(|out| run(out, Duration::from_millis(1)));
        assert_eq!(lines.len(), 6, "{lines:#?}");
        for n in [1, 2] {
            let started = position(&lines, &format!("Executing Task {n}"));
            let finished = position(&lines, &format!("Task {n} Finished Executing"));
            // `shutdown(wait = true)` returned only after both tasks finished.
            assert!(started < finished && finished < 4, "{lines:#?}");
        }
        assert_eq!(
            lines[4..],
            [
                "Task 3 not submitted: cannot schedule new tasks after shutdown",
                "Task 4 not submitted: cannot schedule new tasks after shutdown",
            ]
        );
    }
}
