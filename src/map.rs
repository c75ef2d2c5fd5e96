//! `Executor.map`: ordered, lazy results of a function over an iterable, shared by the executors.
//!
//! As in CPython: without `buffersize` every item is submitted at the call; with
//! `buffersize = n` (`n >= 1`) at most `n` items are in flight ahead of the consumer, and the
//! input is read lazily (so an endless input works). Results come in input order. The timeout
//! counts from the call.
//!
//! Each item is its own `Result`, as a Rust iterator of `Result`s is: an item whose task
//! panicked (or, on the process pool, whose worker died) yields its error at its position, and
//! the iteration goes on with the next items; `collect::<Result<Vec<_>, _>>()` still stops at
//! the first error. The map's own timeout is different: the item that is not ready in time
//! yields [`FutureError::Timeout`] and ends the iteration, cancelling the items that have not
//! started, as Python's generator does in its `finally` when the exception leaves it. Dropping
//! the iterator early cancels what has not started in the same way.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::blocking;
use crate::error::{FutureError, SubmitError};
use crate::future::Future;

/// Options of `map` (Python's `timeout`, `chunksize`, `buffersize` keywords).
///
/// ```
/// use std::time::Duration;
/// use stealpool::{MapOptions, SubmitError, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// // An endless input, read lazily: at most 4 items ahead of the consumer.
/// let options = MapOptions::new().buffersize(4).timeout(Duration::from_secs(60));
/// let squares: Vec<u64> = pool.map_with(|n: u64| n * n, 1.., options)?
///     .take(5)
///     .collect::<Result<_, _>>()?;
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
///
/// // A look-ahead of zero is refused, as CPython's `ValueError`.
/// let refused = pool.map_with(|n: u64| n, 0..3, MapOptions::new().buffersize(0));
/// assert!(matches!(refused, Err(SubmitError::InvalidArgument(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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

    /// Checks the options before anything is submitted.
    pub(crate) fn validate(&self) -> Result<(), SubmitError> {
        if self.buffersize == Some(0) {
            return Err(SubmitError::InvalidArgument("buffersize must be greater than 0"));
        }
        Ok(())
    }

    /// Fails the iteration with [`FutureError::Timeout`] at the first result not ready
    /// `timeout` after the call to `map`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Keeps at most `buffersize` items in flight ahead of the consumer, and reads the input
    /// lazily. Zero is refused by `map_with` with [`SubmitError::InvalidArgument`], as CPython
    /// raises `ValueError` for it.
    pub fn buffersize(mut self, buffersize: usize) -> Self {
        self.buffersize = Some(buffersize);
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

/// The iterator returned by `map`: item `i` is the result for input item `i`, or its error.
///
/// A failed item (its task panicked) yields `Err` at its position and the next items follow;
/// the map's timeout yields [`FutureError::Timeout`] at the first item not ready in time and
/// ends the iteration. Dropping the iterator cancels the items that have not started.
///
/// ```
/// use stealpool::{FutureError, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let results: Vec<Result<u32, FutureError>> = pool
///     .map(|n: u32| if n == 1 { panic!("no {n}") } else { 10 * n }, 0..3)?
///     .collect();
/// assert_eq!(results[0], Ok(0));
/// assert!(matches!(&results[1], Err(FutureError::Panicked(panic)) if panic.message() == "no 1"));
/// assert_eq!(results[2], Ok(20));                      // the iteration went on
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "the iterator yields the results; dropping it cancels the items that have not started"]
pub struct MapIter<'a, T: Send + 'static> {
    submit_next: SubmitNext<'a, T>,
    /// Submitted, not yet yielded, in input order.
    in_flight: VecDeque<Future<T>>,
    refill: bool,
    /// Why the next input item could not be submitted: yielded at that item's position, once
    /// the items before it are.
    refused: Option<SubmitError>,
    deadline: Option<Instant>,
    finished: bool,
}

impl<'a, T: Send + 'static> MapIter<'a, T> {
    /// Checks `options`, then submits the first items (all of them, or `buffersize`). Fails,
    /// cancelling what it submitted, if the executor refuses a task.
    pub(crate) fn start(
        mut submit_next: SubmitNext<'a, T>,
        options: MapOptions,
    ) -> Result<Self, SubmitError> {
        options.validate()?;
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
            refused: None,
            deadline,
            finished: false,
        })
    }

    /// Ends the iteration with `error`, cancelling the items that have not started.
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
            // The executor refused the item after the last one yielded (it was shut down or
            // broke meanwhile): that item fails, and no later item was read.
            return self.refused.take().map(|error| {
                Err(match error {
                    SubmitError::Broken(reason) => FutureError::Broken(reason),
                    refused => FutureError::Refused(refused),
                })
            });
        };
        if self.refill && self.refused.is_none() {
            match (self.submit_next)() {
                Some(Ok(next)) => self.in_flight.push_back(next),
                Some(Err(error)) => self.refused = Some(error),
                None => {}
            }
        }
        // The iterator holds the item's only handle, so the value is moved out (no `T: Clone`,
        // no `T: Sync`, no lock per item).
        future.wait_until(self.deadline);
        match future.take() {
            Ok(value) => Some(Ok(value)),
            Err(FutureError::Timeout) => {
                future.cancel();
                self.fail(FutureError::Timeout)
            }
            Err(error) => Some(Err(error)),
        }
    }
}

impl<T: Send + 'static> Drop for MapIter<'_, T> {
    fn drop(&mut self) {
        self.cancel_rest();
    }
}

impl<T: Send + 'static> std::iter::FusedIterator for MapIter<'_, T> {}
