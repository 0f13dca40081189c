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
use crate::writer::Writes;

/// A callback that receives an operation's result, once.
pub type Callback<T> = Box<dyn FnOnce(Result<T>) + Send + 'static>;

/// The pending result of an asynchronous journal operation.
///
/// It is a runtime-agnostic [`Future`] (any executor can poll it) and can also
/// be waited on from a plain thread with [`Completion::wait`]. Dropping it does
/// not cancel the operation. An append's completion holds the appended events from
/// the commit until it is awaited or dropped, so that the caller's thread frees them.
#[must_use = "the operation runs regardless; await or wait to learn its result"]
pub struct Completion<T> {
    receiver: oneshot::Receiver<Reply<T>>,
}

/// What a completion's channel carries: the result and, for an append, the writes it
/// consumed, so that the thread that allocated them frees them (on its own, uncontended
/// allocator cache) instead of the writer thread.
pub(crate) type Reply<T> = (Result<T>, Option<Writes>);

impl<T: Send + 'static> Completion<T> {
    /// A completion and the callback that resolves it.
    pub(crate) fn new() -> (Completion<T>, Callback<T>) {
        let (sender, receiver) = oneshot::channel();
        let callback: Callback<T> = Box::new(move |result| {
            // The receiver may be gone (caller dropped the future); nothing to do then.
            let _ = sender.send((result, None));
        });
        (Completion { receiver }, callback)
    }
}

impl<T> Completion<T> {
    /// A completion and the sender that resolves it (no boxed callback).
    pub(crate) fn channel() -> (Completion<T>, oneshot::Sender<Reply<T>>) {
        let (sender, receiver) = oneshot::channel();
        (Completion { receiver }, sender)
    }

    /// Blocks the current thread until the operation completes.
    pub fn wait(self) -> Result<T> {
        self.receiver.recv().map(|(result, _spent)| result).unwrap_or(Err(Error::Closed))
    }
}

impl<T> Future for Completion<T> {
    type Output = Result<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|r| r.map(|(result, _spent)| result).unwrap_or(Err(Error::Closed)))
    }
}
