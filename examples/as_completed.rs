//! `as_completed`: handle each result as soon as its task finishes.
//!
//! The Python original:
//!
//! ```python
//! def work(x):
//!     sleep_time = random.randint(1, 5)
//!     time.sleep(sleep_time)
//!     return f"Done {x} in {sleep_time} seconds"
//!
//! executor = ThreadPoolExecutor(max_workers=3)
//! futures = [executor.submit(work, i) for i in range(5)]
//! for future in as_completed(futures):
//!     result = future.result()
//!     print(result)
//! executor.shutdown()
//! ```
//!
//! Results come in the order the tasks finish, not the order they were submitted. A "second"
//! here is a tenth of a real second, so the example runs quickly; the printed numbers are the
//! script's.
//!
//! `cargo run --example as_completed`

mod common;

use std::error::Error;
use std::thread;
use std::time::Duration;

use common::Out;
use stealpool::{ThreadPoolExecutor, as_completed};

/// What one second of the Python script takes here.
const SECOND: Duration = Duration::from_millis(100);

fn work(x: u32, second: Duration) -> String {
    let sleep_time = fastrand::u32(1..=5);
    thread::sleep(second * sleep_time);
    format!("Done {x} in {sleep_time} seconds")
}

/// The example, writing to `out`; one second of the Python script lasts `second` here.
pub fn run(out: &Out, second: Duration) -> Result<(), Box<dyn Error>> {
    let executor = ThreadPoolExecutor::new(3)?;
    let futures = (0..5).map(|i| executor.submit(move || work(i, second))).collect::<Result<Vec<_>, _>>()?;
    // Each item is `Err(Timeout)` only when a timeout was given and ran out; there is none here.
    for future in as_completed(&futures, None) {
        let result = future?.result()?;
        out.line(result);
    }
    executor.shutdown(true, false);
    Ok(())
}

pub fn main() -> Result<(), Box<dyn Error>> {
    run(&Out::stdout(), SECOND)
}

#[cfg(test)]
mod tests {
    use super::common::captured;
    use super::*;

    #[test]
    fn every_result_is_printed_once() {
        let lines = captured(|out| run(out, Duration::from_millis(1)));
        let mut seen: Vec<u32> = lines
            .iter()
            .map(|line| {
                let rest = line.strip_prefix("Done ").unwrap_or_else(|| panic!("{line:?}"));
                let (x, rest) = rest.split_once(" in ").unwrap_or_else(|| panic!("{line:?}"));
                let seconds: u32 = rest.strip_suffix(" seconds").unwrap().parse().unwrap();
                assert!((1..=5).contains(&seconds), "{line:?}");
                x.parse().unwrap()
            })
            .collect();
        // The order is the completion order, which depends on the random sleeps.
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3, 4]);
    }
}
