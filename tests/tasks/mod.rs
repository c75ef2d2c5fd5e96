//! Tasks that the process-pool and MPI-pool test binaries share (each registers them in its own
//! registry): a panic, an unregistered name, values that fail to decode or to encode.

#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use stealpool::process_pool::Task;

#[derive(Serialize, Deserialize)]
pub struct Fail(pub String);

impl Task for Fail {
    type Output = ();
    const NAME: &'static str = "fail";
    fn run(self) {
        panic!("{}", self.0);
    }
}

/// Left out of the registry on purpose.
#[derive(Serialize, Deserialize)]
pub struct Unregistered;

impl Task for Unregistered {
    type Output = ();
    const NAME: &'static str = "unregistered";
    fn run(self) {}
}

/// Serialises fine, but refuses to deserialise the value 13.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "u32")]
pub struct Picky(pub u32);

impl TryFrom<u32> for Picky {
    type Error = String;
    fn try_from(value: u32) -> Result<Self, String> {
        if value == 13 { Err("13 is refused".into()) } else { Ok(Picky(value)) }
    }
}

impl Task for Picky {
    type Output = u32;
    const NAME: &'static str = "picky";
    fn run(self) -> u32 {
        self.0
    }
}

/// A value whose serialisation always fails.
#[derive(Debug)]
pub struct Unserialisable;

impl Serialize for Unserialisable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this value cannot be serialised"))
    }
}

impl<'de> Deserialize<'de> for Unserialisable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <()>::deserialize(deserializer).map(|()| Unserialisable)
    }
}

/// Its output cannot be serialised.
#[derive(Serialize, Deserialize)]
pub struct BadOutput;

impl Task for BadOutput {
    type Output = Unserialisable;
    const NAME: &'static str = "bad_output";
    fn run(self) -> Unserialisable {
        Unserialisable
    }
}

/// Submits, on `$pool`, a task whose name is not registered and values that fail to decode or
/// encode on either side of the pipe, and checks that each fails its own future with the
/// structured failure that names its task (`$worker_failure` waits for a future and returns its
/// `WorkerFailure`). The calling test file defines `MakePicky` and `BadArgument` and imports the
/// tasks above and `WorkerFailure`.
macro_rules! assert_bad_values_fail {
    ($pool:expr, $worker_failure:ident) => {{
        let unknown = $worker_failure(&$pool.submit(Unregistered).unwrap());
        assert_eq!(unknown, WorkerFailure::NotRegistered { task: "unregistered".into() });
        assert!(unknown.to_string().contains("`unregistered` is not registered"), "{unknown}");
        match $worker_failure(&$pool.submit(Picky(13)).unwrap()) {
            WorkerFailure::InputUndecodable { task, message } => {
                assert_eq!(task, "picky");
                assert!(message.contains("Deserialization"), "{message}");
            }
            other => panic!("expected InputUndecodable, got {other:?}"),
        }
        match $worker_failure(&$pool.submit(MakePicky(13)).unwrap()) {
            WorkerFailure::OutputUndecodable { task, message } => {
                assert_eq!(task, "make_picky");
                assert!(message.contains("Deserialization"), "{message}");
            }
            other => panic!("expected OutputUndecodable, got {other:?}"),
        }
        match $worker_failure(&$pool.submit(BadOutput).unwrap()) {
            WorkerFailure::OutputUnencodable { task, message } => {
                assert_eq!(task, "bad_output");
                assert!(message.contains("Serialization"), "{message}");
            }
            other => panic!("expected OutputUnencodable, got {other:?}"),
        }
        match $worker_failure(&$pool.submit(BadArgument(Unserialisable)).unwrap()) {
            WorkerFailure::InputUnencodable { task, message } => {
                assert_eq!(task, "bad_argument");
                assert!(message.contains("Serialization"), "{message}");
            }
            other => panic!("expected InputUnencodable, got {other:?}"),
        }
    }};
}
pub(crate) use assert_bad_values_fail;
