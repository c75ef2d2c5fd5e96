//! A task that fails: its panic reaches the main thread through the future.
//!
//! The Python original:
//!
//! ```python
//! def isEven(n):
//!     print("Checking if {} is even".format(n))
//!     if type(n) != int:
//!         raise Exception("Value entered is not an integer")
//!     if n % 2 == 0:
//!         print("{} is even".format(n))
//!         return True
//!     else:
//!         print("{} is odd".format(n))
//!         return False
//!
//! with ThreadPoolExecutor(max_workers=4) as executor:
//!     task1 = executor.submit(isEven, (2))
//!     task2 = executor.submit(isEven, (3))
//!     task3 = executor.submit(isEven, ('t'))
//! for future in concurrent.futures.as_completed([task1, task2, task3]):
//!     print("Result of Task: {}".format(future.result()))
//! ```
//!
//! Python's dynamic `type(n) != int` check becomes a [`Value`] that is an integer or a text,
//! and the raised exception becomes a panic, which the pool catches and stores in the future.
//!
//! Python's `future.result()` re-raises the exception in the main thread, and since nothing
//! catches it the script ends there with a traceback and exit status 1 (after zero, one or two
//! "Result of Task" lines: `as_completed` yields already finished futures in the order of a
//! `set`). Here `result()` returns the panic as a value, `Err(FutureError::Panicked(..))`, and
//! the example prints it and goes on: what the Python example shows is that a failure on a
//! worker thread reaches the main thread, and a value shows that without making the example
//! look broken. (Rust's panic hook also reports the panic on standard error as it happens.)
//! As all three tasks are done when the loop starts, `as_completed` yields them in input order.
//!
//! `cargo run --example exceptions`

mod common;

use std::error::Error;
use std::fmt;

use common::Out;
use stealpool::{ThreadPoolExecutor, as_completed};

/// A value of any type, as Python passes them: an integer or something else.
#[derive(Clone, Copy, Debug)]
enum Value {
    Int(i64),
    Text(&'static str),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => n.fmt(f),
            Value::Text(text) => text.fmt(f),
        }
    }
}

fn is_even(out: &Out, n: Value) -> bool {
    out.line(format_args!("Checking if {n} is even"));
    let Value::Int(n) = n else {
        panic!("Value entered is not an integer");
    };
    if n % 2 == 0 {
        out.line(format_args!("{n} is even"));
        true
    } else {
        out.line(format_args!("{n} is odd"));
        false
    }
}

/// The example, writing to `out`.
pub fn run(out: &Out) -> Result<(), Box<dyn Error>> {
    let tasks = {
        let executor = ThreadPoolExecutor::new(4)?;
        let submit = |n: Value| {
            let out = out.clone();
            executor.submit(move || is_even(&out, n))
        };
        [submit(Value::Int(2))?, submit(Value::Int(3))?, submit(Value::Text("t"))?]
    }; // `with` ends: all three tasks have finished.
    for future in as_completed(&tasks, None) {
        match future?.result() {
            Ok(result) => out.line(format_args!("Result of Task: {result}")),
            Err(error) => out.line(format_args!("Task failed: {error}")),
        }
    }
    Ok(())
}

pub fn main() -> Result<(), Box<dyn Error>> {
    run(&Out::stdout())
}

#[cfg(test)]
mod tests {
    use super::common::{captured, position};
    use super::*;

    #[test]
    fn the_failing_task_reports_its_panic_as_a_value() {
        let lines = captured(run);
        assert_eq!(lines.len(), 8, "{lines:#?}");
        // The tasks' lines interleave in any order, but each task's come in its order.
        assert!(position(&lines, "Checking if 2 is even") < position(&lines, "2 is even"));
        assert!(position(&lines, "Checking if 3 is even") < position(&lines, "3 is odd"));
        assert!(position(&lines, "Checking if t is even") < 5);
        assert_eq!(
            lines[5..],
            [
                "Result of Task: true",
                "Result of Task: false",
                "Task failed: the task panicked: Value entered is not an integer",
            ]
        );
    }
}
