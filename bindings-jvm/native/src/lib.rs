//! JNI glue between the Tidelog core and the Java package `dev.tidelog`.
//!
//! The glue converts types, errors and completions only; every storage rule
//! lives in the core. Its shape:
//!
//! * **Writes** (`append`, `write`, `delete_to`, `flush`) go through the shared
//!   completion queue of `tidelog-ffi`: the core's writer thread only pushes the
//!   result there, never attaching to the JVM. A Java-owned daemon thread waits in
//!   `pollCompletions` and gets each batch as one `byte[]` (a completion batch of
//!   `core/docs/wire.md`), from which it completes the futures in submission order.
//! * **Batches cross once**, in the formats of `core/docs/wire.md`: events go in
//!   as one `byte[]`, a page of events comes out as one `byte[]`.
//! * **Errors** thrown by a call are turned into `dev.tidelog.TidelogException`
//!   subclasses by one function, [`error_to_java`], keyed on [`ErrorKind::code`].
//! * **Subscriptions** (live tails) hand their batches to a second queue per
//!   journal, the page queue of `tidelog-ffi`'s `tail` module: the core's tail
//!   thread pushes each batch there as one event page, and a Java-owned daemon
//!   thread waits in `pollPages` and gets them as one subscription batch
//!   (`core/docs/wire.md`, "Subscriptions"). A blocking iterator instead waits in
//!   `subscriptionNext` on its own thread.
//! * **Panics** never unwind into the JVM: every entry point runs inside
//!   [`guard`], which turns a panic into a `java.lang.IllegalStateException`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use jni::objects::{JByteArray, JClass, JLongArray, JObject, JString, JValue, ReleaseMode};
use jni::sys::{jboolean, jbyteArray, jint, jlong, jlongArray, jobjectArray, jstring, JNI_FALSE, JNI_TRUE};
use jni::JNIEnv;
use tidelog::{Error, ErrorKind, InvalidArgument, Journal, Options, SnapshotCriteria, Subscription};
use tidelog_ffi::tail::{self, PageQueue};
use tidelog_ffi::wire::{self, Scope, WireError};
use tidelog_ffi::{CompletionQueue, Outcome, Queue};

/// What a Java `long` handle points to.
pub struct Handle {
    journal: Journal,
    queue: Arc<CompletionQueue>,
    /// Batches of this journal's subscriptions, for `pollPages`.
    pages: Arc<PageQueue>,
}

/// # Safety
/// `handle` must come from `open` and not have been freed; the Java side
/// frees it only once its `Journal` object is unreachable.
unsafe fn handle<'a>(handle: jlong) -> &'a Handle {
    &*(handle as *const Handle)
}

// ---- errors -----------------------------------------------------------------

const EXCEPTION_CLASS: &str = "dev/tidelog/TidelogException";
const FROM_NATIVE_SIG: &str = "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;JJZ)Ldev/tidelog/TidelogException;";

/// The one place a core error becomes a Java exception: the Java factory
/// `TidelogException.fromNative` picks the subclass from the stable code.
fn error_to_java<'l>(env: &mut JNIEnv<'l>, error: &Error) -> jni::errors::Result<JObject<'l>> {
    let code = env.new_string(error.kind().code())?;
    let message = env.new_string(error.to_string())?;
    let (pid, expected, actual) = match error {
        Error::SequenceConflict {
            persistence_id,
            expected,
            actual,
        } => (env.new_string(persistence_id)?, *expected as i64, *actual as i64),
        _ => (JString::from(JObject::null()), 0, 0),
    };
    let args = [
        JValue::Object(&code),
        JValue::Object(&message),
        JValue::Object(&pid),
        JValue::Long(expected),
        JValue::Long(actual),
        JValue::Bool(u8::from(error.is_retryable())),
    ];
    let exception = env.call_static_method(EXCEPTION_CLASS, "fromNative", FROM_NATIVE_SIG, &args)?.l();
    // `pollCompletions` may build hundreds of exceptions in one call: free the locals as we go.
    for local in [code, message, pid] {
        if !local.is_null() {
            env.delete_local_ref(local)?;
        }
    }
    exception
}

fn throw_error(env: &mut JNIEnv, error: &Error) {
    if env.exception_check().unwrap_or(true) {
        return;
    }
    match error_to_java(env, error) {
        Ok(obj) => {
            let _ = env.throw(jni::objects::JThrowable::from(obj));
        }
        Err(_) => {
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/IllegalStateException", error.to_string());
            }
        }
    }
}

/// Failures of the glue itself (a JNI call failed, an argument could not be decoded).
enum GlueError {
    Core(Error),
    Jni(jni::errors::Error),
    Argument(String),
    /// A string argument that is not well-formed UTF-16 (a lone surrogate).
    NotUnicode,
}

impl From<Error> for GlueError {
    fn from(e: Error) -> Self {
        GlueError::Core(e)
    }
}
impl From<jni::errors::Error> for GlueError {
    fn from(e: jni::errors::Error) -> Self {
        GlueError::Jni(e)
    }
}
impl From<WireError> for GlueError {
    fn from(e: WireError) -> Self {
        GlueError::Argument(e.to_string())
    }
}

type GlueResult<T> = Result<T, GlueError>;

/// Runs an entry point: panics and errors become Java exceptions, never unwinding.
fn guard<'l, T>(env: &mut JNIEnv<'l>, default: T, body: impl FnOnce(&mut JNIEnv<'l>) -> GlueResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(|| body(env))) {
        Ok(Ok(value)) => value,
        Ok(Err(GlueError::Core(e))) => {
            throw_error(env, &e);
            default
        }
        Ok(Err(GlueError::Jni(e))) => {
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/IllegalStateException", format!("tidelog JNI: {e}"));
            }
            default
        }
        Ok(Err(GlueError::NotUnicode)) => {
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new(
                    "dev/tidelog/InvalidArgumentException",
                    "a string holds a lone UTF-16 surrogate: persistence ids, tags, manifests and writer ids must be well-formed Unicode",
                );
            }
            default
        }
        Ok(Err(GlueError::Argument(m))) => {
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/IllegalArgumentException", m);
            }
            default
        }
        Err(panic) => {
            let message = tidelog_ffi::panic_message(panic.as_ref());
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/IllegalStateException", format!("tidelog native panic: {message}"));
            }
            default
        }
    }
}

fn string(env: &mut JNIEnv, s: &JString) -> GlueResult<String> {
    with_string(env, s, |_, text| Ok(text.into_owned()))
}

/// Calls `f` with the text of the Java string `s`, borrowed from the JVM for the call (no owned
/// copy unless it holds supplementary characters), and `env`. The string is released after `f`,
/// so whatever `f` holds of the JVM (a critical array) is released first.
fn with_string<R>(env: &mut JNIEnv, s: &JString, f: impl FnOnce(&mut JNIEnv, std::borrow::Cow<'_, str>) -> GlueResult<R>) -> GlueResult<R> {
    if s.is_null() {
        return Err(GlueError::Argument("null string".into()));
    }
    // Unchecked: every native method takes these as `String` parameters, so the JVM has typed
    // them already; the checked form looks up java.lang.String (FindClass) on every call.
    // SAFETY: `s` is a non-null java.lang.String (see above).
    let java = unsafe { env.get_string_unchecked(s) }?;
    // Strict decoding: the jni crate's conversion turns a lone UTF-16 surrogate into U+FFFD, so
    // two different ids would share one stream.
    let text = cesu8::from_java_cesu8(java.to_bytes()).map_err(|_| GlueError::NotUnicode)?;
    f(env, text)
}

fn bytes(env: &mut JNIEnv, a: &JByteArray) -> GlueResult<Vec<u8>> {
    if a.is_null() {
        return Ok(Vec::new());
    }
    Ok(env.convert_byte_array(a)?)
}

fn string_array(env: &mut JNIEnv, values: &[String]) -> GlueResult<jobjectArray> {
    let array = env.new_object_array(values.len() as i32, "java/lang/String", JObject::null())?;
    for (i, v) in values.iter().enumerate() {
        let s = env.new_string(v)?;
        env.set_object_array_element(&array, i as i32, &s)?;
        env.delete_local_ref(s)?;
    }
    Ok(array.into_raw())
}

/// A page's byte limit: 1 MiB unless Java asks for a positive one.
fn page_limit(max_bytes: jint) -> usize {
    usize::try_from(max_bytes).ok().filter(|&n| n > 0).unwrap_or(1 << 20)
}

/// A count from Java; a negative one is zero.
fn clamp_count(max: jlong) -> usize {
    usize::try_from(max).unwrap_or(0)
}

// ---- entry points -----------------------------------------------------------

/// `static native String[] errorCodes()`: every core error code, for the exhaustiveness test.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_errorCodes<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let codes: Vec<String> = ErrorKind::ALL.iter().map(|k| k.code().to_owned()).collect();
        string_array(env, &codes)
    })
}

/// `static native long open(String path, long[] config)`; see `dev.tidelog.Options#toNative`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_open<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    path: JString<'l>,
    config: JLongArray<'l>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let path = string(env, &path)?;
        let options = options(env, &config)?;
        let journal = Journal::open(&path, options)?;
        let handle = Box::new(Handle {
            journal,
            queue: CompletionQueue::new(),
            pages: PageQueue::new(),
        });
        Ok(Box::into_raw(handle) as jlong)
    })
}

/// Decodes the options record (`core/docs/wire.md`, "Options record") of `Options.toNative()` (Java).
/// Java's longs are signed: a negative value counts as zero, as it always did.
fn options(env: &mut JNIEnv<'_>, config: &JLongArray<'_>) -> GlueResult<Options> {
    let mut record = [0i64; tidelog_ffi::options::field::COUNT];
    env.get_long_array_region(config, 0, &mut record)?;
    Ok(tidelog_ffi::decode_options(&record.map(|v| v.max(0) as u64))?)
}

/// `static native void checkOptions(long handle, long[] config)`: fails with
/// `InvalidArgumentException` naming the first option that differs from those the
/// journal was opened with.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_checkOptions<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    config: JLongArray<'l>,
) {
    guard(&mut env, (), |env| {
        let options = options(env, &config)?;
        let h = unsafe { handle(h) };
        Ok(h.journal.check_options(&options)?)
    })
}

/// `static native void close(long handle)`: closes the journal (idempotent); pending
/// operations complete (with `ClosedException` if they could not be committed).
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_close<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong) {
    guard(&mut env, (), |_env| {
        let h = unsafe { handle(h) };
        let result = h.journal.close();
        h.queue.wake();
        h.pages.wake();
        Ok(result?)
    })
}

/// `static native void free(long handle)`: releases the handle. Called once, by the
/// Java `Cleaner`, after the `Journal` object became unreachable.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_free<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong) {
    guard(&mut env, (), |_env| {
        if h != 0 {
            // SAFETY: `h` came from `Box::into_raw` in `open` and is freed exactly once.
            let handle = unsafe { Box::from_raw(h as *mut Handle) };
            let _ = handle.journal.close();
            drop(handle);
        }
        Ok(())
    })
}

/// `static native String location(long handle)`: the journal's directory, or its PostgreSQL URI
/// without the password (the core never keeps the password where it could be shown).
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_location<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        // SAFETY: see `handle`.
        let h = unsafe { handle(h) };
        Ok(env.new_string(h.journal.path().to_string_lossy())?.into_raw())
    })
}

/// `static native String redact(String location)`: a PostgreSQL URI without its password (the
/// core's rule); anything else unchanged.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_redact<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, location: JString<'l>) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let location = string(env, &location)?;
        let shown = if tidelog::is_postgres_uri(&location) {
            tidelog::redact_uri(&location)
        } else {
            location
        };
        Ok(env.new_string(shown)?.into_raw())
    })
}

/// `static native boolean isClosed(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_isClosed<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong) -> jboolean {
    guard(&mut env, JNI_TRUE, |_env| {
        Ok(if unsafe { handle(h) }.journal.is_closed() {
            JNI_TRUE
        } else {
            JNI_FALSE
        })
    })
}

/// Runs a submission: whatever goes wrong in the glue still completes `token`
/// exactly once (as a failure), so the Java side's in-order delivery never stalls.
fn submit<'l>(env: &mut JNIEnv<'l>, h: jlong, token: jlong, body: impl FnOnce(&mut JNIEnv<'l>, &Handle, u64) -> GlueResult<()>) {
    guard(env, (), |env| {
        let h = unsafe { handle(h) };
        if let Err(e) = body(env, h, token as u64) {
            let error = match e {
                GlueError::Core(e) => e,
                GlueError::NotUnicode => Error::from(InvalidArgument::Option {
                    option: "string argument",
                    reason: "holds a lone UTF-16 surrogate (not well-formed Unicode)",
                }),
                GlueError::Jni(_) | GlueError::Argument(_) => Error::from(InvalidArgument::Option {
                    option: "arguments",
                    reason: "could not be read from the JVM",
                }),
            };
            let _ = env.exception_clear();
            h.queue.push(token as u64, Outcome::Failed(error));
        }
        Ok(())
    })
}

/// `static native void append(long handle, long token, byte[] request)`: the request is the
/// persistence id (`u32 len` + UTF-8) followed by the events (see [`decode_events`]), so one
/// array crosses and no `jstring` conversion is needed. The result arrives through
/// `pollCompletions` under `token`. Never throws for journal errors: those are completions
/// too, so tokens complete in order.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_append<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    token: jlong,
    request: JByteArray<'l>,
) {
    submit(&mut env, h, token, |env, h, token| {
        let (pid, events) = wire::decode_append(&bytes(env, &request)?)?;
        h.queue.append(&h.journal, token, &pid, events);
        Ok(())
    })
}

/// `static native long[] appendBlocking(long handle, byte[] request)`: the request as for
/// `append`; commits with the core's blocking `append`, on the calling thread when the writer
/// is idle (no completion-thread hand-off). Returns `{first, last}`; throws on failure.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_appendBlocking<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    request: JByteArray<'l>,
) -> jlongArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        let (pid, events) = wire::decode_append(&bytes(env, &request)?)?;
        let receipt = h.journal.append(&pid, events)?;
        let pair = env.new_long_array(2)?;
        env.set_long_array_region(&pair, 0, &[receipt.first_sequence_nr as i64, receipt.last_sequence_nr as i64])?;
        Ok(pair.into_raw())
    })
}

/// `static native byte[] writeBlocking(long handle, byte[] writes)`: as `write`, with the
/// core's blocking `write`; returns the per-write results as a result list (`core/docs/wire.md`).
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_writeBlocking<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    writes: JByteArray<'l>,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        if h.journal.is_closed() {
            // As `writeAsync` on a closed journal: the call fails, rather than each write.
            return Err(Error::Closed.into());
        }
        let results = h.journal.write(wire::decode_writes(&bytes(env, &writes)?)?)?;
        Ok(env.byte_array_from_slice(&wire::encode_results(&results))?.into_raw())
    })
}

/// `static native void write(long handle, long token, byte[] writes)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_write<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    token: jlong,
    writes: JByteArray<'l>,
) {
    submit(&mut env, h, token, |env, h, token| {
        h.queue.write(&h.journal, token, wire::decode_writes(&bytes(env, &writes)?)?);
        Ok(())
    })
}

/// `static native void deleteTo(long handle, long token, String pid, long to)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_deleteTo<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    token: jlong,
    pid: JString<'l>,
    to: jlong,
) {
    submit(&mut env, h, token, |env, h, token| {
        h.queue.delete_to(&h.journal, token, &string(env, &pid)?, to as u64);
        Ok(())
    })
}

/// `static native void flush(long handle, long token)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_flush<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong, token: jlong) {
    submit(&mut env, h, token, |_env, h, token| {
        h.queue.flush(&h.journal, token);
        Ok(())
    })
}

/// `static native byte[] pollCompletions(long handle, int max, long timeoutMillis)`: waits
/// (on the queue's condition variable) up to `timeoutMillis` for completions, then moves up
/// to `max` of them out as one completion batch (`core/docs/wire.md`); null when none came.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_pollCompletions<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    max: jint,
    timeout_millis: jlong,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        drain(env, &h.queue, max, timeout_millis, wire::encode_completions)
    })
}

/// Waits up to `timeout_millis` for items of `queue`, then moves up to `max` of them out to
/// Java as the one buffer `encode` makes; null when none came. If the hand-over fails (Java
/// sees an exception), the items go back, so that each still completes exactly once.
fn drain<T>(
    env: &mut JNIEnv<'_>,
    queue: &Queue<T>,
    max: jint,
    timeout_millis: jlong,
    encode: fn(&[T]) -> Vec<u8>,
) -> GlueResult<jbyteArray> {
    let timeout = Duration::from_millis(timeout_millis.max(0) as u64);
    let done = queue.take(max.max(1) as usize, Some(timeout)).unwrap_or_default();
    if done.is_empty() {
        return Ok(std::ptr::null_mut());
    }
    match env.byte_array_from_slice(&encode(&done)) {
        Ok(batch) => Ok(batch.into_raw()),
        Err(e) => {
            queue.requeue(done);
            Err(e.into())
        }
    }
}

/// `static native byte[] readPage(long handle, int scope, String key, long from, long to, long max, int maxBytes)`:
/// one page of a stream (scope 0), a tag (1) or every event (2), per "Page request" and
/// "Event page" of `core/docs/wire.md`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_tidelog_NativeBridge_readPage<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    scope: jint,
    key: JString<'l>,
    from: jlong,
    to: jlong,
    max: jlong,
    max_bytes: jint,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        let key = string(env, &key)?;
        let scope = Scope::from_code(scope as u32, &key, from as u64, to as u64)?;
        let page = wire::read_page(&h.journal, scope, clamp_count(max), page_limit(max_bytes))?;
        Ok(env.byte_array_from_slice(&page)?.into_raw())
    })
}

/// `static native int readStreamInto(long handle, String pid, long from, long to, long max, int maxBytes, byte[] into)`:
/// a "Stream page" (`core/docs/wire.md`) of the stream `pid` written straight into `into` (from
/// its start): each event's checked stored body copied once, for the small reads of
/// `Journal.read`. Returns the page's length, or -1 when the page does not fit `into` (whose
/// bytes are then unspecified).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_tidelog_NativeBridge_readStreamInto<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
    from: jlong,
    to: jlong,
    max: jlong,
    max_bytes: jint,
    into: JByteArray<'l>,
) -> jint {
    guard(&mut env, 0, |env| {
        let h = unsafe { handle(h) };
        let (from, to, max, max_bytes) = (from as u64, to as u64, clamp_count(max), page_limit(max_bytes));
        // The id borrowed for the call, without an owned copy.
        let written = with_string(env, &pid, |env, pid| {
            // The array itself, not a copy (HotSpot pins it): no page buffer and no second copy. Held
            // only for the scan, which calls no JNI function and never waits on a Java thread (at
            // most, as every read, on the journal's writer for a write to this stream in flight).
            // Released on return, before the string (whose release is a JNI call).
            // SAFETY: nothing below uses `env` until `elements` is dropped (it borrows `env`).
            let mut elements = unsafe { env.get_array_elements_critical(&into, ReleaseMode::CopyBack) }?;
            // SAFETY: jbyte (i8) and u8 have the same size and alignment; `elements` outlives `out`.
            let out = unsafe { std::slice::from_raw_parts_mut(elements.as_mut_ptr().cast::<u8>(), elements.len()) };
            Ok(wire::read_stream_page_to(&h.journal, &pid, from, to, max, max_bytes, out)?)
        })?;
        match written {
            Some(length) => Ok(i32::try_from(length).map_err(|_| GlueError::Argument("page larger than 2 GiB".into()))?),
            None => Ok(-1),
        }
    })
}

/// `static native long highestSequenceNr(long handle, String pid)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_highestSequenceNr<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let h = unsafe { handle(h) };
        let pid = string(env, &pid)?;
        Ok(h.journal.highest_sequence_nr(&pid)? as jlong)
    })
}

/// `static native long nextGlobalOffset(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_nextGlobalOffset<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong) -> jlong {
    guard(&mut env, 0, |_| {
        let h = unsafe { handle(h) };
        Ok(h.journal.next_global_offset()? as jlong)
    })
}

/// `static native String[] persistenceIds(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_persistenceIds<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let ids = unsafe { handle(h) }.journal.persistence_ids()?;
        string_array(env, &ids)
    })
}

/// `static native long[] metrics(long handle)`: the counters in the order of `dev.tidelog.Metrics`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_metrics<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong) -> jlongArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let values = unsafe { handle(h) }.journal.metrics().values().map(|v| v as i64);
        let array = env.new_long_array(values.len() as i32)?;
        env.set_long_array_region(&array, 0, &values)?;
        Ok(array.into_raw())
    })
}

/// `static native String prometheus(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_prometheus<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let text = unsafe { handle(h) }.journal.metrics().to_prometheus();
        Ok(env.new_string(text)?.into_raw())
    })
}

// ---- snapshots --------------------------------------------------------------

fn criteria(max_seq: jlong, max_ts: jlong, min_seq: jlong, min_ts: jlong) -> SnapshotCriteria {
    SnapshotCriteria::latest()
        .max_sequence_nr(max_seq as u64)
        .max_timestamp(max_ts as u64)
        .min_sequence_nr(min_seq as u64)
        .min_timestamp(min_ts as u64)
}

/// `static native void snapshotSave(long handle, byte[] snapshot)`: a snapshot to save (`core/docs/wire.md`).
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_snapshotSave<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    snapshot: JByteArray<'l>,
) {
    guard(&mut env, (), |env| {
        let snapshot = wire::decode_snapshot(&bytes(env, &snapshot)?)?;
        Ok(unsafe { handle(h) }.journal.snapshots().save(&snapshot)?)
    })
}

/// `static native byte[] snapshotLoad(long handle, String pid, long maxSeq, long maxTs, long minSeq, long minTs)`:
/// null when nothing matches, else `u64 seq, u64 timestamp`, manifest, metadata, state.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_tidelog_NativeBridge_snapshotLoad<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
    max_seq: jlong,
    max_ts: jlong,
    min_seq: jlong,
    min_ts: jlong,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        let pid = string(env, &pid)?;
        let Some(s) = h.journal.snapshots().load(&pid, criteria(max_seq, max_ts, min_seq, min_ts))? else {
            return Ok(std::ptr::null_mut());
        };
        Ok(env.byte_array_from_slice(&wire::encode_snapshot(&s))?.into_raw())
    })
}

/// `static native long[] snapshotList(long handle, String pid)`: `(seq, timestamp)` pairs, oldest first.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_snapshotList<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
) -> jlongArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        let pid = string(env, &pid)?;
        let infos = h.journal.snapshots().list(&pid)?;
        let flat: Vec<i64> = infos.iter().flat_map(|i| [i.sequence_nr as i64, i.timestamp as i64]).collect();
        let array = env.new_long_array(flat.len() as i32)?;
        env.set_long_array_region(&array, 0, &flat)?;
        Ok(array.into_raw())
    })
}

/// `static native boolean snapshotDelete(long handle, String pid, long seq)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_snapshotDelete<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
    seq: jlong,
) -> jboolean {
    guard(&mut env, JNI_FALSE, |env| {
        let h = unsafe { handle(h) };
        let pid = string(env, &pid)?;
        Ok(if h.journal.snapshots().delete(&pid, seq as u64)? {
            JNI_TRUE
        } else {
            JNI_FALSE
        })
    })
}

/// `static native long snapshotDeleteMatching(long handle, String pid, long maxSeq, long maxTs, long minSeq, long minTs)`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_tidelog_NativeBridge_snapshotDeleteMatching<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
    max_seq: jlong,
    max_ts: jlong,
    min_seq: jlong,
    min_ts: jlong,
) -> jlong {
    guard(&mut env, 0, |env| {
        let h = unsafe { handle(h) };
        let pid = string(env, &pid)?;
        Ok(h.journal
            .snapshots()
            .delete_matching(&pid, criteria(max_seq, max_ts, min_seq, min_ts))? as jlong)
    })
}

/// `static native long snapshotPrune(long handle, String pid, long keepLastN)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_snapshotPrune<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
    keep: jlong,
) -> jlong {
    guard(&mut env, 0, |env| {
        let h = unsafe { handle(h) };
        let pid = string(env, &pid)?;
        Ok(h.journal.snapshots().prune(&pid, clamp_count(keep))? as jlong)
    })
}

/// `static native String[] snapshotPersistenceIds(long handle)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_snapshotPersistenceIds<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let ids = unsafe { handle(h) }.journal.snapshots().persistence_ids()?;
        string_array(env, &ids)
    })
}

// ---- subscriptions ------------------------------------------------------------

/// # Safety
/// `s` must come from `subscribe` and not have been freed; the Java side
/// (`dev.tidelog.NativeTail`) frees it once, when no call on it is running.
unsafe fn subscription<'a>(s: jlong) -> &'a Subscription {
    &*(s as *const Subscription)
}

/// `static native long subscribe(long handle, int scope, String key, long from)`: opens a
/// subscription (scope 0: the stream `key` from sequence nr `from`; 1: the tag `key` from
/// global offset `from`; 2: every event from `from`) and returns its handle.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_subscribe<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    scope: jint,
    key: JString<'l>,
    from: jlong,
) -> jlong {
    guard(&mut env, 0, |env| {
        let h = unsafe { handle(h) };
        let key = string(env, &key)?;
        let scope = u32::try_from(scope).unwrap_or(u32::MAX);
        let sub = tail::subscribe(&h.journal, scope, &key, from.max(0) as u64)?;
        Ok(Box::into_raw(Box::new(sub)) as jlong)
    })
}

/// `static native void subscriptionRequest(long handle, long subscription, long token, int max)`:
/// asks for the next batch of at most `max` events; it arrives through `pollPages` under `token`
/// (at once when events are there, else once they are committed; `CLOSED` at the end).
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_subscriptionRequest<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    s: jlong,
    token: jlong,
    max: jint,
) {
    guard(&mut env, (), |_env| {
        let h = unsafe { handle(h) };
        let sub = unsafe { subscription(s) };
        h.pages.next_page(sub, token as u64, max.max(1) as usize);
        Ok(())
    })
}

/// `static native byte[] pollPages(long handle, int max, long timeoutMillis)`: waits up to
/// `timeoutMillis` for subscription batches, then moves up to `max` of them out as one
/// subscription batch (`core/docs/wire.md`); null when none came.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_pollPages<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    max: jint,
    timeout_millis: jlong,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        drain(env, &h.pages, max, timeout_millis, tail::encode_page_completions)
    })
}

/// `static native byte[] subscriptionNext(long subscription, int max, long timeoutMillis)`:
/// blocks until a batch of at most `max` events is there and returns it as an event page
/// (count 0 when `timeoutMillis` passed first; a negative timeout waits without limit).
/// Throws `ClosedException` at the end (cancelled, or the journal closed).
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_subscriptionNext<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    s: jlong,
    max: jint,
    timeout_millis: jlong,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let sub = unsafe { subscription(s) };
        let timeout = u64::try_from(timeout_millis).ok().map(Duration::from_millis);
        let page = tail::next_page(sub, max.max(1) as usize, timeout)?;
        Ok(env.byte_array_from_slice(&page)?.into_raw())
    })
}

/// `static native void subscriptionCancel(long subscription)`: ends it (idempotent, any
/// thread); a blocked `subscriptionNext` and a pending request complete with `CLOSED`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_subscriptionCancel<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, s: jlong) {
    guard(&mut env, (), |_env| {
        unsafe { subscription(s) }.cancel();
        Ok(())
    })
}

/// `static native void subscriptionFree(long subscription)`: cancels and releases it. Called
/// once, when no other call on it is running.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_subscriptionFree<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, s: jlong) {
    guard(&mut env, (), |_env| {
        if s != 0 {
            // SAFETY: `s` came from `Box::into_raw` in `subscribe` and is freed exactly once.
            drop(unsafe { Box::from_raw(s as *mut Subscription) });
        }
        Ok(())
    })
}
