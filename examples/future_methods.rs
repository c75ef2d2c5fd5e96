//! A Future's methods: `result(timeout)`, `add_done_callback`, `running()`, `cancel()`,
//! `exception(timeout)` and `done()`, one after another on one task.
//!
//! The Python notes list them one line each:
//!
//! ```python
//! future_obj.result(timeout=None)        # waits; raises TimeoutError after `timeout` seconds
//! future_obj.add_done_callback(myFunc)   # myFunc(future) runs once the task is done
//! future_object.running()                # is the task running now?
//! future_object.cancel()                 # cancels it, if it has not started
//! future_object.exception(timeout=x)     # the task's exception, or None; TimeoutError after x
//! future_object.done()                   # finished (or cancelled)?
//! ```
//!
//! Here a task holds its worker until the main thread lets it go, so that every question is
//! asked at a known moment: while the task runs, `running()` is true, `done()` false,
//! `cancel()` false (a running task cannot be cancelled), and `result` and `exception` with a
//! timeout give up with `FutureError::Timeout` (Python's `TimeoutError`). Once it is let go,
//! the callback runs (on the worker, as in Python), `result()` gives the value and
//! `exception()` gives `None`. A second task panics: its `exception()` is the panic, and its
//! `result()` the same panic as an error, where Python's `result()` re-raises it. A callback
//! added to a future that is already done runs at once, on the caller's thread.
//!
//! `cargo run --example future_methods`

mod common;

use std::error::Error;
use std::sync::mpsc;
use std::time::Duration;

use common::Out;
use stealpool::{FutureError, Promise, ThreadPoolExecutor};

/// How long the timed questions wait (Python's `timeout=0.1`).
const TIMEOUT: Duration = Duration::from_millis(100);

/// `Ok` as Python prints it, or the error's message.
fn shown<T: std::fmt::Display>(outcome: Result<T, FutureError>) -> String {
    match outcome {
        Ok(value) => value.to_string(),
        Err(error) => format!("error: {error}"),
    }
}

/// The example, writing to `out`.
pub fn run(out: &Out) -> Result<(), Box<dyn Error>> {
    let executor = ThreadPoolExecutor::new(2)?;
    let (started, task_started) = Promise::<()>::new();
    let (let_go, wait_to_go) = mpsc::channel::<()>();
    let future = executor.submit(move || {
        started.set_result(()).expect("only this task completes the promise");
        wait_to_go.recv().expect("the main thread lets the task go");
        2 * 21
    })?;

    // add_done_callback: runs once the task is done, on the thread that finished it.
    let (callback_ran, wait_for_callback) = mpsc::channel::<()>();
    future.add_done_callback({
        let out = out.clone();
        move |future| {
            out.line(format_args!(
                "callback: done() = {}, result() = {}",
                future.done(),
                shown(future.result())
            ));
            let _ = callback_ran.send(());
        }
    });

    task_started.result()?;
    out.line(format_args!("running() = {}", future.running()));
    out.line(format_args!("done() = {}", future.done()));
    out.line(format_args!("result(timeout=0.1): {}", shown(future.result_timeout(TIMEOUT))));
    let exception = future.exception_timeout(TIMEOUT).map(|panic| format!("{panic:?}"));
    out.line(format_args!("exception(timeout=0.1): {}", shown(exception)));
    out.line(format_args!("cancel() = {}", future.cancel()));

    let_go.send(())?;
    wait_for_callback.recv()?;
    out.line(format_args!("result() = {}", shown(future.result())));
    out.line(format_args!("exception() = {:?}", future.exception()?));
    out.line(format_args!("running() = {}, done() = {}", future.running(), future.done()));

    let failing = executor.submit(|| -> i32 { panic!("Value entered is not an integer") })?;
    match failing.exception()? {
        Some(panic) => out.line(format_args!("exception() = {}", panic.message())),
        None => out.line("exception() = None"),
    }
    out.line(format_args!("result(): {}", shown(failing.result())));
    failing.add_done_callback({
        let out = out.clone();
        move |future| out.line(format_args!("callback at once: done() = {}", future.done()))
    });
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
    fn each_method_answers_for_the_state_the_task_is_in() {
        let lines = captured(run);
        assert_eq!(
            lines,
            [
                "running() = true",
                "done() = false",
                "result(timeout=0.1): error: timed out waiting for the future to finish",
                "exception(timeout=0.1): error: timed out waiting for the future to finish",
                "cancel() = false",
                "callback: done() = true, result() = 42",
                "result() = 42",
                "exception() = None",
                "running() = false, done() = true",
                "exception() = Value entered is not an integer",
                "result(): error: the task panicked: Value entered is not an integer",
                "callback at once: done() = true",
            ]
        );
    }
}
