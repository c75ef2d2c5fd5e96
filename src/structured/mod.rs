//! Structured fork-join on a pool: [`join`](crate::ThreadPoolExecutor::join) of two borrowing
//! closures and [`scope`](crate::ThreadPoolExecutor::scope)s of borrowing tasks. Both queue work
//! whose closures borrow from the caller's stack, so each holds a lifetime argument written
//! next to its one `unsafe` step; both wait as every blocking call of the crate does
//! (`crate::blocking`), so neither adds a deadlock that a thread per task would not have.

#![allow(unsafe_code)]

pub(crate) mod join;
pub(crate) mod scope;

pub use scope::Scope;
