//! PostgreSQL storage: one database shared by every writer of a cluster.
//!
//! Unlike the embedded backends, several writers (processes, machines) write at once, so the
//! database, not the writer's cache, decides sequence numbers and offsets. Each writer batch is
//! one transaction that first locks the single counter row (`SELECT ... FOR UPDATE`): batches
//! of all writers are serialized there, the writer stages its batch against the stream marks
//! and the next offset read under that lock ([`Storage::begin_batch`]), and one multi-row
//! statement inserts the events, their tags, the new stream marks and the new counter before
//! `COMMIT`. Because the lock is held until commit, offsets are handed out in commit order: a
//! reader that sees offset `n` sees every offset below it (see `ARCHITECTURE.md`, "PostgreSQL
//! backend", and `docs/format.md`, "PostgreSQL schema").
//!
//! A writer alone on the database skips the lock round trip and `COMMIT`: it stages against
//! what its own last commit left, and the write runs as one autocommit statement that applies
//! only if the counter's `version` is still the one that commit left ([`Committed::Stale`]
//! otherwise, and the writer stages the batch again under the lock).

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use postgres::types::ToSql;
use postgres::{Client, SimpleQueryMessage, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::pg_tls::{self, TlsMode};
use super::{BatchStart, Committed, Op, Storage, StreamState, Visit};
use crate::codec;
use crate::error::{CorruptReason, Error, InvalidArgument, Result};
use crate::options::{Options, SyncPolicy};

/// The PostgreSQL schema version this library creates and the newest it reads.
pub const SCHEMA_VERSION: i32 = 2;

/// How long a writer keeps asking whether a batch whose COMMIT went unanswered was committed.
const COMMIT_CHECK_PATIENCE: Duration = Duration::from_secs(10);

/// Rows asked for by a scan's first page; each next page asks for twice as many, up to
/// [`MAX_PAGE`]: a caller that stops early wastes little, a long replay streams.
const FIRST_PAGE: usize = 1024;
const MAX_PAGE: usize = 1 << 18;

/// Whether `path` names a PostgreSQL database (`postgresql://` or `postgres://`) rather than
/// a journal directory.
pub fn is_uri(path: &str) -> bool {
    path.starts_with("postgresql://") || path.starts_with("postgres://")
}

/// `uri` with any password replaced by `***`, for logs, errors and `Journal::path`.
pub fn redact(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
    let (authority_end, _) = rest
        .char_indices()
        .find(|&(_, c)| c == '/' || c == '?')
        .unwrap_or((rest.len(), ' '));
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Where and how to connect, resolved from the URI, the options and the environment.
#[derive(Clone)]
pub(crate) struct Target {
    config: postgres::Config,
    /// The URI without its password.
    pub(crate) redacted: String,
    /// `"schema"."prefix` — table names are this plus their suffix and a closing quote.
    schema: String,
    prefix: String,
    pool_size: usize,
    synchronous_commit: bool,
    tls_mode: TlsMode,
    tls: MakeRustlsConnect,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("uri", &self.redacted)
            .field("schema", &self.schema)
            .field("prefix", &self.prefix)
            .field("sslmode", &self.tls_mode)
            .finish_non_exhaustive()
    }
}

fn bad_option(option: &'static str, reason: &'static str) -> Error {
    InvalidArgument::Option { option, reason }.into()
}

/// Identifiers are spliced into SQL: only plain lower-case names are accepted.
fn check_identifier(option: &'static str, value: &str, may_be_empty: bool) -> Result<()> {
    let plain = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plain || (value.is_empty() && !may_be_empty) || value.len() > 40 || value.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad_option(
            option,
            "use lower-case letters, digits and _ (at most 40, not starting with a digit)",
        ));
    }
    Ok(())
}

impl Target {
    pub(crate) fn resolve(uri: &str, options: &Options) -> Result<Target> {
        Target::resolve_with_env(uri, options, &|name| std::env::var(name).ok())
    }

    /// As [`Target::resolve`], with the environment given (libpq's `PG*` variables fill in what
    /// the URI leaves out).
    pub(crate) fn resolve_with_env(uri: &str, options: &Options, env: &dyn Fn(&str) -> Option<String>) -> Result<Target> {
        let redacted = redact(uri);
        // Our own parameters, and the TLS ones the driver does not know, are not the driver's:
        // take them out of the query string.
        let (base, query) = uri.split_once('?').unwrap_or((uri, ""));
        let mut kept = Vec::new();
        let (mut schema, mut prefix, mut sslmode, mut sslrootcert) = (None, None, None, None);
        for kv in query.split('&').filter(|kv| !kv.is_empty()) {
            match kv.split_once('=') {
                Some(("tidelog_schema", v)) => schema = Some(v.to_owned()),
                Some(("tidelog_table_prefix", v)) => prefix = Some(v.to_owned()),
                Some(("sslmode", v)) => sslmode = Some(v.to_owned()),
                Some(("sslrootcert", v)) => sslrootcert = Some(percent_decode(v)),
                _ => kept.push(kv),
            }
        }
        let driver_uri = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config = postgres::Config::from_str(&driver_uri).map_err(|_| {
            bad_option(
                "path",
                "not a valid PostgreSQL connection URI (postgresql://user:password@host:port/database)",
            )
        })?;
        if config.get_password().is_none() {
            if let Some(password) = env("PGPASSWORD") {
                config.password(password);
            }
        }
        if config.get_user().is_none() {
            if let Some(user) = env("PGUSER") {
                config.user(&user);
            }
        }
        if config.get_hosts().is_empty() {
            if let Some(hosts) = env("PGHOST") {
                for host in hosts.split(',') {
                    config.host(host);
                }
            }
        }
        if config.get_ports().is_empty() {
            if let Some(port) = env("PGPORT") {
                let port = port.parse().map_err(|_| bad_option("PGPORT", "not a port number"))?;
                config.port(port);
            }
        }
        if config.get_dbname().is_none() {
            if let Some(dbname) = env("PGDATABASE") {
                config.dbname(&dbname);
            }
        }
        if config.get_connect_timeout().is_none() {
            if let Some(seconds) = env("PGCONNECT_TIMEOUT").and_then(|s| s.parse::<u64>().ok()) {
                config.connect_timeout(Duration::from_secs(seconds.max(2)));
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let tls_mode = match sslmode.or_else(|| env("PGSSLMODE")) {
            Some(mode) => TlsMode::parse(&mode)?,
            None => TlsMode::Prefer,
        };
        config.ssl_mode(tls_mode.driver_mode());
        let root_cert = sslrootcert
            .or_else(|| env("PGSSLROOTCERT"))
            .map(PathBuf::from)
            .or_else(pg_tls::default_root_cert);
        let tls = pg_tls::connector(tls_mode, root_cert.as_deref())?;
        config.keepalives(true).keepalives_idle(Duration::from_secs(30));
        config.application_name("tidelog");
        let schema = options
            .postgres_schema
            .clone()
            .or(schema)
            .or_else(|| env("TIDELOG_POSTGRES_SCHEMA"))
            .unwrap_or_else(|| "public".into());
        let prefix = options
            .postgres_table_prefix
            .clone()
            .or(prefix)
            .or_else(|| env("TIDELOG_POSTGRES_TABLE_PREFIX"))
            .unwrap_or_else(|| "tidelog_".into());
        check_identifier("postgres_schema", &schema, false)?;
        check_identifier("postgres_table_prefix", &prefix, true)?;
        Ok(Target {
            config,
            redacted,
            schema,
            prefix,
            pool_size: options.postgres_pool_size,
            synchronous_commit: options.sync == SyncPolicy::Always,
            tls_mode,
            tls,
        })
    }

    fn table(&self, name: &str) -> String {
        format!("\"{}\".\"{}{}\"", self.schema, self.prefix, name)
    }

    fn connect(&self) -> Result<Client> {
        let mut client = self.config.connect(self.tls.clone()).map_err(|e| db_error("connect", e))?;
        // Acknowledged means committed and flushed on the server (for `SyncPolicy::Always`),
        // whatever the server's default; a stalled transaction cannot hold the counter forever.
        let sync = if self.synchronous_commit { "on" } else { "off" };
        client
            .batch_execute(&format!(
                "SET synchronous_commit = {sync}; SET idle_in_transaction_session_timeout = '60s'; SET client_min_messages = warning; SET standard_conforming_strings = on"
            ))
            .map_err(|e| db_error("configure session", e))?;
        Ok(client)
    }
}

/// `%XX` escapes in a URI parameter (a certificate path may hold spaces).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the driver failed in the TLS negotiation (the server refused TLS, its certificate
/// was not trusted): retrying cannot help, the configuration must change.
fn is_tls_failure(e: &postgres::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<rustls::Error>() {
            return true;
        }
        source = s.source();
    }
    // The driver's own TLS failures ("server does not support TLS") carry no rustls error.
    e.to_string().starts_with("error performing TLS handshake")
}

/// Classifies a driver error; connection-level failures are retryable, TLS failures are not.
pub(crate) fn db_error(operation: &'static str, e: postgres::Error) -> Error {
    if is_tls_failure(&e) {
        return Error::Database {
            operation: "TLS handshake",
            message: e.to_string(),
            retryable: false,
        };
    }
    let retryable = e.is_closed()
        || match e.code() {
            // connection exception, admin/crash shutdown, cannot connect now, too many
            // connections, serialization failure, deadlock.
            Some(code) => {
                let c = code.code();
                c.starts_with("08") || c.starts_with("57P") || c == "53300" || c == "40001" || c == "40P01"
            }
            // No server error: the connection or its socket failed.
            None => true,
        };
    Error::Database {
        operation,
        message: e.to_string(),
        retryable,
    }
}

fn to_i64(value: u64, what: &'static str) -> Result<i64> {
    i64::try_from(value).map_err(|_| bad_option(what, "above the PostgreSQL backend's limit of 2^63 - 1"))
}

/// One connection with its prepared statements.
pub(crate) struct Conn {
    pub(crate) client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
        }
    }

    /// The statement for `sql`, prepared once per connection (`key` names it).
    pub(crate) fn statement(&mut self, key: &'static str, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(key) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(|e| db_error("prepare", e))?;
        self.statements.insert(key, s.clone());
        Ok(s)
    }
}

/// A small bounded pool: at most `pool_size` connections, made on demand, dropped when broken.
pub(crate) struct Pool {
    pub(crate) target: Target,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
    closed: bool,
}

/// A connection borrowed from the pool; returned on drop unless it broke.
pub(crate) struct Pooled<'p> {
    pool: &'p Pool,
    conn: Option<Conn>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let conn = self.conn.take().expect("present until drop");
        let mut state = self.pool.state.lock();
        if conn.client.is_closed() || state.closed {
            state.open -= 1;
        } else {
            state.idle.push(conn);
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}

impl Pool {
    fn new(target: Target) -> Pool {
        Pool {
            target,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
                closed: false,
            }),
            freed: Condvar::new(),
        }
    }

    pub(crate) fn get(&self) -> Result<Pooled<'_>> {
        let mut state = self.state.lock();
        loop {
            if state.closed {
                return Err(Error::Closed);
            }
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.target.pool_size {
                state.open += 1;
                drop(state);
                return match self.target.connect() {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        conn: Some(Conn::new(client)),
                    }),
                    Err(e) => {
                        self.state.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            self.freed.wait(&mut state);
        }
    }

    /// Runs `f` on a pooled connection; when the connection turns out broken (a server
    /// restart, a terminated backend), retries once on a fresh one. Only for reads.
    pub(crate) fn read<T>(&self, mut f: impl FnMut(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.get()?;
        match f(&mut conn) {
            Err(e) if conn.client.is_closed() && e.is_retryable() => {
                drop(conn);
                // What broke this connection (a restart, a terminated session) most likely broke
                // the idle ones too: drop them rather than fail on each in turn.
                self.drop_idle();
                let mut fresh = self.get()?;
                f(&mut fresh)
            }
            other => other,
        }
    }

    fn drop_idle(&self) {
        let mut state = self.state.lock();
        let idle = std::mem::take(&mut state.idle);
        state.open -= idle.len();
        drop(state);
        drop(idle);
        self.freed.notify_all();
    }

    fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        let idle = std::mem::take(&mut state.idle);
        state.open -= idle.len();
        drop(state);
        drop(idle);
        self.freed.notify_all();
    }
}

/// SQL text with the configured schema and prefix filled in.
pub(crate) struct Sql {
    pub(crate) counter: String,
    pub(crate) streams: String,
    pub(crate) events: String,
    pub(crate) tags: String,
    pub(crate) snapshots: String,
    pub(crate) version: String,
}

impl Sql {
    fn new(t: &Target) -> Sql {
        Sql {
            counter: t.table("counter"),
            streams: t.table("streams"),
            events: t.table("events"),
            tags: t.table("event_tags"),
            snapshots: t.table("snapshots"),
            version: t.table("schema_version"),
        }
    }
}

/// What the pool and the snapshot store share with the storage.
pub(crate) struct Database {
    pub(crate) pool: Pool,
    pub(crate) sql: Sql,
}

impl Database {
    /// Connects and creates (or checks) the schema.
    pub(crate) fn open(uri: &str, options: &Options) -> Result<Arc<Database>> {
        let target = Target::resolve(uri, options)?;
        let sql = Sql::new(&target);
        let db = Arc::new(Database {
            pool: Pool::new(target),
            sql,
        });
        db.migrate(options.read_only)?;
        Ok(db)
    }

    pub(crate) fn redacted(&self) -> &str {
        &self.pool.target.redacted
    }

    pub(crate) fn corrupt(&self, table: &str, offset: u64, reason: CorruptReason) -> Error {
        Error::corrupt(format!("{}#{table}", self.redacted()), offset, reason)
    }

    /// Creates the tables on first open, under an advisory lock so that several processes
    /// opening a new database at once do not race; refuses a newer schema.
    fn migrate(&self, read_only: bool) -> Result<()> {
        let t = &self.pool.target;
        let s = &self.sql;
        let mut conn = self.pool.get()?;
        let version_of = |conn: &mut Conn| -> Result<Option<i32>> {
            let exists: Option<String> = conn
                .client
                .query_one("SELECT to_regclass($1)::text", &[&s.version])
                .map_err(|e| db_error("read schema version", e))?
                .get(0);
            if exists.is_none() {
                return Ok(None);
            }
            let row = conn
                .client
                .query_opt(&format!("SELECT max(version) FROM {}", s.version), &[])
                .map_err(|e| db_error("read schema version", e))?;
            Ok(row.and_then(|r| r.get::<_, Option<i32>>(0)))
        };
        let found = version_of(&mut conn)?;
        let found = match found {
            // Version 1 lacks only the counter's `version` (a writer's cache check): readers
            // need nothing of it, a writer migrates.
            Some(v) if v >= SCHEMA_VERSION || read_only => v,
            None if read_only => return Err(InvalidArgument::NotAJournal(PathBuf::from(self.redacted())).into()),
            Some(_) | None => {
                let ddl = format!(
                    r#"
SELECT pg_advisory_xact_lock(hashtext({lock_key}));
CREATE SCHEMA IF NOT EXISTS "{schema}";
CREATE TABLE IF NOT EXISTS {version} (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS {counter} (
    id smallint PRIMARY KEY CHECK (id = 1),
    next_offset bigint NOT NULL
);
INSERT INTO {counter} (id, next_offset) VALUES (1, 1) ON CONFLICT DO NOTHING;
-- Version 2: every update of the counter (every batch, of any library version) bumps
-- `version`, which a writer compares to what its own last commit left.
ALTER TABLE {counter} ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;
CREATE OR REPLACE FUNCTION "{schema}"."{prefix}counter_version"() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$;
DROP TRIGGER IF EXISTS "{prefix}counter_version" ON {counter};
CREATE TRIGGER "{prefix}counter_version" BEFORE UPDATE ON {counter}
    FOR EACH ROW EXECUTE FUNCTION "{schema}"."{prefix}counter_version"();
CREATE TABLE IF NOT EXISTS {streams} (
    persistence_id text COLLATE "C" PRIMARY KEY,
    highest bigint NOT NULL,
    deleted_to bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {events} (
    global_offset bigint PRIMARY KEY,
    persistence_id text COLLATE "C" NOT NULL,
    sequence_nr bigint NOT NULL,
    body bytea NOT NULL,
    UNIQUE (persistence_id, sequence_nr)
);
CREATE TABLE IF NOT EXISTS {tags} (
    tag text COLLATE "C" NOT NULL,
    global_offset bigint NOT NULL,
    PRIMARY KEY (tag, global_offset)
);
CREATE INDEX IF NOT EXISTS "{prefix}event_tags_offset" ON {tags} (global_offset);
CREATE TABLE IF NOT EXISTS {snapshots} (
    persistence_id text COLLATE "C" NOT NULL,
    sequence_nr bigint NOT NULL,
    timestamp bigint NOT NULL,
    body bytea NOT NULL,
    PRIMARY KEY (persistence_id, sequence_nr)
);
UPDATE {version} SET version = {v} WHERE version < {v};
INSERT INTO {version} (version) SELECT {v} WHERE NOT EXISTS (SELECT 1 FROM {version});
"#,
                    lock_key = quote_literal(&format!("tidelog schema {}.{}", t.schema, t.prefix)),
                    schema = t.schema,
                    prefix = t.prefix,
                    version = s.version,
                    counter = s.counter,
                    streams = s.streams,
                    events = s.events,
                    tags = s.tags,
                    snapshots = s.snapshots,
                    v = SCHEMA_VERSION,
                );
                let mut tx = conn.client.transaction().map_err(|e| db_error("create schema", e))?;
                tx.batch_execute(&ddl).map_err(|e| db_error("create schema", e))?;
                tx.commit().map_err(|e| db_error("create schema", e))?;
                version_of(&mut conn)?.unwrap_or(SCHEMA_VERSION)
            }
        };
        if !(1..=SCHEMA_VERSION).contains(&found) {
            return Err(Error::UnsupportedFormat {
                path: PathBuf::from(self.redacted()),
                found: found.max(0) as u32,
                supported: SCHEMA_VERSION as u32,
            });
        }
        Ok(())
    }
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// How many streams' marks a writer remembers between batches; past that it forgets them all
/// (their next batches ask the database again).
const KNOWN_STREAMS: usize = 1 << 16;

/// How long the writer's connection may have been idle for a batch to be begun from [`Known`].
/// A connection idle for longer may have died unnoticed (a restart, a terminated session); then
/// the batch takes the lock first, a round trip that writes nothing and is retried on a new
/// connection, instead of an autocommit write whose outcome would be unknown (and, with the
/// server down, reported as such rather than as retryable). Under load batches follow each other
/// well within it.
const KNOWN_WHILE_BUSY: Duration = Duration::from_millis(20);

/// What the writer knows from its own last commit. It is exact as long as the counter's
/// `version` is still the one that commit left: every batch of every writer updates the counter
/// row, and the row's trigger bumps `version` on every update.
struct Known {
    version: i64,
    next_offset: u64,
    marks: HashMap<String, StreamState>,
}

/// The writer's batch between `begin_batch` and `commit`.
struct OpenBatch {
    /// Marks of the batch's streams, as staged against.
    states: HashMap<String, StreamState>,
    next_offset: u64,
    /// The counter version the batch was staged against; its write applies only at it.
    version: i64,
    /// Begun from [`Known`], without a round trip and without a transaction (rather than under
    /// the counter lock).
    optimistic: bool,
}

/// The writer's own connection (not pooled: readers can never starve the writer).
struct WriterSide {
    conn: Option<Conn>,
    /// A transaction is open on `conn`.
    in_transaction: bool,
    batch: Option<OpenBatch>,
    known: Option<Known>,
    /// Whether no other writer committed between our last two batches (as the last begin under
    /// the lock found). Only then is a batch begun from [`Known`]: in a busy cluster a batch
    /// takes the lock at once instead of first failing its compare.
    alone: bool,
    /// Network round trips of the writer's batches (what the one-round-trip path saves).
    round_trips: u64,
    /// When the writer's connection last answered a batch.
    last_answer: Option<std::time::Instant>,
    /// [`KNOWN_WHILE_BUSY`] (tests set it longer).
    busy_window: Duration,
}

pub(crate) struct PostgresStorage {
    db: Arc<Database>,
    writer: Mutex<WriterSide>,
}

/// The write of a batch: the counter compare first, and the rows only if it matched. `$11` is
/// the counter version the batch was staged against. Under the counter lock (a locked begin) it
/// always matches. Begun from [`Known`] (autocommit, one round trip), the `UPDATE` takes the
/// counter row lock; if another writer holds it, READ COMMITTED re-evaluates the `WHERE` on the
/// row version that writer committed, whose `version` differs: then `c` is empty, nothing is
/// written, and the statement returns no row. When `c` matched, no batch committed since our
/// last, so the statement's snapshot holds exactly what the batch was staged against.
fn write_batch_sql(sql: &Sql) -> String {
    format!(
        "WITH c AS (UPDATE {counter} SET next_offset = $10 WHERE id = 1 AND version = $11 RETURNING version), \
         ev AS (INSERT INTO {events} (global_offset, persistence_id, sequence_nr, body) \
            SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[]) WHERE EXISTS (SELECT FROM c)), \
         tg AS (INSERT INTO {tags} (tag, global_offset) \
            SELECT * FROM unnest($5::text[], $6::bigint[]) WHERE EXISTS (SELECT FROM c)), \
         st AS (INSERT INTO {streams} (persistence_id, highest, deleted_to) \
            SELECT * FROM unnest($7::text[], $8::bigint[], $9::bigint[]) WHERE EXISTS (SELECT FROM c) \
            ON CONFLICT (persistence_id) DO UPDATE SET highest = EXCLUDED.highest, deleted_to = EXCLUDED.deleted_to) \
         SELECT version FROM c",
        events = sql.events,
        tags = sql.tags,
        streams = sql.streams,
        counter = sql.counter
    )
}

/// A stream's marks from `streams` (aliased `s`): its row holds `highest` as of its creation and
/// its last `SetState`; writes since only add events, so the highest is the greater of that and
/// its events' greatest sequence number (one backward step of the `(persistence_id,
/// sequence_nr)` index). A batch then touches `streams` only for new streams and deletions.
fn marks_sql(sql: &Sql) -> String {
    format!(
        "s.persistence_id, greatest(s.highest, coalesce((SELECT max(e.sequence_nr) FROM {} e \
         WHERE e.persistence_id = s.persistence_id), 0)), s.deleted_to",
        sql.events
    )
}

impl PostgresStorage {
    pub(crate) fn open(db: Arc<Database>) -> PostgresStorage {
        PostgresStorage {
            db,
            writer: Mutex::new(WriterSide {
                conn: None,
                in_transaction: false,
                batch: None,
                known: None,
                alone: true,
                round_trips: 0,
                last_answer: None,
                busy_window: KNOWN_WHILE_BUSY,
            }),
        }
    }

    fn writer_conn<'w>(&self, side: &'w mut WriterSide) -> Result<&'w mut Conn> {
        if side.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            side.conn = None;
        }
        if side.conn.is_none() {
            side.conn = Some(Conn::new(self.db.pool.target.connect()?));
        }
        Ok(side.conn.as_mut().expect("connected above"))
    }

    /// Ends a failed batch (rolling back its transaction, if one is open); a broken connection
    /// is dropped (the next batch reconnects). What the writer knew is forgotten.
    fn abandon(side: &mut WriterSide) {
        side.batch = None;
        side.known = None;
        if std::mem::take(&mut side.in_transaction) {
            if let Some(conn) = side.conn.as_mut() {
                side.round_trips += 1;
                if conn.client.is_closed() || conn.client.batch_execute("ROLLBACK").is_err() {
                    side.conn = None;
                }
            }
        }
    }

    /// Begins a batch from what our last commit left, without asking the database: only when
    /// we were alone lately and know every stream of the batch.
    fn begin_from_known(side: &mut WriterSide, persistence_ids: &[&str]) -> Option<BatchStart> {
        if !side.alone || side.last_answer.is_none_or(|t| t.elapsed() >= side.busy_window) {
            return None;
        }
        let known = side.known.as_ref()?;
        let mut states = HashMap::with_capacity(persistence_ids.len());
        for pid in persistence_ids {
            states.insert((*pid).to_owned(), *known.marks.get(*pid)?);
        }
        let start = BatchStart {
            next_global_offset: known.next_offset,
            streams: states.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        };
        side.batch = Some(OpenBatch {
            states,
            next_offset: known.next_offset,
            version: known.version,
            optimistic: true,
        });
        Some(start)
    }

    fn begin(&self, side: &mut WriterSide, persistence_ids: &[&str]) -> Result<BatchStart> {
        let sql = &self.db.sql;
        self.writer_conn(side)?;
        // One round trip: start the transaction, take the counter row (every writer's batch
        // queues here, so offsets are assigned in commit order), then read the batch's stream
        // marks in a statement of its own, whose snapshot is taken after the lock was granted:
        // it sees every batch committed before ours. (A simple query: the ids are quoted
        // literals, `standard_conforming_strings` is on.)
        let mut query = format!(
            "BEGIN; SELECT next_offset, version FROM {} WHERE id = 1 FOR UPDATE; \
             SELECT {} FROM {} s WHERE s.persistence_id IN (",
            sql.counter,
            marks_sql(sql),
            sql.streams
        );
        for (i, pid) in persistence_ids.iter().enumerate() {
            if i > 0 {
                query.push(',');
            }
            query.push_str(&quote_literal(pid));
        }
        if persistence_ids.is_empty() {
            query.push_str("NULL");
        }
        query.push(')');
        side.in_transaction = true;
        side.round_trips += 1;
        let conn = side.conn.as_mut().expect("connected above");
        let messages = conn.client.simple_query(&query).map_err(|e| db_error("begin batch", e))?;
        let malformed = |what| self.db.corrupt("streams", 0, CorruptReason::Malformed(what));
        let mut counter = None;
        let mut states: HashMap<String, StreamState> = persistence_ids.iter().map(|p| ((*p).to_owned(), StreamState::default())).collect();
        for message in &messages {
            let SimpleQueryMessage::Row(row) = message else { continue };
            if row.len() == 2 {
                let next_offset = row.get(0).and_then(|v| v.parse::<u64>().ok());
                let version = row.get(1).and_then(|v| v.parse::<i64>().ok());
                counter = Some(next_offset.zip(version).ok_or_else(|| malformed("the counter is not a number"))?);
            } else {
                let number = |i: usize| row.get(i).and_then(|v| v.parse::<u64>().ok());
                let pid = row.get(0).ok_or_else(|| malformed("a stream without id"))?;
                let (Some(highest_sequence_nr), Some(deleted_to)) = (number(1), number(2)) else {
                    return Err(malformed("a stream's marks are not numbers"));
                };
                states.insert(
                    pid.to_owned(),
                    StreamState {
                        highest_sequence_nr,
                        deleted_to,
                    },
                );
            }
        }
        let (next_offset, version) = counter.ok_or_else(|| {
            self.db
                .corrupt("counter", 0, CorruptReason::Malformed("the counter row is missing"))
        })?;
        // Nobody else committed since our last batch: what we know stays exact (and the next
        // batch may skip this round trip). Otherwise start over from what we just read.
        match side.known.as_mut() {
            Some(known) if known.version == version => {
                side.alone = true;
                known.marks.extend(states.iter().map(|(k, v)| (k.clone(), *v)));
            }
            known => {
                side.alone = known.is_none();
                side.known = Some(Known {
                    version,
                    next_offset,
                    marks: states.clone(),
                });
            }
        }
        let start = BatchStart {
            next_global_offset: next_offset,
            streams: states.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        };
        side.batch = Some(OpenBatch {
            states,
            next_offset,
            version,
            optimistic: false,
        });
        Ok(start)
    }

    /// Writes the batch and commits; `Done` only once the server committed it, `Stale` when a
    /// batch begun from [`Known`] met a counter another writer had moved (nothing written).
    fn write_and_commit(&self, side: &mut WriterSide, ops: &[Op<'_>], buffer: &[u8]) -> Result<Committed> {
        let sql = &self.db.sql;
        // A batch begun from what we know has not used the connection yet (it may have broken).
        self.writer_conn(side)?;
        let batch = side.batch.as_mut().expect("begin_batch before commit");
        let mut offsets: Vec<i64> = Vec::new();
        let mut pids: Vec<&str> = Vec::new();
        let mut seqs: Vec<i64> = Vec::new();
        let mut bodies: Vec<&[u8]> = Vec::new();
        let mut tag_names: Vec<&str> = Vec::new();
        let mut tag_offsets: Vec<i64> = Vec::new();
        let mut deletions: Vec<(&str, i64)> = Vec::new();
        let mut next_offset = batch.next_offset;
        // Streams whose row the batch creates or sets.
        let mut rows: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for op in ops {
            match op {
                Op::Write(w) => {
                    for (i, (event, body)) in w.events.iter().zip(w.bodies).enumerate() {
                        let offset = w.first_global_offset + i as u64;
                        let offset_i64 = to_i64(offset, "global offset")?;
                        offsets.push(offset_i64);
                        pids.push(w.persistence_id);
                        seqs.push(to_i64(w.first_sequence_nr + i as u64, "sequence nr")?);
                        bodies.push(&buffer[body.clone()]);
                        for tag in &event.tags {
                            tag_names.push(tag);
                            tag_offsets.push(offset_i64);
                        }
                        next_offset = next_offset.max(offset + 1);
                    }
                    let state = batch.states.entry(w.persistence_id.to_owned()).or_default();
                    // A stream's first events create its row; later ones are found by the
                    // events' index (`marks_sql`).
                    if state.highest_sequence_nr == 0 {
                        rows.insert(w.persistence_id);
                    }
                    state.highest_sequence_nr = w.first_sequence_nr + w.events.len() as u64 - 1;
                }
                Op::SetState {
                    persistence_id,
                    highest,
                    deleted_to,
                } => {
                    rows.insert(persistence_id);
                    let state = batch.states.entry((*persistence_id).to_owned()).or_default();
                    // Only a stream with live events has anything to delete.
                    if *deleted_to > state.deleted_to && state.highest_sequence_nr > state.deleted_to {
                        deletions.push((persistence_id, to_i64(*deleted_to, "sequence nr")?));
                    }
                    *state = StreamState {
                        highest_sequence_nr: *highest,
                        deleted_to: *deleted_to,
                    };
                }
            }
        }
        // Final marks of the rows the batch creates or sets.
        let mut state_pids: Vec<&str> = Vec::with_capacity(rows.len());
        let mut highs: Vec<i64> = Vec::with_capacity(rows.len());
        let mut deleted: Vec<i64> = Vec::with_capacity(rows.len());
        for pid in rows {
            let s = batch.states[pid];
            state_pids.push(pid);
            highs.push(to_i64(s.highest_sequence_nr, "sequence nr")?);
            deleted.push(to_i64(s.deleted_to, "sequence nr")?);
        }
        let next = to_i64(next_offset, "global offset")?;
        let conn = side.conn.as_mut().expect("connected above");
        // Deletions need statements of their own (they must see the rows this batch inserts),
        // so a batch with them runs in a transaction even when begun from what we know.
        if batch.optimistic && !deletions.is_empty() {
            side.in_transaction = true;
            side.round_trips += 1;
            conn.client.batch_execute("BEGIN").map_err(|e| db_error("begin batch", e))?;
        }
        // One statement: the counter compare, the events, their tags, the marks.
        let write = conn.statement("write_batch", &write_batch_sql(sql))?;
        let params: [&(dyn ToSql + Sync); 11] = [
            &offsets,
            &pids,
            &seqs,
            &bodies,
            &tag_names,
            &tag_offsets,
            &state_pids,
            &highs,
            &deleted,
            &next,
            &batch.version,
        ];
        let first_event = offsets.first().map(|&o| (o, pids[0], bodies[0]));
        side.round_trips += 1;
        let written = match conn.client.query_opt(&write, &params) {
            Ok(row) => row,
            // Autocommit: the statement was its own transaction, which may have committed.
            Err(e) if !side.in_transaction && conn.client.is_closed() => {
                side.conn = None;
                return self.settle_unknown(db_error("write batch", e), first_event, &batch.states);
            }
            Err(e) => return Err(db_error("write batch", e)),
        };
        let Some(row) = written else {
            if !batch.optimistic {
                return Err(self
                    .db
                    .corrupt("counter", 0, CorruptReason::Malformed("the counter changed under its lock")));
            }
            // Another writer committed since our last batch: nothing was written.
            side.alone = false;
            return Ok(Committed::Stale);
        };
        let version: i64 = row.get(0);
        if !deletions.is_empty() {
            let delete = conn.statement(
                "delete_events",
                &format!(
                    "WITH d AS (DELETE FROM {events} WHERE persistence_id = $1 AND sequence_nr <= $2 RETURNING global_offset) \
                     DELETE FROM {tags} t USING d WHERE t.global_offset = d.global_offset",
                    events = sql.events,
                    tags = sql.tags
                ),
            )?;
            for (pid, to) in &deletions {
                side.round_trips += 1;
                conn.client.execute(&delete, &[pid, to]).map_err(|e| db_error("delete events", e))?;
            }
        }
        if side.in_transaction {
            side.round_trips += 1;
            match conn.client.batch_execute("COMMIT") {
                Ok(()) => side.in_transaction = false,
                Err(e) if conn.client.is_closed() => {
                    // The connection died around COMMIT: the server may or may not have
                    // committed. Ask it, on a new connection, rather than guess (a retry would
                    // duplicate).
                    side.conn = None;
                    side.in_transaction = false;
                    return self.settle_unknown(db_error("commit", e), first_event, &batch.states);
                }
                Err(e) => return Err(db_error("commit", e)),
            }
        }
        // Committed: this is now the database's state, as far as our streams go.
        let known = side.known.get_or_insert_with(|| Known {
            version,
            next_offset,
            marks: HashMap::new(),
        });
        known.version = version;
        known.next_offset = next_offset;
        if known.marks.len() + batch.states.len() > KNOWN_STREAMS {
            known.marks.clear();
        }
        known.marks.extend(batch.states.drain());
        side.last_answer = Some(std::time::Instant::now());
        Ok(Committed::Done)
    }

    /// For a batch begun from [`Known`] that writes nothing: `Done` if the counter is still at
    /// the version it was staged against (so were the marks its refusals were decided on).
    fn known_still_current(&self, side: &mut WriterSide) -> Result<Committed> {
        let sql = format!("SELECT version FROM {} WHERE id = 1", self.db.sql.counter);
        let expected = side.batch.as_ref().expect("begun").version;
        self.writer_conn(side)?;
        side.round_trips += 1;
        let conn = side.conn.as_mut().expect("connected above");
        let stmt = conn.statement("counter_version", &sql)?;
        let row = conn.client.query_one(&stmt, &[]).map_err(|e| db_error("read counter", e))?;
        side.last_answer = Some(std::time::Instant::now());
        if row.get::<_, i64>(0) == expected {
            Ok(Committed::Done)
        } else {
            side.alone = false;
            Ok(Committed::Stale)
        }
    }

    /// The outcome of a batch whose connection died before it heard whether it committed.
    /// The server may be restarting: keep asking for a while (the writer has nothing better to
    /// do; the batches behind this one need the server too).
    fn settle_unknown(
        &self,
        error: Error,
        first_event: Option<(i64, &str, &[u8])>,
        states: &HashMap<String, StreamState>,
    ) -> Result<Committed> {
        let deadline = std::time::Instant::now() + COMMIT_CHECK_PATIENCE;
        loop {
            match self.committed(first_event, states) {
                Ok(true) => return Ok(Committed::Done),
                // Definitely not committed, and never will be (the check moved the counter
                // under its lock): stage the batch again.
                Ok(false) => return Ok(Committed::Stale),
                Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                Err(_) => {
                    // Not retryable: a blind retry could store the events twice.
                    return Err(Error::Database {
                        operation: "commit",
                        message: format!("{error}; whether the batch was committed is unknown (the server could not be asked)"),
                        retryable: false,
                    });
                }
            }
        }
    }

    /// Whether a batch whose outcome went unheard was committed: its first event is stored with
    /// the very body written (offset, sequence number, timestamp and CRC included), or, for a
    /// batch without events, every touched stream has the marks it set. The check first takes
    /// and updates the counter row, in a transaction of its own. The lost session either ended
    /// before that (its batch is visible now, or never will be) or has not yet taken the row:
    /// then its write no longer matches the counter version, and applies nothing. So the answer
    /// is final.
    fn committed(&self, first_event: Option<(i64, &str, &[u8])>, states: &HashMap<String, StreamState>) -> Result<bool> {
        let sql = &self.db.sql;
        self.db.pool.read(|conn| {
            let mut tx = conn.client.transaction().map_err(|e| db_error("check commit", e))?;
            tx.execute(&format!("UPDATE {} SET next_offset = next_offset WHERE id = 1", sql.counter), &[])
                .map_err(|e| db_error("check commit", e))?;
            let stored = match first_event {
                Some((offset, pid, body)) => {
                    let row = tx
                        .query_opt(
                            &format!("SELECT body FROM {} WHERE global_offset = $1 AND persistence_id = $2", sql.events),
                            &[&offset, &pid],
                        )
                        .map_err(|e| db_error("check commit", e))?;
                    row.is_some_and(|r| r.get::<_, &[u8]>(0) == body)
                }
                None => {
                    let mut all = true;
                    for (pid, state) in states {
                        let row = tx
                            .query_opt(
                                &format!("SELECT {} FROM {} s WHERE s.persistence_id = $1", marks_sql(sql), sql.streams),
                                &[pid],
                            )
                            .map_err(|e| db_error("check commit", e))?;
                        let found = row
                            .map(|r| (r.get::<_, i64>(1) as u64, r.get::<_, i64>(2) as u64))
                            .unwrap_or((0, 0));
                        all &= found == (state.highest_sequence_nr, state.deleted_to);
                    }
                    all
                }
            };
            tx.commit().map_err(|e| db_error("check commit", e))?;
            Ok(stored)
        })
    }

    /// Visits the events a query selects, page by page, streamed with a binary `COPY ... TO
    /// STDOUT` (no per-row message parsing or allocation in the driver; the server sends only
    /// what is decoded). `query(from, limit)` is the page's `SELECT` of `body`, or of
    /// `persistence_id, body` when `stream` is `None`; `next_key` computes the next page's
    /// `from` from the last event visited. A connection broken mid-page is replaced and the page
    /// resumes after the last event visited: nothing is visited twice.
    fn copy_scan(
        &self,
        ScanOf { operation, stream }: ScanOf<'_>,
        visit: &mut Visit<'_>,
        max: usize,
        mut from: i64,
        next_key: impl Fn(&crate::model::EventRef<'_>) -> i64,
        query: impl Fn(i64, usize) -> String,
    ) -> Result<()> {
        let mut left = max;
        let mut page = FIRST_PAGE;
        let mut buf = Vec::new();
        let columns = if stream.is_some() { 1 } else { 2 };
        while left > 0 {
            let mut got = 0usize;
            let mut stopped = false;
            let want = left.min(page);
            self.db.pool.read(|conn| {
                let sql = format!("COPY ({}) TO STDOUT (FORMAT binary)", query(from, want - got));
                let reader = conn.client.copy_out(sql.as_str()).map_err(|e| db_error(operation, e))?;
                let mut rows = BinaryCopy::new(reader, columns);
                let result = (|| {
                    while let Some(fields) = rows.next_row(&mut buf)? {
                        let (pid, body) = match stream {
                            Some(pid) => (pid, &buf[fields[0].clone()]),
                            None => {
                                let pid = std::str::from_utf8(&buf[fields[0].clone()]).map_err(|_| {
                                    self.db
                                        .corrupt("events", from as u64, CorruptReason::Malformed("persistence id is not UTF-8"))
                                })?;
                                (pid, &buf[fields[1].clone()])
                            }
                        };
                        let event = codec::decode_event(pid, body).map_err(|r| self.db.corrupt("events", from as u64, r))?;
                        from = next_key(&event);
                        got += 1;
                        if !visit(event) {
                            stopped = true;
                            return Ok(());
                        }
                    }
                    Ok(())
                })();
                drop(rows);
                // An error of the stream itself (not of our decoding) is the connection's.
                result.map_err(|e: Error| match e {
                    Error::Database { message, .. } if conn.client.is_closed() => Error::Database {
                        operation,
                        message,
                        retryable: true,
                    },
                    other => other,
                })
            })?;
            if stopped {
                return Ok(());
            }
            left -= got;
            if got < want {
                break;
            }
            page = (page * 2).min(MAX_PAGE);
        }
        Ok(())
    }
}

/// What a [`PostgresStorage::copy_scan`] reads: the operation (for errors) and, for a scan of one
/// stream, its id (the rows then hold only bodies).
struct ScanOf<'a> {
    operation: &'static str,
    stream: Option<&'a str>,
}

/// A reader of PostgreSQL's binary COPY format: a header, then rows of length-prefixed fields,
/// then a trailer (`-1` fields).
struct BinaryCopy<R> {
    reader: R,
    columns: usize,
    started: bool,
    fields: [std::ops::Range<usize>; 2],
}

const COPY_SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

impl<R: std::io::Read> BinaryCopy<R> {
    fn new(reader: R, columns: usize) -> BinaryCopy<R> {
        debug_assert!(columns <= 2);
        BinaryCopy {
            reader,
            columns,
            started: false,
            fields: [0..0, 0..0],
        }
    }

    fn read<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut bytes = [0u8; N];
        self.reader.read_exact(&mut bytes).map_err(copy_error)?;
        Ok(bytes)
    }

    /// The next row's fields, as ranges of `buf` (overwritten); `None` after the last row.
    fn next_row(&mut self, buf: &mut Vec<u8>) -> Result<Option<&[std::ops::Range<usize>]>> {
        if !self.started {
            let signature: [u8; 11] = self.read()?;
            let [_flags, extension] = [self.read::<4>()?, self.read::<4>()?];
            if &signature != COPY_SIGNATURE {
                return Err(copy_malformed());
            }
            let mut skip = vec![0u8; u32::from_be_bytes(extension) as usize];
            self.reader.read_exact(&mut skip).map_err(copy_error)?;
            self.started = true;
        }
        let count = i16::from_be_bytes(self.read()?);
        if count == -1 {
            return Ok(None);
        }
        if count as usize != self.columns {
            return Err(copy_malformed());
        }
        buf.clear();
        for i in 0..self.columns {
            let len = i32::from_be_bytes(self.read()?);
            let len = usize::try_from(len).map_err(|_| copy_malformed())?;
            let start = buf.len();
            buf.resize(start + len, 0);
            self.reader.read_exact(&mut buf[start..]).map_err(copy_error)?;
            self.fields[i] = start..start + len;
        }
        Ok(Some(&self.fields[..self.columns]))
    }
}

fn copy_error(e: std::io::Error) -> Error {
    Error::Database {
        operation: "read rows",
        message: e.to_string(),
        retryable: false,
    }
}

fn copy_malformed() -> Error {
    Error::Database {
        operation: "read rows",
        message: "the server sent a malformed binary COPY stream".into(),
        retryable: false,
    }
}

impl Storage for PostgresStorage {
    fn stream_state(&self, persistence_id: &str) -> Result<StreamState> {
        let sql = format!(
            "SELECT {} FROM {} s WHERE s.persistence_id = $1",
            marks_sql(&self.db.sql),
            self.db.sql.streams
        );
        self.db.pool.read(|conn| {
            let stmt = conn.statement("stream_state", &sql)?;
            let row = conn
                .client
                .query_opt(&stmt, &[&persistence_id])
                .map_err(|e| db_error("read stream state", e))?;
            Ok(row.map_or_else(StreamState::default, |r| StreamState {
                highest_sequence_nr: r.get::<_, i64>(1) as u64,
                deleted_to: r.get::<_, i64>(2) as u64,
            }))
        })
    }

    /// The committed counter: every offset below it is committed and visible (the safe
    /// watermark for live tails).
    fn next_global_offset(&self) -> Result<u64> {
        let sql = format!("SELECT next_offset FROM {} WHERE id = 1", self.db.sql.counter);
        self.db.pool.read(|conn| {
            let stmt = conn.statement("next_offset", &sql)?;
            let row = conn.client.query_one(&stmt, &[]).map_err(|e| db_error("read counter", e))?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn scan_stream(&self, persistence_id: &str, from: u64, to: u64, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        if from > to {
            return Ok(());
        }
        let events = &self.db.sql.events;
        let pid = quote_literal(persistence_id);
        let to = to.min(i64::MAX as u64) as i64;
        let from = from.min(i64::MAX as u64) as i64;
        self.copy_scan(
            ScanOf {
                operation: "read stream",
                stream: Some(persistence_id),
            },
            visit,
            max,
            from,
            |e| e.sequence_nr as i64 + 1,
            |from, limit| {
                format!(
                    "SELECT body FROM {events} WHERE persistence_id = {pid} AND sequence_nr >= {from} AND sequence_nr <= {to} \
                     ORDER BY sequence_nr LIMIT {limit}"
                )
            },
        )
    }

    fn scan_global(&self, from_offset: u64, tag: Option<&str>, max: usize, visit: &mut Visit<'_>) -> Result<()> {
        let s = &self.db.sql;
        let from = from_offset.min(i64::MAX as u64) as i64;
        let next = |e: &crate::model::EventRef<'_>| e.global_offset as i64 + 1;
        match tag {
            None => self.copy_scan(
                ScanOf {
                    operation: "read all events",
                    stream: None,
                },
                visit,
                max,
                from,
                next,
                |from, limit| {
                    format!(
                        "SELECT persistence_id, body FROM {} WHERE global_offset >= {from} ORDER BY global_offset LIMIT {limit}",
                        s.events
                    )
                },
            ),
            Some(tag) => {
                let tag = quote_literal(tag);
                self.copy_scan(
                    ScanOf {
                        operation: "read events by tag",
                        stream: None,
                    },
                    visit,
                    max,
                    from,
                    next,
                    |from, limit| {
                        format!(
                            "SELECT e.persistence_id, e.body FROM {tags} t JOIN {events} e ON e.global_offset = t.global_offset \
                         WHERE t.tag = {tag} AND t.global_offset >= {from} ORDER BY t.global_offset LIMIT {limit}",
                            tags = s.tags,
                            events = s.events
                        )
                    },
                )
            }
        }
    }

    fn persistence_ids(&self) -> Result<Vec<String>> {
        let sql = format!("SELECT persistence_id FROM {} ORDER BY persistence_id", self.db.sql.streams);
        self.db.pool.read(|conn| {
            let rows = conn.client.query(&sql, &[]).map_err(|e| db_error("list persistence ids", e))?;
            Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
        })
    }

    fn begin_batch(&self, persistence_ids: &[&str]) -> Result<Option<BatchStart>> {
        let mut side = self.writer.lock();
        if side.batch.is_some() {
            Self::abandon(&mut side);
        }
        if let Some(start) = Self::begin_from_known(&mut side, persistence_ids) {
            return Ok(Some(start));
        }
        let reused = side.conn.is_some();
        match self.begin(&mut side, persistence_ids) {
            Ok(start) => Ok(Some(start)),
            // A connection that died while idle (a terminated backend, a restarted server)
            // shows only when used: nothing was written yet, so begin once more on a new one.
            Err(e) if reused && e.is_retryable() => {
                Self::abandon(&mut side);
                side.conn = None;
                self.begin(&mut side, persistence_ids)
                    .map(Some)
                    .inspect_err(|_| Self::abandon(&mut side))
            }
            Err(e) => {
                Self::abandon(&mut side);
                Err(e)
            }
        }
    }

    fn commit(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<()> {
        match self.commit_begun(ops, buffer)? {
            Committed::Done => Ok(()),
            Committed::Stale => Err(Error::Database {
                operation: "commit",
                message: "another writer committed since the batch was staged".into(),
                retryable: true,
            }),
        }
    }

    fn commit_begun(&self, ops: &[Op<'_>], buffer: &[u8]) -> Result<Committed> {
        let mut side = self.writer.lock();
        if side.batch.is_none() {
            return Err(Error::Database {
                operation: "commit",
                message: "no batch was begun".into(),
                retryable: false,
            });
        }
        if ops.is_empty() && side.batch.as_ref().is_some_and(|b| b.optimistic) {
            // Nothing to write, but requests may have been refused (a sequence conflict) against
            // what we know: that holds only if nobody committed since.
            let result = self.known_still_current(&mut side);
            if result.is_err() {
                Self::abandon(&mut side);
            }
            side.batch = None;
            return result;
        }
        if ops.is_empty() {
            // Nothing to write: end the transaction the batch opened.
            side.batch = None;
            if side.in_transaction {
                let ended = side.conn.as_mut().map(|c| c.client.batch_execute("ROLLBACK"));
                side.in_transaction = false;
                side.round_trips += 1;
                if !matches!(ended, Some(Ok(()))) {
                    side.conn = None;
                }
            }
            return Ok(Committed::Done);
        }
        let result = self.write_and_commit(&mut side, ops, buffer);
        match &result {
            // Keep what we know: its version tells the next begin that another writer came.
            Ok(Committed::Stale) => {
                let known = side.known.take();
                Self::abandon(&mut side);
                side.known = known;
            }
            Ok(Committed::Done) => {}
            Err(_) => Self::abandon(&mut side),
        }
        side.batch = None;
        result
    }

    /// With `SyncPolicy::Always` every commit was flushed before it was acknowledged
    /// (`synchronous_commit = on`). Otherwise one small commit with `synchronous_commit = on`
    /// flushes the server's log up to it, so every earlier commit of ours is durable too.
    fn sync(&self) -> Result<()> {
        if self.db.pool.target.synchronous_commit {
            return Ok(());
        }
        let mut side = self.writer.lock();
        let sql = format!(
            "BEGIN; SET LOCAL synchronous_commit = on; UPDATE {} SET next_offset = next_offset WHERE id = 1 RETURNING version; COMMIT",
            self.db.sql.counter
        );
        let conn = self.writer_conn(&mut side)?;
        let result = conn.client.simple_query(&sql).map_err(|e| db_error("flush", e));
        side.round_trips += 1;
        match result {
            Ok(messages) => {
                // The update bumped the counter's version: if it was ours just before, what we
                // know still holds at the new one.
                let version = messages.iter().find_map(|m| match m {
                    SimpleQueryMessage::Row(row) => row.get(0).and_then(|v| v.parse::<i64>().ok()),
                    _ => None,
                });
                match (side.known.as_mut(), version) {
                    (Some(known), Some(v)) if known.version + 1 == v => known.version = v,
                    _ => side.known = None,
                }
                Ok(())
            }
            Err(e) => {
                Self::abandon(&mut side);
                Err(e)
            }
        }
    }

    fn shared(&self) -> bool {
        true
    }

    fn copy_to(&self, _dest: &std::path::Path) -> Result<()> {
        Err(bad_option(
            "backend",
            "a PostgreSQL journal is backed up with the database's own tools (pg_dump) or `tidelog copy`",
        ))
    }

    fn close(&self) -> Result<()> {
        let mut side = self.writer.lock();
        Self::abandon(&mut side);
        side.conn = None;
        drop(side);
        self.db.pool.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends one event to `pid` as the writer would: begin, stage against what `begin_batch`
    /// reports, commit. Returns how the commit ended and the writer's round trips it took.
    fn append_one(storage: &PostgresStorage, pid: &str) -> (Committed, u64) {
        let before = storage.writer.lock().round_trips;
        let start = storage.begin_batch(&[pid]).unwrap().expect("a shared backend begins batches");
        let state = start.streams.iter().find(|(p, _)| p == pid).map(|(_, s)| *s).unwrap_or_default();
        let events = [crate::NewEvent::new(b"x".to_vec())];
        let mut buffer = Vec::new();
        codec::encode_event(&mut buffer, &events[0], state.highest_sequence_nr + 1, start.next_global_offset, 1);
        let body = 0..buffer.len();
        let op = Op::Write(super::super::StagedWrite {
            persistence_id: pid,
            first_sequence_nr: state.highest_sequence_nr + 1,
            first_global_offset: start.next_global_offset,
            events: &events,
            bodies: std::slice::from_ref(&body),
        });
        let committed = storage.commit_begun(&[op], &buffer).unwrap();
        (committed, storage.writer.lock().round_trips - before)
    }

    /// Alone on its database, a writer's batch is one round trip once it knows the stream;
    /// after another writer committed, its batch writes nothing (`Stale`) and the next begin
    /// takes the lock and reads the marks again.
    #[test]
    fn a_writer_alone_commits_in_one_round_trip_and_falls_back_after_another_writer() {
        let Ok(uri) = std::env::var("TIDELOG_TEST_POSTGRES") else {
            eprintln!("SKIPPED (PostgreSQL): TIDELOG_TEST_POSTGRES is unset");
            return;
        };
        let sep = if uri.contains('?') { '&' } else { '?' };
        let schema = format!(
            "rt{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_007
        );
        let uri = format!("{uri}{sep}tidelog_schema={schema}");
        let options = Options::new();
        let a = PostgresStorage::open(Database::open(&uri, &options).unwrap());
        let b = PostgresStorage::open(Database::open(&uri, &options).unwrap());
        // However slow this machine, the batches below count as back to back.
        a.writer.lock().busy_window = Duration::from_secs(3600);
        // The first batch knows nothing: under the lock (BEGIN + lock + marks, write, COMMIT).
        assert_eq!(append_one(&a, "s"), (Committed::Done, 3));
        // Then one round trip per batch: the compare-and-write statement in autocommit.
        for _ in 0..5 {
            assert_eq!(append_one(&a, "s"), (Committed::Done, 1));
        }
        // A stream it has not seen yet: under the lock again, then known.
        assert_eq!(append_one(&a, "t"), (Committed::Done, 3));
        assert_eq!(append_one(&a, "t"), (Committed::Done, 1));
        // Another writer commits to "s": a's next batch, staged on what it knew, writes nothing;
        // staged again under the lock it continues b's numbers.
        assert_eq!(append_one(&b, "s").0, Committed::Done);
        assert_eq!(append_one(&a, "s"), (Committed::Stale, 1));
        assert_eq!(append_one(&a, "s"), (Committed::Done, 3));
        // Nobody came in between: back to one round trip after one locked batch.
        assert_eq!(append_one(&a, "s"), (Committed::Done, 3));
        assert_eq!(append_one(&a, "s"), (Committed::Done, 1));
        let mut seqs = Vec::new();
        let mut offsets = Vec::new();
        a.scan_global(1, None, usize::MAX, &mut |e| {
            if e.persistence_id == "s" {
                seqs.push(e.sequence_nr);
            }
            offsets.push(e.global_offset);
            true
        })
        .unwrap();
        assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
        assert_eq!(offsets, (1..=12).collect::<Vec<_>>());
        assert_eq!(a.next_global_offset().unwrap(), 13);
        // After an idle spell the connection may have died unnoticed: the lock first.
        a.writer.lock().busy_window = Duration::ZERO;
        assert_eq!(append_one(&a, "s"), (Committed::Done, 3));
        a.db.pool
            .get()
            .unwrap()
            .client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
    }

    #[test]
    fn redact_hides_passwords_in_userinfo_and_query() {
        assert_eq!(redact("postgresql://u:secret@h:5432/db"), "postgresql://u:***@h:5432/db");
        assert_eq!(
            redact("postgres://u@h/db?password=secret&x=1"),
            "postgres://u@h/db?password=***&x=1"
        );
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
        assert_eq!(redact("postgresql://u:p@ss@h/db"), "postgresql://u:***@h/db");
    }

    #[test]
    fn tls_and_connection_settings_come_from_the_uri_then_the_environment() {
        let env = |name: &str| match name {
            "PGSSLMODE" => Some("require".to_owned()),
            "PGPASSWORD" => Some("from-env".to_owned()),
            "PGHOST" => Some("db.example".to_owned()),
            "PGPORT" => Some("6543".to_owned()),
            "PGDATABASE" => Some("envdb".to_owned()),
            _ => None,
        };
        // The URI is silent: the environment decides.
        let t = Target::resolve_with_env("postgresql://u@/", &Options::new(), &env).unwrap();
        assert_eq!(t.tls_mode, TlsMode::Require);
        assert_eq!(t.config.get_password(), Some(&b"from-env"[..]));
        assert_eq!(t.config.get_ports(), [6543]);
        assert_eq!(t.config.get_dbname(), Some("envdb"));
        assert!(!format!("{t:?}").contains("from-env"));
        // The URI wins, and modes the driver does not know are ours to handle.
        let t = Target::resolve_with_env("postgresql://u:pw@h:1/db?sslmode=disable", &Options::new(), &env).unwrap();
        assert_eq!(t.tls_mode, TlsMode::Disable);
        assert_eq!(t.config.get_password(), Some(&b"pw"[..]));
        assert_eq!(t.config.get_ports(), [1]);
        // Without anything: libpq's default, prefer.
        let t = Target::resolve_with_env("postgresql://u@h/db", &Options::new(), &|_| None).unwrap();
        assert_eq!(t.tls_mode, TlsMode::Prefer);
        // verify-* needs a root certificate; unknown modes are refused.
        for uri in ["postgresql://u@h/db?sslmode=verify-full", "postgresql://u@h/db?sslmode=allow"] {
            let err = Target::resolve_with_env(uri, &Options::new(), &|_| None).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
        }
        assert_eq!(percent_decode("/a%20b/c%2Fd"), "/a b/c/d");
    }

    #[test]
    fn target_takes_our_parameters_out_and_checks_identifiers() {
        let t = Target::resolve(
            "postgresql://u:secret@127.0.0.1:1/db?tidelog_schema=s1&tidelog_table_prefix=p_",
            &Options::new(),
        )
        .unwrap();
        assert_eq!((t.schema.as_str(), t.prefix.as_str()), ("s1", "p_"));
        assert!(!format!("{t:?}").contains("secret"));
        let t = Target::resolve("postgresql://u@h/db?tidelog_schema=s1", &Options::new().postgres_schema("s2")).unwrap();
        assert_eq!(t.schema, "s2");
        let err = Target::resolve("postgresql://u@h/db?tidelog_schema=x;drop", &Options::new()).unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidArgument(InvalidArgument::Option {
                option: "postgres_schema",
                ..
            })
        ));
    }
}
