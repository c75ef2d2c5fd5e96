//! A tour of the thread-pool examples of the Python notes, run one after another.
//!
//! Each example is its own program (`cargo run --example NAME`); the tour includes their files
//! as modules and calls their `main`s in the order the notes present them.
//!
//! `cargo run --release --example tour`

// Each example is a program of its own and declares `mod common;`, so the tour holds one copy of
// that small module per example. That is harmless: the examples never pass an `Out` to each other.
#![allow(clippy::duplicate_mod)]

#[path = "as_completed.rs"]
mod as_completed;
#[path = "cancel.rs"]
mod cancel;
#[path = "context_manager.rs"]
mod context_manager;
#[path = "exceptions.rs"]
mod exceptions;
#[path = "future_methods.rs"]
mod future_methods;
#[path = "map.rs"]
mod map;
#[path = "shutdown.rs"]
mod shutdown;
#[path = "thread_pool_basic.rs"]
mod thread_pool_basic;

use std::error::Error;

type Example = fn() -> Result<(), Box<dyn Error>>;

const EXAMPLES: [(&str, &str, Example); 8] = [
    ("thread_pool_basic", "three threads take turns at seven tasks", thread_pool_basic::main),
    ("context_manager", "leaving the scope waits for the tasks", context_manager::main),
    ("map", "results in input order", map::main),
    ("shutdown", "finish what was accepted, refuse what comes after", shutdown::main),
    ("future_methods", "what a future says about its task, and when", future_methods::main),
    ("cancel", "only a task that has not started can be cancelled", cancel::main),
    ("as_completed", "results in completion order", as_completed::main),
    ("exceptions", "a task's panic reaches the caller as a value", exceptions::main),
];

fn main() -> Result<(), Box<dyn Error>> {
    for (index, (name, what, example)) in EXAMPLES.into_iter().enumerate() {
        if index > 0 {
            println!();
        }
        println!("== {name}: {what} (cargo run --example {name})");
        example()?;
    }
    Ok(())
}
