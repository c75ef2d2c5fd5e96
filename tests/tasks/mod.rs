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
