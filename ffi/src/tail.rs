//! Subscriptions for the byte-buffer bindings (`core/docs/wire.md`, "Subscriptions").
//!
//! A binding opens a [`Subscription`] with [`subscribe`] (the page request's scope codes),
//! then asks for one batch at a time:
//! * asynchronously, [`PageQueue::next_page`]: the batch arrives, encoded as one event page,
//!   in the journal's page queue under the host's token, and the queue's waker (or a host
//!   thread blocked in [`PageQueue::take`]) hands it to the host: one crossing per batch;
//! * blocking, [`next_page`], for a host thread of its own (a blocking iterator).
//!
//! The page is encoded on the thread that read it (the caller's or the core's tail thread),
//! never on the writer thread and never on the host's.

use std::sync::Arc;
use std::time::Duration;

use tidelog::{Error, Journal, Subscription, SubscriptionSource};

use crate::queue::Queue;
use crate::wire::{self, put_u32, put_u64};
use crate::{status, Failure};

/// Scope codes of [`subscribe`], the same as a page request's.
pub const SCOPE_STREAM: u32 = 0;
/// Events of one tag.
pub const SCOPE_TAG: u32 = 1;
/// Every event.
pub const SCOPE_ALL: u32 = 2;

/// Opens a subscription: scope 0 follows the stream `key` from sequence nr `from`, 1 the tag
/// `key` from global offset `from`, 2 every event from global offset `from`; another code is
/// `INVALID_ARGUMENT`.
pub fn subscribe(journal: &Journal, scope: u32, key: &str, from: u64) -> tidelog::Result<Subscription> {
    let source = match scope {
        SCOPE_STREAM => SubscriptionSource::Stream {
            persistence_id: key.to_owned(),
            from_sequence_nr: from,
        },
        SCOPE_TAG => SubscriptionSource::Tag {
            tag: key.to_owned(),
            from_offset: from,
        },
        SCOPE_ALL => SubscriptionSource::All { from_offset: from },
        _ => {
            let (option, reason) = ("scope", "expected 0 (stream), 1 (tag) or 2 (all)");
            return Err(tidelog::InvalidArgument::Option { option, reason }.into());
        }
    };
    journal.subscribe(source)
}

/// Blocks until a batch of at most `max` events is available and returns it as an event
/// page; an empty page (count 0) when `timeout` passed first. `CLOSED` once the
/// subscription was cancelled or the journal closed: the end of the subscription.
pub fn next_page(subscription: &Subscription, max: usize, timeout: Option<Duration>) -> tidelog::Result<Vec<u8>> {
    let events = match timeout {
        None => subscription.next_batch(max)?,
        Some(t) => subscription.next_batch_timeout(max, t)?,
    };
    Ok(wire::encode_event_list(&events))
}

/// The events available now as an event page, at most `max` (count 0: none yet).
pub fn try_next_page(subscription: &Subscription, max: usize) -> tidelog::Result<Vec<u8>> {
    Ok(wire::encode_event_list(&subscription.try_next_batch(max)?))
}

/// A subscription batch that finished: the host's token and the encoded event page or
/// the failure (`CLOSED`: the subscription ended).
#[derive(Debug)]
pub struct PageCompletion {
    /// The host's token.
    pub token: u64,
    /// The event page, or why there is none.
    pub result: Result<Vec<u8>, Failure>,
}

/// The queue of a journal's subscription batches (same contract as the completion queue).
pub type PageQueue = Queue<PageCompletion>;

impl Queue<PageCompletion> {
    /// Asks `subscription` for its next batch of at most `max` events; it completes `token`
    /// in this queue: at once when events are available (on this thread), otherwise from
    /// the core's tail thread once they are. One request per subscription at a time
    /// (`INVALID_ARGUMENT` otherwise); cancelling completes it with `CLOSED`.
    pub fn next_page(self: &Arc<Self>, subscription: &Subscription, token: u64, max: usize) {
        let queue = self.clone();
        subscription.next_batch_with(max, move |result| {
            let result = result.map(|events| wire::encode_event_list(&events)).map_err(Failure::from);
            queue.push_item(PageCompletion { token, result });
        });
    }
}

/// A subscription batch list ("Subscription batch" of `core/docs/wire.md`): `u32 count`,
/// then per completion `u64 token`, `i32 status`, and a `bytes` holding an event page
/// (status 0: the length lets a decoder slice the page without decoding it) or a `str` message.
pub fn encode_page_completions(done: &[PageCompletion]) -> Vec<u8> {
    let size: usize = done
        .iter()
        .map(|d| 16 + d.result.as_ref().map_or_else(|f| f.message.len(), Vec::len))
        .sum();
    let mut out = Vec::with_capacity(4 + size);
    put_u32(&mut out, done.len() as u32);
    for d in done {
        put_u64(&mut out, d.token);
        match &d.result {
            Ok(page) => {
                out.extend_from_slice(&status::OK.to_le_bytes());
                put_u32(&mut out, page.len() as u32);
                out.extend_from_slice(page);
            }
            Err(f) => {
                out.extend_from_slice(&f.status.to_le_bytes());
                put_u32(&mut out, f.message.len() as u32);
                out.extend_from_slice(f.message.as_bytes());
            }
        }
    }
    out
}

/// True when `error` is the normal end of a subscription (cancelled, or its journal closed).
pub fn is_end(error: &Error) -> bool {
    matches!(error, Error::Closed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Reader;
    use tidelog::{Backend, NewEvent, Options};

    fn journal() -> Journal {
        Journal::open("unused", Options::new().backend(Backend::Memory)).unwrap()
    }

    #[test]
    fn scope_codes_follow_the_page_request_and_refuse_others() {
        let j = journal();
        j.append("s", vec![NewEvent::new(b"1".to_vec()).tag("t")]).unwrap();
        for scope in [SCOPE_STREAM, SCOPE_TAG, SCOPE_ALL] {
            let key = if scope == SCOPE_STREAM { "s" } else { "t" };
            let sub = subscribe(&j, scope, key, 0).unwrap();
            let page = try_next_page(&sub, 10).unwrap();
            assert_eq!(Reader::new(&page).u32().unwrap(), 1, "scope {scope}");
        }
        let err = subscribe(&j, 3, "", 0).unwrap_err();
        assert_eq!(err.kind(), tidelog::ErrorKind::InvalidArgument);
    }

    #[test]
    fn the_page_queue_completes_a_token_now_later_and_with_closed_on_cancel() {
        let j = journal();
        let q = PageQueue::new();
        let sub = subscribe(&j, SCOPE_ALL, "", 0).unwrap();
        q.next_page(&sub, 7, 10);
        assert!(q.take(8, Some(Duration::ZERO)).unwrap().is_empty(), "nothing committed yet");
        j.append("s", vec![NewEvent::new(b"x".to_vec())]).unwrap();
        let done = q.take(8, None).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].token, 7);
        let page = done[0].result.as_ref().unwrap();
        let mut r = Reader::new(page);
        assert_eq!(r.u32().unwrap(), 1);
        let event = r.event().unwrap();
        assert_eq!(event.payload, b"x");
        r.finish().unwrap();

        q.next_page(&sub, 8, 10);
        sub.cancel();
        let done = q.take(8, None).unwrap();
        assert_eq!(done[0].token, 8);
        assert_eq!(
            done[0].result.as_ref().unwrap_err().status,
            status::of_kind(tidelog::ErrorKind::Closed)
        );

        let ok = PageCompletion {
            token: 5,
            result: Ok(wire::encode_event_list(&[])),
        };
        let batch = encode_page_completions(&[ok]);
        let mut r = Reader::new(&batch);
        assert_eq!((r.u32().unwrap(), r.u64().unwrap(), r.u32().unwrap()), (1, 5, 0));
        assert_eq!(r.bytes().unwrap(), 0u32.to_le_bytes());
        r.finish().unwrap();

        let batch = encode_page_completions(&done);
        let mut r = Reader::new(&batch);
        assert_eq!(r.u32().unwrap(), 1);
        assert_eq!(r.u64().unwrap(), 8);
        assert_eq!(r.u32().unwrap() as i32, 1);
        assert!(r.str("message").unwrap().contains("closed"));
        r.finish().unwrap();
    }

    #[test]
    fn a_blocking_page_waits_for_a_commit_or_the_timeout() {
        let j = journal();
        let sub = subscribe(&j, SCOPE_STREAM, "s", 1).unwrap();
        let empty = next_page(&sub, 10, Some(Duration::from_millis(5))).unwrap();
        assert_eq!(empty, 0u32.to_le_bytes());
        let writer = {
            let j = j.clone();
            std::thread::spawn(move || j.append("s", vec![NewEvent::new(b"y".to_vec())]).unwrap())
        };
        let page = next_page(&sub, 10, None).unwrap();
        assert_eq!(Reader::new(&page).u32().unwrap(), 1);
        writer.join().unwrap();
        j.close().unwrap();
        assert!(is_end(&next_page(&sub, 10, None).unwrap_err()));
    }
}
