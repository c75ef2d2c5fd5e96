//! What the process-pool and MPI-pool test binaries share: tasks (each binary registers them in
//! its own registry: a panic, an unregistered name, values that fail to decode or to encode, an
//! abort, byte buffers), the check of values that fail to cross the pipe, and the test runner.

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

/// Ends its worker (process or rank) with SIGABRT.
#[derive(Serialize, Deserialize)]
pub struct Abort;

impl Task for Abort {
    type Output = ();
    const NAME: &'static str = "abort";
    fn run(self) {
        std::process::abort();
    }
}

/// Returns a `Picky` the submitting side may not be able to decode.
#[derive(Serialize, Deserialize)]
pub struct MakePicky(pub u32);

impl Task for MakePicky {
    type Output = Picky;
    const NAME: &'static str = "make_picky";
    fn run(self) -> Picky {
        Picky(self.0)
    }
}

/// Its own value cannot be serialised (fails where it is submitted).
#[derive(Serialize, Deserialize)]
pub struct BadArgument(pub Unserialisable);

impl Task for BadArgument {
    type Output = ();
    const NAME: &'static str = "bad_argument";
    fn run(self) {}
}

/// A byte buffer that serde encodes in one piece (`serde_bytes`): the fast way to move bulk data.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Bytes(#[serde(with = "serde_bytes")] pub Vec<u8>);

/// Returns its bytes reversed, as one byte string each way.
#[derive(Serialize, Deserialize)]
pub struct ReverseBytes(pub Bytes);

impl Task for ReverseBytes {
    type Output = Bytes;
    const NAME: &'static str = "reverse_bytes";
    fn run(mut self) -> Bytes {
        self.0.0.reverse();
        self.0
    }
}

/// The test runner of the two `harness = false` test binaries (each must control its own
/// `main`: its children or worker ranks enter there): runs the tests whose names contain one of
/// `filters` (all when there is none), each under `catch_unwind`, prints libtest-like lines and
/// a summary naming `binary`, and fails if any test failed.
pub fn run_selected(binary: &str, tests: &[(&str, fn())], filters: &[String]) -> std::process::ExitCode {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::time::Instant;
    let selected = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())));
    let (mut passed, mut failed) = (0, 0);
    let started = Instant::now();
    for (name, test) in selected {
        let start = Instant::now();
        match catch_unwind(AssertUnwindSafe(test)) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({:.2?})", start.elapsed());
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    println!("\n{binary}: {passed} passed, {failed} failed in {:.2?}", started.elapsed());
    if failed == 0 { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}

/// Submits, on `$pool`, a task whose name is not registered and values that fail to decode or
/// encode on either side of the pipe, and checks that each fails its own future with the
/// structured failure that names its task (`$worker_failure` waits for a future and returns its
/// `WorkerFailure`). The calling test file imports `WorkerFailure`.
macro_rules! assert_bad_values_fail {
    ($pool:expr, $worker_failure:ident) => {{
        let unknown = $worker_failure(&$pool.submit(crate::tasks::Unregistered).unwrap());
        assert_eq!(unknown, WorkerFailure::NotRegistered { task: "unregistered".into() });
        assert!(unknown.to_string().contains("`unregistered` is not registered"), "{unknown}");
        match $worker_failure(&$pool.submit(crate::tasks::Picky(13)).unwrap()) {
            WorkerFailure::InputUndecodable { task, message } => {
                assert_eq!(task, "picky");
                assert!(message.contains("Deserialization"), "{message}");
            }
            other => panic!("expected InputUndecodable, got {other:?}"),
        }
        match $worker_failure(&$pool.submit(crate::tasks::MakePicky(13)).unwrap()) {
            WorkerFailure::OutputUndecodable { task, message } => {
                assert_eq!(task, "make_picky");
                assert!(message.contains("Deserialization"), "{message}");
            }
            other => panic!("expected OutputUndecodable, got {other:?}"),
        }
        match $worker_failure(&$pool.submit(crate::tasks::BadOutput).unwrap()) {
            WorkerFailure::OutputUnencodable { task, message } => {
                assert_eq!(task, "bad_output");
                assert!(message.contains("Serialization"), "{message}");
            }
            other => panic!("expected OutputUnencodable, got {other:?}"),
        }
        match $worker_failure(&$pool.submit(crate::tasks::BadArgument(crate::tasks::Unserialisable)).unwrap())
        {
            WorkerFailure::InputUnencodable { task, message } => {
                assert_eq!(task, "bad_argument");
                assert!(message.contains("Serialization"), "{message}");
            }
            other => panic!("expected InputUnencodable, got {other:?}"),
        }
    }};
}
pub(crate) use assert_bad_values_fail;
