//! `Executor.map`: ordered, lazy results of a function over an iterable, shared by the executors.
//!
//! As in CPython: without `buffersize` every item is submitted at the call; with
//! `buffersize = n` at most `n` items are in flight ahead of the consumer, and the input is read
//! lazily (so an endless input works). Results come in input order. The timeout counts from the
//! call. The first error ends the iteration at its item, and the remaining futures are cancelled,
//! as Python's generator does in its `finally` when the exception leaves it; dropping the
//! iterator early cancels what has not started in the same way.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::blocking;
use crate::error::{FutureError, SubmitError};
use crate::future::Future;

/// Options of `map` (Python's `timeout`, `chunksize`, `buffersize` keywords).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) buffersize: Option<usize>,
    pub(crate) chunksize: Option<usize>,
}

impl MapOptions {
    /// The defaults: no timeout, every item submitted at the call, chunks of one.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails the iteration with [`FutureError::Timeout`] at the first result not ready
    /// `timeout` after the call to `map`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Keeps at most `buffersize` items in flight ahead of the consumer (at least 1).
    pub fn buffersize(mut self, buffersize: usize) -> Self {
        self.buffersize = Some(buffersize.max(1));
        self
    }

    /// Items per task. The process pool sends them in one message; the thread pool ignores it,
    /// as CPython's does.
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = Some(chunksize.max(1));
        self
    }

    /// The chunk size asked for (1 if none).
    pub fn chunk_len(&self) -> usize {
        self.chunksize.unwrap_or(1)
    }
}

/// Submits the task for the next input item; `None` when the input is exhausted.
type SubmitNext<'a, T> = Box<dyn FnMut() -> Option<Result<Future<T>, SubmitError>> + 'a>;

/// The iterator returned by `map`: each item is the result for the input item at the same
/// position, or the error that ended the iteration there.
pub struct MapIter<'a, T: Send + 'static> {
    submit_next: SubmitNext<'a, T>,
    /// Submitted, not yet yielded, in input order.
    in_flight: VecDeque<Future<T>>,
    refill: bool,
    deadline: Option<Instant>,
    finished: bool,
}

impl<'a, T: Send + 'static> MapIter<'a, T> {
    /// Submits the first items (all of them, or `buffersize`). Fails, cancelling what it
    /// submitted, if the executor refuses a task.
    pub(crate) fn start(
        mut submit_next: SubmitNext<'a, T>,
        options: MapOptions,
    ) -> Result<Self, SubmitError> {
        let deadline = blocking::deadline_after(options.timeout);
        let mut in_flight = VecDeque::new();
        let limit = options.buffersize.unwrap_or(usize::MAX);
        while in_flight.len() < limit {
            match submit_next() {
                Some(Ok(future)) => in_flight.push_back(future),
                Some(Err(error)) => {
                    in_flight.iter().for_each(|future: &Future<T>| {
                        future.cancel();
                    });
                    return Err(error);
                }
                None => break,
            }
        }
        Ok(MapIter {
            submit_next,
            in_flight,
            refill: options.buffersize.is_some(),
            deadline,
            finished: false,
        })
    }

    fn fail(&mut self, error: FutureError) -> Option<Result<T, FutureError>> {
        self.finished = true;
        self.cancel_rest();
        Some(Err(error))
    }

    fn cancel_rest(&mut self) {
        for future in self.in_flight.drain(..) {
            future.cancel();
        }
    }
}

impl<T: Send + 'static> Iterator for MapIter<'_, T> {
    type Item = Result<T, FutureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let Some(future) = self.in_flight.pop_front() else {
            self.finished = true;
            return None;
        };
        if self.refill {
            match (self.submit_next)() {
                Some(Ok(next)) => self.in_flight.push_back(next),
                Some(Err(error)) => {
                    future.cancel();
                    return self.fail(FutureError::Broken(error.to_string()));
                }
                None => {}
            }
        }
        // The iterator holds the item's only handle, so the value is moved out (no `T: Clone`,
        // no `T: Sync`, no lock per item).
        future.wait_until(self.deadline);
        match future.take() {
            Ok(value) => Some(Ok(value)),
            Err(error) => {
                future.cancel();
                self.fail(error)
            }
        }
    }
}

impl<T: Send + 'static> Drop for MapIter<'_, T> {
    fn drop(&mut self) {
        self.cancel_rest();
    }
}

impl<T: Send + 'static> std::iter::FusedIterator for MapIter<'_, T> {}
