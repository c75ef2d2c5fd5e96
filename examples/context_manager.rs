//! The executor as a context manager: leaving the scope waits for every task.
//!
//! The Python original:
//!
//! ```python
//! def task(n):
//!     print("Processing {}".format(n))
//!
//! print("Starting ThreadPoolExecutor")
//! with ThreadPoolExecutor(max_workers=3) as executor:
//!     future = executor.submit(task, (2))
//!     future = executor.submit(task, (3))
//!     future = executor.submit(task, (4))
//! print("All tasks complete")
//! ```
//!
//! Rust's scope plays the `with` block: dropping the executor at the closing brace is
//! `shutdown(wait = true)`, so "All tasks complete" always comes after the three tasks.
//!
//! `cargo run --example context_manager`

mod common;

use std::error::Error;

use common::Out;
use stealpool::ThreadPoolExecutor;

fn task(out: &Out, n: u32) {
    out.line(format_args!("Processing {n}"));
}

/// The example, writing to `out`.
pub fn run(out: &Out) -> Result<(), Box<dyn Error>> {
    out.line("Starting ThreadPoolExecutor");
    {
        let executor = ThreadPoolExecutor::new(3)?;
        for n in [2, 3, 4] {
            let out = out.clone();
            executor.submit(move || task(&out, n))?;
        }
    } // `with` ends: the executor is dropped, which waits for the three tasks.
    out.line("All tasks complete");
    Ok(())
}

pub fn main() -> Result<(), Box<dyn Error>> {
    run(&Out::stdout())
}

#[cfg(test)]
mod tests {
    use super::common::captured;
    use super::*;

    #[test]
    fn leaving_the_scope_waits_for_every_task() {
        let mut lines = captured(run);
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert_eq!(lines[0], "Starting ThreadPoolExecutor");
        assert_eq!(lines[4], "All tasks complete");
        // The three tasks run concurrently, in any order.
        lines[1..4].sort();
        assert_eq!(lines[1..4], ["Processing 2", "Processing 3", "Processing 4"]);
    }
}
