//! The one thing a completing future needs from whoever waits on it: a way to be woken.
//!
//! A leaf module, so that the parker, the blocking protocol, the future cell and the waiting
//! functions can all implement or hold a [`Notify`] without depending on one another.

/// Something a completing future can wake: a parked thread, a worker, a collector of many
/// completions. `token` tells the receiver which of its futures completed.
#[doc(hidden)]
pub trait Notify: Send + Sync {
    /// Wakes the receiver for the future registered with `token`.
    fn notify(&self, token: usize);
}
