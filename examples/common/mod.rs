//! What the examples share: where their lines go.
//!
//! Each example writes through an [`Out`], so that `main` prints to standard output while the
//! example's own tests capture the very same lines and check them.

// Each example uses a different part of this module (tests use `captured` and `position`, `main`
// uses `stdout`), so in any one build some of it is unused.
#![allow(dead_code)]

use std::fmt::Display;
use std::sync::{Arc, Mutex, PoisonError};

/// Where an example's lines go: standard output, or a buffer that a test reads back.
///
/// It is cloned into the tasks, so lines printed on the pool's threads land in the same place
/// as the main thread's. Each line is written whole: `println!` holds the stdout lock for the
/// line, and the buffer is appended under its mutex. Lines from different threads interleave
/// in whatever order the threads reach them, as Python's `print` calls do.
#[derive(Clone, Debug, Default)]
pub struct Out {
    captured: Option<Arc<Mutex<Vec<String>>>>,
}

impl Out {
    /// Prints to standard output.
    pub fn stdout() -> Self {
        Out { captured: None }
    }

    /// Keeps the lines for [`lines`](Self::lines).
    pub fn capture() -> Self {
        Out { captured: Some(Arc::default()) }
    }

    /// Writes one line.
    pub fn line(&self, line: impl Display) {
        match &self.captured {
            None => println!("{line}"),
            Some(lines) => lines.lock().unwrap_or_else(PoisonError::into_inner).push(line.to_string()),
        }
    }

    /// The lines written so far, in the order they were written (empty for standard output).
    pub fn lines(&self) -> Vec<String> {
        match &self.captured {
            None => Vec::new(),
            Some(lines) => lines.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }
}

/// Runs an example with its lines captured and returns them (panics if the example fails).
pub fn captured<E: std::fmt::Debug>(run: impl FnOnce(&Out) -> Result<(), E>) -> Vec<String> {
    let out = Out::capture();
    run(&out).expect("the example runs");
    out.lines()
}

/// Position of `line` in `lines`; panics with the whole output if it is missing, so a failing
/// test shows what the example printed.
pub fn position(lines: &[String], line: &str) -> usize {
    lines.iter().position(|l| l == line).unwrap_or_else(|| panic!("no line {line:?} in {lines:#?}"))
}
