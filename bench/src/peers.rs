//! The stores people use instead: SQLite (as Akka.Persistence.Sqlite lays it
//! out) and raw LMDB through `heed`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use heed::types::Bytes;
use heed::{Database, Env, EnvOpenOptions};
use rusqlite::{params, Connection};

/// SQLite's `synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    /// WAL + `synchronous=FULL`: the WAL is fsynced at every commit (power-loss safe).
    Full,
    /// `synchronous=OFF`: no fsync (survives a process crash only).
    Off,
}

/// The table Akka.Persistence.Sqlite creates (`event_journal`), minus nothing
/// that costs: an autoincrement ordering, a unique (id, seq) index, payload blob.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS event_journal (
    ordering INTEGER PRIMARY KEY AUTOINCREMENT,
    persistence_id VARCHAR(255) NOT NULL,
    sequence_nr INTEGER NOT NULL,
    is_deleted INTEGER NOT NULL,
    manifest VARCHAR(255) NOT NULL,
    timestamp INTEGER NOT NULL,
    payload BLOB NOT NULL,
    tags VARCHAR(2000) NULL,
    serializer_id INTEGER,
    UNIQUE (persistence_id, sequence_nr))";

const INSERT: &str =
    "INSERT INTO event_journal (persistence_id, sequence_nr, is_deleted, manifest, timestamp, payload, tags, serializer_id)
    VALUES (?1, ?2, 0, '', ?3, ?4, NULL, 1)";

/// Opens (creating) an SQLite database in WAL mode with the given sync setting.
pub fn sqlite_open(path: &Path, sync: SqliteSync) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if sync == SqliteSync::Full { "FULL" } else { "OFF" })?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// SQLite with one transaction per event, shared by all writers through a
/// mutex (the best case for per-event commits: no busy-wait back-off).
pub struct SqlitePerEvent {
    conn: Mutex<Connection>,
}

impl SqlitePerEvent {
    /// Opens the database.
    pub fn open(path: &Path, sync: SqliteSync) -> rusqlite::Result<Self> {
        Ok(SqlitePerEvent {
            conn: Mutex::new(sqlite_open(path, sync)?),
        })
    }

    /// Inserts one event in its own (autocommit) transaction.
    pub fn append(&self, persistence_id: &str, sequence_nr: u64, payload: &[u8]) {
        let conn = self.conn.lock().expect("sqlite mutex");
        conn.prepare_cached(INSERT)
            .and_then(|mut s| s.execute(params![persistence_id, sequence_nr as i64, now_millis(), payload]))
            .expect("sqlite insert");
    }
}

struct Request {
    persistence_id: String,
    sequence_nr: u64,
    payload: Vec<u8>,
    done: Sender<()>,
}

/// SQLite behind the same group commit Tidelog does: one thread takes
/// everything queued (up to `max_batch` events), inserts it in one
/// transaction, commits once, then acknowledges every caller.
pub struct SqliteBatched {
    requests: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl SqliteBatched {
    /// Opens the database and starts its writer thread.
    pub fn open(path: &Path, sync: SqliteSync, max_batch: usize) -> rusqlite::Result<Self> {
        let mut conn = sqlite_open(path, sync)?;
        let (tx, rx) = crossbeam_channel::unbounded::<Request>();
        let thread = std::thread::spawn(move || {
            let mut batch = Vec::with_capacity(max_batch);
            while let Ok(first) = rx.recv() {
                batch.push(first);
                while batch.len() < max_batch {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let txn = conn.transaction().expect("sqlite begin");
                {
                    let mut insert = txn.prepare_cached(INSERT).expect("sqlite prepare");
                    let now = now_millis();
                    for r in &batch {
                        insert
                            .execute(params![r.persistence_id, r.sequence_nr as i64, now, r.payload])
                            .expect("sqlite insert");
                    }
                }
                txn.commit().expect("sqlite commit");
                for r in batch.drain(..) {
                    let _ = r.done.send(());
                }
            }
        });
        Ok(SqliteBatched {
            requests: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues one event; the receiver yields once it is committed.
    pub fn submit(&self, persistence_id: String, sequence_nr: u64, payload: Vec<u8>) -> Receiver<()> {
        let (done, rx) = crossbeam_channel::bounded(1);
        self.requests
            .as_ref()
            .expect("open")
            .send(Request {
                persistence_id,
                sequence_nr,
                payload,
                done,
            })
            .expect("sqlite writer alive");
        rx
    }
}

impl Drop for SqliteBatched {
    fn drop(&mut self) {
        self.requests.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Bulk-loads `count` events of `persistence_id` (sequence numbers from 1), in
/// transactions of `batch` rows.
pub fn sqlite_populate(conn: &mut Connection, persistence_id: &str, count: u64, payload: &[u8], batch: u64) -> rusqlite::Result<()> {
    let now = now_millis();
    let mut seq = 1;
    while seq <= count {
        let txn = conn.transaction()?;
        {
            let mut insert = txn.prepare_cached(INSERT)?;
            let end = (seq + batch).min(count + 1);
            for s in seq..end {
                insert.execute(params![persistence_id, s as i64, now, payload])?;
            }
            seq = end;
        }
        txn.commit()?;
    }
    Ok(())
}

/// Replays one stream in sequence order, as Akka.Persistence.Sqlite's recovery
/// query does; returns (events, payload bytes).
pub fn sqlite_replay(conn: &Connection, persistence_id: &str) -> rusqlite::Result<(u64, u64)> {
    let mut stmt = conn.prepare_cached(
        "SELECT persistence_id, sequence_nr, timestamp, manifest, payload FROM event_journal
         WHERE persistence_id = ?1 AND sequence_nr >= 1 ORDER BY sequence_nr",
    )?;
    let mut rows = stmt.query(params![persistence_id])?;
    let (mut events, mut bytes) = (0u64, 0u64);
    while let Some(row) = rows.next()? {
        let payload = row.get_ref(4)?.as_blob()?;
        bytes += payload.len() as u64;
        events += 1;
    }
    Ok((events, bytes))
}

/// Every stream's highest sequence number.
pub fn sqlite_highest_all(conn: &Connection) -> rusqlite::Result<HashMap<String, u64>> {
    let mut stmt = conn.prepare("SELECT persistence_id, MAX(sequence_nr) FROM event_journal GROUP BY persistence_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
    rows.collect()
}

/// Raw LMDB through heed, default (fully synchronous) flags: a transaction per put.
pub struct RawLmdb {
    env: Env,
    db: Database<Bytes, Bytes>,
}

impl RawLmdb {
    /// Opens an environment in `dir` with a fixed map size.
    pub fn open(dir: &Path, map_size: usize) -> heed::Result<Self> {
        std::fs::create_dir_all(dir)?;
        // SAFETY: a private directory opened once by this process.
        let env = unsafe { EnvOpenOptions::new().map_size(map_size).max_dbs(2).open(dir)? };
        let mut txn = env.write_txn()?;
        let db = env.create_database(&mut txn, Some("events"))?;
        txn.commit()?;
        Ok(RawLmdb { env, db })
    }

    /// Puts one key in its own durable write transaction.
    pub fn put_one(&self, key: &[u8], value: &[u8]) {
        let mut txn = self.env.write_txn().expect("heed begin");
        self.db.put(&mut txn, key, value).expect("heed put");
        txn.commit().expect("heed commit");
    }
}

/// An LMDB key for (writer, sequence): both big-endian, so a writer's keys are contiguous.
pub fn lmdb_key(writer: u64, seq: u64) -> [u8; 16] {
    let mut k = [0; 16];
    k[..8].copy_from_slice(&writer.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_round_trip_and_highest() {
        let dir = tempfile::tempdir().unwrap();
        let per_event = SqlitePerEvent::open(&dir.path().join("db"), SqliteSync::Off).unwrap();
        per_event.append("a", 1, b"x");
        per_event.append("a", 2, b"yy");
        drop(per_event);
        let batched = SqliteBatched::open(&dir.path().join("db"), SqliteSync::Off, 16).unwrap();
        let acks: Vec<_> = (1..=3).map(|s| batched.submit("b".into(), s, vec![1; 4])).collect();
        acks.into_iter().for_each(|a| a.recv().unwrap());
        drop(batched);
        let mut conn = sqlite_open(&dir.path().join("db"), SqliteSync::Off).unwrap();
        sqlite_populate(&mut conn, "c", 5, b"zzz", 2).unwrap();
        assert_eq!(sqlite_replay(&conn, "a").unwrap(), (2, 3));
        assert_eq!(sqlite_replay(&conn, "b").unwrap(), (3, 12));
        assert_eq!(sqlite_replay(&conn, "c").unwrap(), (5, 15));
        let highest = sqlite_highest_all(&conn).unwrap();
        assert_eq!(
            highest,
            HashMap::from([("a".to_string(), 2), ("b".to_string(), 3), ("c".to_string(), 5)])
        );
    }

    #[test]
    fn raw_lmdb_puts_are_readable() {
        let dir = tempfile::tempdir().unwrap();
        let lmdb = RawLmdb::open(dir.path(), 1 << 20).unwrap();
        lmdb.put_one(&lmdb_key(1, 2), b"v");
        let txn = lmdb.env.read_txn().unwrap();
        assert_eq!(lmdb.db.get(&txn, &lmdb_key(1, 2)).unwrap(), Some(&b"v"[..]));
        assert_eq!(lmdb.db.len(&txn).unwrap(), 1);
    }

    #[test]
    fn lmdb_keys_sort_by_writer_then_sequence() {
        assert!(lmdb_key(1, 9) < lmdb_key(2, 1));
        assert!(lmdb_key(1, 1) < lmdb_key(1, 2));
    }
}
