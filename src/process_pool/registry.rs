//! Tasks and the registry that lets a worker process run them by name.
//!
//! A closure cannot cross a process boundary, so a process-pool task is a *value*: a serialisable
//! type implementing [`Task`], whose [`NAME`](Task::NAME) travels with its encoded fields. The
//! child looks the name up in the [`Registry`] the program built before calling
//! [`run_if_worker`](super::run_if_worker), decodes the value as that type, runs it and encodes
//! the output. Both processes run the same executable and build the same registry, so a name
//! means the same type on both sides.

use std::any::{TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::protocol::{decode_value, encode_value};
use crate::error::{TaskPanic, WorkerFailure};

/// A unit of work for a [`ProcessPoolExecutor`](super::ProcessPoolExecutor): the function is the
/// type, the arguments are its fields (Python's `submit(fn, *args)`).
///
/// The value is serialised in the parent, run in a worker process, and its output serialised
/// back. A panic in [`run`](Task::run) reaches the parent as
/// [`FutureError::Panicked`](crate::FutureError::Panicked) with its message.
///
/// Values travel in postcard, through serde. A `Vec<u8>` goes through serde one element at a
/// time; mark bulk byte buffers `#[serde(with = "serde_bytes")]` to send them as one piece.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use stealpool::process_pool::Task;
///
/// #[derive(Serialize, Deserialize)]
/// struct Square(u64);
///
/// impl Task for Square {
///     type Output = u64;
///     const NAME: &'static str = "square";
///     fn run(self) -> u64 {
///         self.0 * self.0
///     }
/// }
/// ```
pub trait Task: Serialize + DeserializeOwned + Send + 'static {
    /// What [`run`](Task::run) returns; it travels back serialised.
    type Output: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The name the worker looks the task up by: unique within the program.
    const NAME: &'static str;

    /// Runs the task (in a worker process).
    fn run(self) -> Self::Output;
}

/// How one item ended in the child.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ItemOutcome {
    /// The encoded output.
    Value(Vec<u8>),
    /// The panic message.
    Panicked(String),
    /// Why the item could not run or its output could not be encoded.
    Failed(ItemFailure),
}

/// Why a worker could not run one item: what travels in a `Failed` reply (process pool) or
/// result (MPI pool). The task's name is not part of it: whoever receives it knows the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ItemFailure {
    /// No task is registered under the name.
    NotRegistered,
    /// The value did not decode as the registered type; the decoder's message.
    InputUndecodable(String),
    /// The output could not be encoded or sent; the encoder's message.
    OutputUnencodable(String),
}

const NOT_REGISTERED: u8 = 1;
const INPUT_UNDECODABLE: u8 = 2;
const OUTPUT_UNENCODABLE: u8 = 3;

impl ItemFailure {
    /// The public form, for task `task`.
    pub(crate) fn into_failure(self, task: &str) -> WorkerFailure {
        let task = task.to_owned();
        match self {
            ItemFailure::NotRegistered => WorkerFailure::NotRegistered { task },
            ItemFailure::InputUndecodable(message) => WorkerFailure::InputUndecodable { task, message },
            ItemFailure::OutputUnencodable(message) => WorkerFailure::OutputUnencodable { task, message },
        }
    }

    /// The wire form: a kind byte and a message.
    pub(crate) fn to_wire(&self) -> (u8, &str) {
        match self {
            ItemFailure::NotRegistered => (NOT_REGISTERED, ""),
            ItemFailure::InputUndecodable(message) => (INPUT_UNDECODABLE, message),
            ItemFailure::OutputUnencodable(message) => (OUTPUT_UNENCODABLE, message),
        }
    }

    /// Reads the wire form back.
    pub(crate) fn from_wire(kind: u8, message: &str) -> Result<Self, String> {
        match kind {
            NOT_REGISTERED => Ok(ItemFailure::NotRegistered),
            INPUT_UNDECODABLE => Ok(ItemFailure::InputUndecodable(message.to_owned())),
            OUTPUT_UNENCODABLE => Ok(ItemFailure::OutputUnencodable(message.to_owned())),
            kind => Err(format!("unknown failure kind {kind}")),
        }
    }
}

/// Decodes a `T`, runs it under `catch_unwind`, encodes its output.
type Runner = fn(&[u8]) -> ItemOutcome;

struct Entry {
    type_id: TypeId,
    type_name: &'static str,
    run: Runner,
}

/// The tasks a worker process can run, by name (see [`Task`]).
///
/// Build it the same way in every process of the program (a function that returns it is the
/// easy way) and pass it to [`run_if_worker`](super::run_if_worker) at the start of `main`.
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # use stealpool::process_pool::{Registry, Task};
/// # #[derive(Serialize, Deserialize)] struct Square(u64);
/// # impl Task for Square { type Output = u64; const NAME: &'static str = "square";
/// #     fn run(self) -> u64 { self.0 * self.0 } }
/// fn registry() -> Registry {
///     Registry::new().register::<Square>()
/// }
/// assert!(registry().contains("square"));
/// ```
#[derive(Default)]
pub struct Registry {
    entries: HashMap<&'static str, Entry>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds task type `T` under [`T::NAME`](Task::NAME). Registering the same type twice is
    /// harmless.
    ///
    /// # Panics
    ///
    /// If another type is already registered under the same name: the worker could not tell
    /// them apart.
    pub fn register<T: Task>(mut self) -> Self {
        let entry = Entry { type_id: TypeId::of::<T>(), type_name: type_name::<T>(), run: run_item::<T> };
        if let Some(existing) = self.entries.get(T::NAME) {
            assert!(
                existing.type_id == entry.type_id,
                "task name `{}` is used by both `{}` and `{}`: Task::NAME must be unique",
                T::NAME,
                existing.type_name,
                entry.type_name,
            );
        }
        self.entries.insert(T::NAME, entry);
        self
    }

    /// Whether a task is registered under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The registered task names, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.keys().copied()
    }

    /// Runs the task registered under `name` on an encoded value.
    pub(crate) fn run(&self, name: &str, payload: &[u8]) -> ItemOutcome {
        match self.entries.get(name) {
            Some(entry) => (entry.run)(payload),
            None => ItemOutcome::Failed(ItemFailure::NotRegistered),
        }
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.names().collect();
        names.sort_unstable();
        f.debug_struct("Registry").field("tasks", &names).finish()
    }
}

fn run_item<T: Task>(payload: &[u8]) -> ItemOutcome {
    let task: T = match decode_value(payload) {
        Ok(task) => task,
        Err(error) => {
            return ItemOutcome::Failed(ItemFailure::InputUndecodable(error));
        }
    };
    // Encoding inside `catch_unwind` too: a `Serialize` impl may panic.
    match catch_unwind(AssertUnwindSafe(|| encode_value(&task.run()))) {
        Ok(Ok(bytes)) => ItemOutcome::Value(bytes),
        Ok(Err(error)) => ItemOutcome::Failed(ItemFailure::OutputUnencodable(error)),
        Err(payload) => ItemOutcome::Panicked(TaskPanic::from_payload(&*payload).message().to_owned()),
    }
}
