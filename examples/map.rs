//! `map`: a function over a list on the pool, results in input order.
//!
//! The Python original:
//!
//! ```python
//! values = [2,3,4,5,6,7,8]
//! def multiplyByTwo(n):
//!     return 2 * n
//!
//! with ThreadPoolExecutor(max_workers=3) as executor:
//!     results = executor.map(multiplyByTwo, values)
//!     for result in results:
//!         print(result)
//! ```
//!
//! Prints 4, 6, ..., 16 in that order, whichever task finishes first. Each item of the
//! iterator is a `Result`: a task that panicked would end the iteration with its error there,
//! where Python's loop would raise.
//!
//! `cargo run --example map`

mod common;

use std::error::Error;

use common::Out;
use stealpool::ThreadPoolExecutor;

const VALUES: [i32; 7] = [2, 3, 4, 5, 6, 7, 8];

fn multiply_by_two(n: i32) -> i32 {
    2 * n
}

/// The example, writing to `out`.
pub fn run(out: &Out) -> Result<(), Box<dyn Error>> {
    let executor = ThreadPoolExecutor::new(3)?;
    let results = executor.map(multiply_by_two, VALUES)?;
    for result in results {
        out.line(result?);
    }
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
    fn prints_the_doubles_in_input_order() {
        assert_eq!(captured(run), ["4", "6", "8", "10", "12", "14", "16"]);
    }
}
