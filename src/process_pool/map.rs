//! `map` on the process pool: tasks sent `chunksize` at a time, each item with an optional
//! time limit.
//!
//! The per-item limit ([`ProcessMapOptions::task_timeout`]) is not the `timeout` of
//! [`MapOptions`]: that one bounds how long the caller waits for the whole map (counted from
//! the call, as in Python), and a result that is late is reported without touching the task. A
//! task timeout bounds how long one item may run in its worker process, counted from when it
//! starts there; an item over it has its worker killed and fails with
//! [`FutureError::TaskTimedOut`](crate::FutureError::TaskTimedOut). Only a process can be
//! stopped from outside, so only the process pool has this option.

use std::collections::VecDeque;
use std::time::Duration;

use super::registry::Task;
use crate::error::SubmitError;
use crate::future::Future;
use crate::map::MapOptions;

/// [`MapOptions`] with a time limit per item, for
/// [`ProcessPoolExecutor::map_with`](super::ProcessPoolExecutor::map_with).
///
/// ```
/// use std::time::Duration;
/// use stealpool::MapOptions;
///
/// // Chunks of 8 items, each item given at most 5 s in its worker.
/// let options = MapOptions::new().chunksize(8).task_timeout(Duration::from_secs(5));
/// # let _ = options;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessMapOptions {
    options: MapOptions,
    task_timeout: Option<Duration>,
}

impl ProcessMapOptions {
    /// The defaults: those of [`MapOptions::new`], and no item time limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`MapOptions::timeout`]: a bound on the caller's wait, counted from the call.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options = self.options.timeout(timeout);
        self
    }

    /// See [`MapOptions::buffersize`].
    pub fn buffersize(mut self, buffersize: usize) -> Self {
        self.options = self.options.buffersize(buffersize);
        self
    }

    /// See [`MapOptions::chunksize`].
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.options = self.options.chunksize(chunksize);
        self
    }

    /// Each item may run at most `limit` in its worker process (counted from when it starts
    /// there: for a chunk, when the item before it finished); an item over it has its worker
    /// killed and yields [`FutureError::TaskTimedOut`](crate::FutureError::TaskTimedOut).
    pub fn task_timeout(mut self, limit: Duration) -> Self {
        self.task_timeout = Some(limit);
        self
    }

    pub(crate) fn map_options(&self) -> MapOptions {
        self.options
    }

    pub(crate) fn item_timeout(&self) -> Option<Duration> {
        self.task_timeout
    }
}

impl From<MapOptions> for ProcessMapOptions {
    fn from(options: MapOptions) -> Self {
        ProcessMapOptions { options, task_timeout: None }
    }
}

/// The process pool's item time limit, as an option of `map` (see [`ProcessMapOptions`]).
impl MapOptions {
    /// These options with a time limit per item, for the process pool's `map_with`: see
    /// [`ProcessMapOptions::task_timeout`].
    pub fn task_timeout(self, limit: Duration) -> ProcessMapOptions {
        ProcessMapOptions::from(self).task_timeout(limit)
    }
}

/// Feeds `MapIter` one future at a time, submitting `chunk` tasks per job with `submit` (one
/// job: a `map` chunk). Shared by the process pool and the MPI pool.
pub(crate) struct ChunkFeeder<I, T: Task, S> {
    pub(crate) submit: S,
    pub(crate) tasks: I,
    pub(crate) chunk: usize,
    /// Futures of the last submitted chunk not yet handed to the iterator.
    pub(crate) ready: VecDeque<Future<T::Output>>,
}

impl<I, T, S> ChunkFeeder<I, T, S>
where
    I: Iterator<Item = T>,
    T: Task,
    S: FnMut(Vec<T>) -> Result<Vec<Future<T::Output>>, SubmitError>,
{
    pub(crate) fn new(tasks: I, chunk: usize, submit: S) -> Self {
        ChunkFeeder { submit, tasks, chunk, ready: VecDeque::new() }
    }

    pub(crate) fn next(&mut self) -> Option<Result<Future<T::Output>, SubmitError>> {
        if self.ready.is_empty() {
            let tasks: Vec<T> = self.tasks.by_ref().take(self.chunk).collect();
            if tasks.is_empty() {
                return None;
            }
            match (self.submit)(tasks) {
                Ok(futures) => self.ready.extend(futures),
                Err(error) => return Some(Err(error)),
            }
        }
        self.ready.pop_front().map(Ok)
    }
}

impl<I, T: Task, S> Drop for ChunkFeeder<I, T, S> {
    /// The iterator is gone: nobody will read these results.
    fn drop(&mut self) {
        for future in self.ready.drain(..) {
            future.cancel();
        }
    }
}
