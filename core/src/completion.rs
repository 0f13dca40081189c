//! Completions: how an operation's result reaches its caller.
//!
//! Every write takes a callback that the writer thread calls exactly once.
//! The blocking and `async` forms are thin layers over it, so bindings can use
//! the callback form directly and complete their host's future without
//! parking a host thread.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Error, Result};

/// A callback that receives an operation's result, once.
pub type Callback<T> = Box<dyn FnOnce(Result<T>) + Send + 'static>;

/// The pending result of an asynchronous journal operation.
///
/// It is a runtime-agnostic [`Future`] (any executor can poll it) and can also
/// be waited on from a plain thread with [`Completion::wait`]. Dropping it does
/// not cancel the operation.
#[must_use = "the operation runs regardless; await or wait to learn its result"]
pub struct Completion<T> {
    receiver: oneshot::Receiver<Result<T>>,
}

impl<T: Send + 'static> Completion<T> {
    /// A completion and the callback that resolves it.
    pub(crate) fn new() -> (Completion<T>, Callback<T>) {
        let (sender, receiver) = oneshot::channel();
        let callback: Callback<T> = Box::new(move |result| {
            // The receiver may be gone (caller dropped the future); nothing to do then.
            let _ = sender.send(result);
        });
        (Completion { receiver }, callback)
    }
}

impl<T> Completion<T> {
    /// Blocks the current thread until the operation completes.
    pub fn wait(self) -> Result<T> {
        self.receiver.recv().unwrap_or(Err(Error::Closed))
    }
}

impl<T> Future for Completion<T> {
    type Output = Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.receiver).poll(cx).map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}
