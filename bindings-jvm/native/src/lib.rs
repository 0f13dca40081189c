//! JNI glue between the Tidelog core and the Java package `dev.tidelog`.
//!
//! The glue converts types, errors and completions only; every storage rule
//! lives in the core. Its shape:
//!
//! * **Writes** (`append`, `write`, `delete_to`, `flush`) use the core's callback
//!   form. The callback runs on the core's writer thread and only pushes the
//!   result into this journal's [`CompletionQueue`] (a mutex-guarded deque and a
//!   condition variable): it never attaches to the JVM and never calls Java.
//!   A Java-owned daemon thread waits in `pollCompletions` and completes the
//!   `CompletableFuture`s in submission order. No native thread is ever
//!   attached to the JVM, so nothing here can keep the JVM from exiting.
//! * **Batches cross once**: a list of events arrives as one `byte[]`
//!   ([`decode_events`]), a page of events leaves as one `byte[]`
//!   ([`PageEncoder`]), written straight from the core's borrowed `EventRef`s.
//! * **Errors** are turned into `dev.tidelog.TidelogException` subclasses by
//!   one function, [`error_to_java`], keyed on [`ErrorKind::code`].
//! * **Panics** never unwind into the JVM: every entry point runs inside
//!   [`guard`], which turns a panic into a `java.lang.IllegalStateException`.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use jni::objects::{JByteArray, JClass, JLongArray, JObject, JObjectArray, JString, JValue};
use jni::sys::{jboolean, jbyteArray, jint, jlong, jlongArray, jobjectArray, jstring, JNI_FALSE, JNI_TRUE};
use jni::JNIEnv;
use tidelog::{
    AtomicWrite, Backend, Error, ErrorKind, EventRef, InvalidArgument, Journal, NewEvent, Options, Snapshot, SnapshotCriteria, SyncPolicy,
    WriteReceipt,
};

// ---- completion queue -------------------------------------------------------

/// The result of one asynchronous operation, waiting for the Java poller.
enum Outcome {
    Receipt(WriteReceipt),
    Unit,
    Writes(Vec<Result<WriteReceipt, Error>>),
    Failed(Error),
}

struct Done {
    token: i64,
    outcome: Outcome,
}

/// Per-journal queue the writer-thread callbacks push into and the Java poller drains.
#[derive(Default)]
pub struct CompletionQueue {
    items: Mutex<VecDeque<Done>>,
    ready: Condvar,
}

impl CompletionQueue {
    /// Called on the core's writer thread: a short lock and a notify, never blocking on Java.
    fn push(&self, token: i64, outcome: Outcome) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        items.push_back(Done { token, outcome });
        drop(items);
        self.ready.notify_one();
    }

    /// Takes up to `max` items, waiting at most `timeout` for the first one.
    fn take(&self, max: usize, timeout: Duration) -> Vec<Done> {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        if items.is_empty() && !timeout.is_zero() {
            items = self
                .ready
                .wait_timeout_while(items, timeout, |i| i.is_empty())
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let n = items.len().min(max);
        items.drain(..n).collect()
    }

    /// Puts taken items back at the front, in their order (after a failed hand-over).
    fn requeue(&self, taken: Vec<Done>) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        for d in taken.into_iter().rev() {
            items.push_front(d);
        }
    }

    /// Wakes a waiting poller (used by `close`).
    fn wake(&self) {
        self.ready.notify_all();
    }
}

/// What a Java `long` handle points to.
pub struct Handle {
    journal: Journal,
    queue: Arc<CompletionQueue>,
}

impl Handle {
    fn completer(&self, token: i64) -> impl FnOnce(Outcome) + Send + 'static {
        let queue = self.queue.clone();
        move |outcome| queue.push(token, outcome)
    }
}

/// # Safety
/// `handle` must come from `open` and not have been freed; the Java side
/// frees it only once its `Journal` object is unreachable.
unsafe fn handle<'a>(handle: jlong) -> &'a Handle {
    &*(handle as *const Handle)
}

// ---- errors -----------------------------------------------------------------

const EXCEPTION_CLASS: &str = "dev/tidelog/TidelogException";
const FROM_NATIVE_SIG: &str = "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;JJ)Ldev/tidelog/TidelogException;";

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
        Ok(Err(GlueError::Argument(m))) => {
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/IllegalArgumentException", m);
            }
            default
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if !env.exception_check().unwrap_or(true) {
                let _ = env.throw_new("java/lang/IllegalStateException", format!("tidelog native panic: {message}"));
            }
            default
        }
    }
}

fn string(env: &mut JNIEnv, s: &JString) -> GlueResult<String> {
    if s.is_null() {
        return Err(GlueError::Argument("null string".into()));
    }
    Ok(env.get_string(s)?.into())
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

// ---- wire formats -----------------------------------------------------------

/// Little-endian reader over a `byte[]` built by `dev.tidelog.Wire`.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> GlueResult<&'a [u8]> {
        if self.buf.len() < n {
            return Err(GlueError::Argument("truncated event buffer".into()));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn u32(&mut self) -> GlueResult<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap_or_default()))
    }
    fn i64(&mut self) -> GlueResult<i64> {
        Ok(i64::from_le_bytes(self.take(8)?.try_into().unwrap_or_default()))
    }
    fn bytes(&mut self) -> GlueResult<Vec<u8>> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn string(&mut self) -> GlueResult<String> {
        let n = self.u32()? as usize;
        // Java's UTF-8 encoder never produces invalid UTF-8.
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
}

/// Decodes `u32 count` then per event: `i64 timestamp (-1 = now)`, manifest,
/// writer id, metadata, `u32 tag count` + tags, payload (each `u32 len` + bytes).
fn decode_events(reader: &mut Reader) -> GlueResult<Vec<NewEvent>> {
    let count = reader.u32()? as usize;
    let mut events = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let timestamp = reader.i64()?;
        let manifest = reader.string()?;
        let writer_id = reader.string()?;
        let metadata = reader.bytes()?;
        let tag_count = reader.u32()? as usize;
        let mut tags = Vec::with_capacity(tag_count.min(1 << 10));
        for _ in 0..tag_count {
            tags.push(reader.string()?);
        }
        let payload = reader.bytes()?;
        events.push(NewEvent {
            payload,
            manifest,
            writer_id,
            tags,
            timestamp: (timestamp >= 0).then_some(timestamp as u64),
            metadata,
        });
    }
    Ok(events)
}

/// Decodes `u32 count` then per write: persistence id, `i64 first sequence nr`, events.
fn decode_writes(buf: &[u8]) -> GlueResult<Vec<AtomicWrite>> {
    let mut reader = Reader { buf };
    let count = reader.u32()? as usize;
    let mut writes = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let persistence_id = reader.string()?;
        let first_sequence_nr = reader.i64()? as u64;
        let events = decode_events(&mut reader)?;
        writes.push(AtomicWrite {
            persistence_id,
            first_sequence_nr,
            events,
        });
    }
    Ok(writes)
}

/// Encodes a page of events into one buffer, read by `dev.tidelog.Wire.decodePage`:
/// `u32 count` then per event `u64 sequence nr, u64 global offset, u64 timestamp`,
/// persistence id, manifest, writer id, metadata, `u32 tag count` + tags, payload.
struct PageEncoder {
    out: Vec<u8>,
    count: u32,
    max_bytes: usize,
}

impl PageEncoder {
    fn new(max_bytes: usize) -> Self {
        PageEncoder {
            out: vec![0; 4],
            count: 0,
            max_bytes,
        }
    }
    fn put(&mut self, b: &[u8]) {
        self.out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.out.extend_from_slice(b);
    }
    /// Adds an event; returns false once the page is full (the event is still included).
    fn push(&mut self, e: EventRef<'_>) -> bool {
        self.out.extend_from_slice(&e.sequence_nr.to_le_bytes());
        self.out.extend_from_slice(&e.global_offset.to_le_bytes());
        self.out.extend_from_slice(&e.timestamp.to_le_bytes());
        self.put(e.persistence_id.as_bytes());
        self.put(e.manifest.as_bytes());
        self.put(e.writer_id.as_bytes());
        self.put(e.metadata);
        self.out.extend_from_slice(&(e.tags.len() as u32).to_le_bytes());
        for tag in e.tags.iter() {
            self.put(tag.as_bytes());
        }
        self.put(e.payload);
        self.count += 1;
        self.out.len() < self.max_bytes
    }
    fn finish(mut self) -> Vec<u8> {
        self.out[..4].copy_from_slice(&self.count.to_le_bytes());
        self.out
    }
}

fn page_limit(max_bytes: jint) -> usize {
    if max_bytes <= 0 {
        1 << 20
    } else {
        max_bytes as usize
    }
}

fn clamp_count(max: jlong) -> usize {
    if max < 0 {
        0
    } else {
        usize::try_from(max).unwrap_or(usize::MAX)
    }
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
            queue: Arc::new(CompletionQueue::default()),
        });
        Ok(Box::into_raw(handle) as jlong)
    })
}

/// Decodes the `long[12]` options array of `Options.toConfig()` (Java).
fn options(env: &mut JNIEnv<'_>, config: &JLongArray<'_>) -> GlueResult<Options> {
    let mut c = [0i64; 12];
    env.get_long_array_region(config, 0, &mut c)?;
    let backend = match c[0] {
        0 => Backend::Lmdb,
        1 => Backend::Files,
        _ => Backend::Memory,
    };
    let sync = match c[1] {
        0 => SyncPolicy::Always,
        1 => SyncPolicy::Interval(Duration::from_micros(c[2].max(0) as u64)),
        _ => SyncPolicy::Never,
    };
    Ok(Options::new()
        .backend(backend)
        .sync(sync)
        .max_batch_events(c[3].max(0) as usize)
        .max_batch_bytes(c[4].max(0) as usize)
        .max_batch_delay(Duration::from_micros(c[5].max(0) as u64))
        .max_event_bytes(c[6].max(0) as usize)
        .close_timeout(Duration::from_millis(c[7].max(0) as u64))
        .lmdb_map_size(c[8].max(0) as usize)
        .segment_bytes(c[9].max(0) as u64)
        .read_only(c[10] != 0)
        .snapshot_compression(c[11] != 0))
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
fn submit<'l>(
    env: &mut JNIEnv<'l>,
    h: jlong,
    token: jlong,
    body: impl FnOnce(&mut JNIEnv<'l>, &Handle, Box<dyn FnOnce(Outcome) + Send>) -> GlueResult<()>,
) {
    guard(env, (), |env| {
        let h = unsafe { handle(h) };
        let queue = h.queue.clone();
        let complete = h.completer(token);
        if let Err(e) = body(env, h, Box::new(complete)) {
            let error = match e {
                GlueError::Core(e) => e,
                GlueError::Jni(_) | GlueError::Argument(_) => Error::from(InvalidArgument::Option {
                    option: "arguments",
                    reason: "could not be read from the JVM",
                }),
            };
            let _ = env.exception_clear();
            queue.push(token, Outcome::Failed(error));
        }
        Ok(())
    })
}

fn receipt_outcome(r: Result<WriteReceipt, Error>) -> Outcome {
    r.map_or_else(Outcome::Failed, Outcome::Receipt)
}

fn unit_outcome(r: Result<(), Error>) -> Outcome {
    r.map_or_else(Outcome::Failed, |()| Outcome::Unit)
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
    submit(&mut env, h, token, |env, h, complete| {
        let buf = bytes(env, &request)?;
        let mut reader = Reader { buf: &buf };
        let pid = reader.string()?;
        let events = decode_events(&mut reader)?;
        h.journal.append_with(&pid, events, move |r| complete(receipt_outcome(r)));
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
        let buf = bytes(env, &request)?;
        let mut reader = Reader { buf: &buf };
        let pid = reader.string()?;
        let events = decode_events(&mut reader)?;
        let receipt = h.journal.append(&pid, events)?;
        Ok(receipt_to_java(env, &receipt)?.into_raw())
    })
}

/// `static native Object[] writeBlocking(long handle, byte[] writes)`: as `write`, with the
/// core's blocking `write`; returns one `long[2]` receipt or `TidelogException` per write.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_writeBlocking<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    writes: JByteArray<'l>,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        if h.journal.is_closed() {
            // As `writeAsync` on a closed journal: the call fails, rather than each write.
            return Err(Error::Closed.into());
        }
        let buf = bytes(env, &writes)?;
        let results = h.journal.write(decode_writes(&buf)?)?;
        Ok(write_results_to_java(env, &results)?.into_raw())
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
    submit(&mut env, h, token, |env, h, complete| {
        let buf = bytes(env, &writes)?;
        let writes = decode_writes(&buf)?;
        h.journal.write_with(writes, move |r| complete(Outcome::Writes(r)));
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
    submit(&mut env, h, token, |env, h, complete| {
        let pid = string(env, &pid)?;
        h.journal.delete_to_with(&pid, to as u64, move |r| complete(unit_outcome(r)));
        Ok(())
    })
}

/// `static native void flush(long handle, long token)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_flush<'l>(mut env: JNIEnv<'l>, _class: JClass<'l>, h: jlong, token: jlong) {
    submit(&mut env, h, token, |_env, h, complete| {
        h.journal.flush_with(move |r| complete(unit_outcome(r)));
        Ok(())
    })
}

/// `static native int pollCompletions(long handle, long[] tokens, long[] values, Object[] extras, long timeoutMillis)`.
///
/// Waits (in native code, on a condition variable) up to `timeoutMillis` for
/// completions, then moves up to `tokens.length` of them out: `tokens[i]`, the
/// receipt in `values[2i]`/`values[2i+1]`, and in `extras[i]` either null, a
/// `TidelogException`, or for `write` an `Object[]` with one `long[2]` receipt
/// or `TidelogException` per write. Returns how many were filled.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_pollCompletions<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    tokens: JLongArray<'l>,
    values: JLongArray<'l>,
    extras: JObjectArray<'l>,
    timeout_millis: jlong,
) -> jint {
    guard(&mut env, 0, |env| {
        let h = unsafe { handle(h) };
        let capacity = env.get_array_length(&tokens)? as usize;
        let done = h.queue.take(capacity, Duration::from_millis(timeout_millis.max(0) as u64));
        match deliver(env, &done, &tokens, &values, &extras) {
            Ok(n) => Ok(n),
            Err(e) => {
                // Nothing was handed over (Java sees an exception, not a count): put the
                // results back so that every token still completes exactly once.
                h.queue.requeue(done);
                Err(e)
            }
        }
    })
}

/// Writes taken completions into the poller's arrays; returns how many.
fn deliver<'l>(env: &mut JNIEnv<'l>, done: &[Done], tokens: &JLongArray, values: &JLongArray, extras: &JObjectArray) -> GlueResult<jint> {
    let mut token_buf = Vec::with_capacity(done.len());
    let mut value_buf = Vec::with_capacity(done.len() * 2);
    for (i, d) in done.iter().enumerate() {
        token_buf.push(d.token);
        let (first, last) = match &d.outcome {
            Outcome::Receipt(r) => (r.first_sequence_nr as i64, r.last_sequence_nr as i64),
            _ => (0, 0),
        };
        value_buf.push(first);
        value_buf.push(last);
        let extra: Option<JObject<'l>> = match &d.outcome {
            Outcome::Receipt(_) | Outcome::Unit => None,
            Outcome::Failed(e) => Some(error_to_java(env, e)?),
            Outcome::Writes(results) => Some(write_results_to_java(env, results)?),
        };
        // Always set the slot (null included) so no stale object from an earlier poll remains.
        match extra {
            Some(obj) => {
                env.set_object_array_element(extras, i as i32, &obj)?;
                env.delete_local_ref(obj)?;
            }
            None => env.set_object_array_element(extras, i as i32, JObject::null())?,
        }
    }
    if !token_buf.is_empty() {
        env.set_long_array_region(tokens, 0, &token_buf)?;
        env.set_long_array_region(values, 0, &value_buf)?;
    }
    Ok(token_buf.len() as jint)
}

/// A receipt as Java's `long[] {first, last}`.
fn receipt_to_java<'l>(env: &mut JNIEnv<'l>, receipt: &WriteReceipt) -> GlueResult<JLongArray<'l>> {
    let pair = env.new_long_array(2)?;
    env.set_long_array_region(&pair, 0, &[receipt.first_sequence_nr as i64, receipt.last_sequence_nr as i64])?;
    Ok(pair)
}

/// Per-write results as Java's `Object[]`: a `long[2]` receipt or a `TidelogException` each.
fn write_results_to_java<'l>(env: &mut JNIEnv<'l>, results: &[Result<WriteReceipt, Error>]) -> GlueResult<JObject<'l>> {
    let array = env.new_object_array(results.len() as i32, "java/lang/Object", JObject::null())?;
    for (j, r) in results.iter().enumerate() {
        let element: JObject = match r {
            Ok(receipt) => receipt_to_java(env, receipt)?.into(),
            Err(e) => error_to_java(env, e)?,
        };
        env.set_object_array_element(&array, j as i32, &element)?;
        env.delete_local_ref(element)?;
    }
    Ok(array.into())
}

fn page_to_java(env: &mut JNIEnv, page: PageEncoder) -> GlueResult<jbyteArray> {
    Ok(env.byte_array_from_slice(&page.finish())?.into_raw())
}

/// `static native byte[] readPage(long handle, String pid, long from, long to, long max, int maxBytes)`:
/// one page of a stream's events, encoded (see [`PageEncoder`]).
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_readPage<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
    from: jlong,
    to: jlong,
    max: jlong,
    max_bytes: jint,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        let pid = string(env, &pid)?;
        let mut page = PageEncoder::new(page_limit(max_bytes));
        h.journal.scan(&pid, from as u64, to as u64, clamp_count(max), |e| page.push(e))?;
        page_to_java(env, page)
    })
}

/// `static native byte[] tagPage(long handle, String tag, long fromOffset, long max, int maxBytes)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_tagPage<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    tag: JString<'l>,
    from_offset: jlong,
    max: jlong,
    max_bytes: jint,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        let tag = string(env, &tag)?;
        let mut page = PageEncoder::new(page_limit(max_bytes));
        h.journal.scan_tag(&tag, from_offset as u64, clamp_count(max), |e| page.push(e))?;
        page_to_java(env, page)
    })
}

/// `static native byte[] allPage(long handle, long fromOffset, long max, int maxBytes)`.
#[no_mangle]
pub extern "system" fn Java_dev_tidelog_NativeBridge_allPage<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    from_offset: jlong,
    max: jlong,
    max_bytes: jint,
) -> jbyteArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let h = unsafe { handle(h) };
        let mut page = PageEncoder::new(page_limit(max_bytes));
        h.journal.scan_all(from_offset as u64, clamp_count(max), |e| page.push(e))?;
        page_to_java(env, page)
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

/// `static native void snapshotSave(long handle, String pid, long seq, long timestamp, String manifest, byte[] metadata, byte[] state)`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_dev_tidelog_NativeBridge_snapshotSave<'l>(
    mut env: JNIEnv<'l>,
    _class: JClass<'l>,
    h: jlong,
    pid: JString<'l>,
    sequence_nr: jlong,
    timestamp: jlong,
    manifest: JString<'l>,
    metadata: JByteArray<'l>,
    state: JByteArray<'l>,
) {
    guard(&mut env, (), |env| {
        let h = unsafe { handle(h) };
        let snapshot = Snapshot {
            persistence_id: string(env, &pid)?,
            sequence_nr: sequence_nr as u64,
            timestamp: timestamp as u64,
            manifest: string(env, &manifest)?,
            metadata: bytes(env, &metadata)?,
            state: bytes(env, &state)?,
        };
        Ok(h.journal.snapshots().save(&snapshot)?)
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
        let mut out = Vec::with_capacity(32 + s.manifest.len() + s.metadata.len() + s.state.len());
        out.extend_from_slice(&s.sequence_nr.to_le_bytes());
        out.extend_from_slice(&s.timestamp.to_le_bytes());
        for field in [s.manifest.as_bytes(), &s.metadata, &s.state] {
            out.extend_from_slice(&(field.len() as u32).to_le_bytes());
            out.extend_from_slice(field);
        }
        Ok(env.byte_array_from_slice(&out)?.into_raw())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_event(out: &mut Vec<u8>, payload: &[u8], tags: &[&str], timestamp: i64) {
        out.extend_from_slice(&timestamp.to_le_bytes());
        for s in [&b"manifest"[..], b"writer", b"meta"] {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&(tags.len() as u32).to_le_bytes());
        for t in tags {
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            out.extend_from_slice(t.as_bytes());
        }
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
    }

    #[test]
    fn decodes_what_the_java_encoder_writes() {
        let mut buf = 2u32.to_le_bytes().to_vec();
        encode_event(&mut buf, b"one", &["a", "b"], -1);
        encode_event(&mut buf, b"two", &[], 42);
        let events = decode_events(&mut Reader { buf: &buf }).ok().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].payload, b"one");
        assert_eq!(events[0].tags, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(events[0].timestamp, None);
        assert_eq!(events[1].timestamp, Some(42));
        assert_eq!(events[1].manifest, "manifest");
        assert_eq!(events[1].metadata, b"meta");
    }

    #[test]
    fn truncated_buffers_are_refused() {
        let mut buf = 1u32.to_le_bytes().to_vec();
        encode_event(&mut buf, b"payload", &["tag"], 1);
        buf.truncate(buf.len() - 3);
        assert!(decode_events(&mut Reader { buf: &buf }).is_err());
    }

    #[test]
    fn queue_hands_out_completions_in_push_order() {
        let q = CompletionQueue::default();
        q.push(1, Outcome::Unit);
        q.push(2, Outcome::Failed(Error::Closed));
        let taken = q.take(8, Duration::from_millis(1));
        assert_eq!(taken.iter().map(|d| d.token).collect::<Vec<_>>(), vec![1, 2]);
        assert!(q.take(8, Duration::from_millis(1)).is_empty());
    }

    #[test]
    fn requeued_completions_come_back_first_in_order() {
        let q = CompletionQueue::default();
        for t in 1..=4 {
            q.push(t, Outcome::Unit);
        }
        let first_two = q.take(2, Duration::ZERO);
        q.requeue(first_two);
        let all = q.take(8, Duration::ZERO);
        assert_eq!(all.iter().map(|d| d.token).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    }
}
