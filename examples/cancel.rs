//! `cancel`: a task can be cancelled only before it starts.
//!
//! The Python originals: first a cancel right after the submit,
//!
//! ```python
//! with ThreadPoolExecutor(max_workers=2) as executor:
//!     myTask = executor.submit(someTask, (1))
//!     print(myTask.cancel())
//! ```
//!
//! then four tasks on two workers:
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
//!     task3 = executor.submit(someTask, (3))
//!     task4 = executor.submit(someTask, (4))
//!     print(task3.cancel())
//! ```
//!
//! With two workers, tasks 1 and 2 keep both busy, task 3 is still queued, and `cancel()`
//! returns true: task 3 never runs. With four workers task 3 has already started, and a
//! running task cannot be cancelled: false. The example runs all three.
//!
//! Cancelling right after the submit is a race in Python that the task almost always wins:
//! `submit` starts a thread for it, and that thread takes the task from the queue and marks it
//! running before the main thread reaches `cancel()`, so the script prints `False` and the task
//! runs. Here the task signals that it has started and the main thread waits for that signal
//! before cancelling, so the answer is always false.
//!
//! Both runs use the shared-queue scheduler, CPython's design: one FIFO queue, so task 3 is
//! taken only after tasks 1 and 2. On the work-stealing scheduler a worker may take task 3
//! first (it takes a batch from the submission queue, and another worker can take the next
//! task there), so whether task 3 is queued at the `cancel()` would depend on the scheduler.
//!
//! A task sleeps `n` tenths of a second rather than `n` seconds.
//!
//! `cargo run --example cancel`

mod common;

use std::error::Error;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::Out;
use stealpool::{BuildError, Promise, SchedulerKind, ThreadPoolExecutor};

/// What one second of the Python script takes here.
const SECOND: Duration = Duration::from_millis(100);

/// Python's `someTask(n)`, as the closure to submit. If `hold` is given, the task waits at it
/// after announcing itself and before its sleep.
fn some_task(
    out: &Out,
    n: u32,
    second: Duration,
    hold: Option<Arc<Barrier>>,
) -> impl FnOnce() + Send + 'static {
    let out = out.clone();
    move || {
        out.line(format_args!("Executing Task {n}"));
        if let Some(hold) = hold {
            // A barrier, not a stealpool future: like Python's sleep, it keeps the worker busy
            // (a task waiting on a stealpool future would hand its worker to a spare thread,
            // which would then start task 3).
            hold.wait();
        }
        thread::sleep(second * n);
        out.line(format_args!("Task {n} Finished Executing"));
    }
}

fn pool(max_workers: usize) -> Result<ThreadPoolExecutor, BuildError> {
    ThreadPoolExecutor::builder().max_workers(max_workers).scheduler(SchedulerKind::SharedQueue).build()
}

/// Two workers: task 3 is still queued when it is cancelled.
fn two_workers(out: &Out, second: Duration) -> Result<(), Box<dyn Error>> {
    // In Python, task 3 is still queued because tasks 1 and 2 occupy both workers for one and two
    // seconds, far longer than the main thread needs to reach `cancel()`. That race is won
    // almost always, but a main thread descheduled for a second would lose it. Here tasks 1 and
    // 2 also wait until `cancel()` has returned, so it cannot be lost.
    let cancel_returned = Arc::new(Barrier::new(3));
    let executor = pool(2)?;
    // No early return between the first submit and the barrier: tasks 1 and 2 wait at it.
    let tasks = [
        executor.submit(some_task(out, 1, second, Some(cancel_returned.clone()))),
        executor.submit(some_task(out, 2, second, Some(cancel_returned.clone()))),
        executor.submit(some_task(out, 3, second, None)),
        executor.submit(some_task(out, 4, second, None)),
    ];
    if let Ok(task3) = &tasks[2] {
        out.line(task3.cancel());
    }
    cancel_returned.wait();
    for task in tasks {
        task?;
    }
    Ok(())
}

/// A cancel right after the submit: the task has already started.
fn right_after_submit(out: &Out, second: Duration) -> Result<(), Box<dyn Error>> {
    let (started, task_started) = Promise::<()>::new();
    let executor = pool(2)?;
    let my_task = {
        let task = some_task(out, 1, second, None);
        executor.submit(move || {
            started.set_result(()).expect("only this task completes the promise");
            task()
        })?
    };
    task_started.result()?;
    out.line(my_task.cancel());
    Ok(())
}

/// Four workers: task 3 is already running when `cancel()` is called.
fn four_workers(out: &Out, second: Duration) -> Result<(), Box<dyn Error>> {
    // Python usually prints False here, but that too is a race. CPython's `submit` starts a new
    // thread whenever fewer than `max_workers` exist and none is idle, so task 3 gets a thread
    // of its own, which usually takes it from the queue and marks it running before the main
    // thread executes its next statement, `task3.cancel()`. If the main thread got there first,
    // Python would print True. Here task 3 signals that it has started and the main thread
    // waits for that signal before cancelling, so the answer is always false.
    let (started, task3_started) = Promise::<()>::new();
    let executor = pool(4)?;
    executor.submit(some_task(out, 1, second, None))?;
    executor.submit(some_task(out, 2, second, None))?;
    let task3 = {
        let task = some_task(out, 3, second, None);
        executor.submit(move || {
            started.set_result(()).expect("only task 3 completes this promise");
            task()
        })?
    };
    executor.submit(some_task(out, 4, second, None))?;
    task3_started.result()?;
    out.line(task3.cancel());
    Ok(())
}

/// The example, writing to `out`; one second of the Python script lasts `second` here.
pub fn run(out: &Out, second: Duration) -> Result<(), Box<dyn Error>> {
    out.line("cancel right after submit:");
    right_after_submit(out, second)?;
    out.line("max_workers=2:");
    two_workers(out, second)?;
    out.line("max_workers=4:");
    four_workers(out, second)
}

pub fn main() -> Result<(), Box<dyn Error>> {
    run(&Out::stdout(), SECOND)
}

#[cfg(test)]
mod tests {
    use super::common::{captured, position};
    use super::*;

    #[test]
    fn a_queued_task_is_cancelled_and_a_running_one_is_not() {
        let lines = captured(|out| run(out, Duration::from_millis(1)));
        assert_eq!(lines[0], "cancel right after submit:");
        let (first, two) = (position(&lines, "max_workers=2:"), position(&lines, "max_workers=4:"));
        let (right_after, two, four) = (&lines[1..first], &lines[first + 1..two], &lines[two + 1..]);

        // Right after the submit: the task had started, so `cancel()` returned false and it ran.
        assert_eq!(
            right_after.iter().filter(|l| *l == "true" || *l == "false").collect::<Vec<_>>(),
            ["false"]
        );
        assert_ran(right_after, 1);
        assert_eq!(right_after.len(), 3, "{right_after:#?}");

        // Two workers: `cancel()` returned true and task 3 never ran; the others did.
        assert_eq!(two.iter().filter(|l| *l == "true" || *l == "false").collect::<Vec<_>>(), ["true"]);
        assert!(!two.iter().any(|l| l.contains("Task 3")), "{two:#?}");
        for n in [1, 2, 4] {
            assert_ran(two, n);
        }

        // Four workers: task 3 had started, so `cancel()` returned false and it ran to the end.
        assert_eq!(four.iter().filter(|l| *l == "true" || *l == "false").collect::<Vec<_>>(), ["false"]);
        for n in [1, 2, 3, 4] {
            assert_ran(four, n);
        }
    }

    /// Task `n` started and finished.
    fn assert_ran(lines: &[String], n: u32) {
        let started = position(lines, &format!("Executing Task {n}"));
        assert!(started < position(lines, &format!("Task {n} Finished Executing")), "{lines:#?}");
    }
}
