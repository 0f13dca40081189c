//! Snapshots in PostgreSQL: one row per (persistence id, sequence number), the body encoded
//! as in a snapshot file (CRC-checked, optionally compressed), so a damaged row is skipped
//! like a damaged file.

use std::path::PathBuf;
use std::sync::Arc;

use super::{codec, SnapshotInfo};
use crate::error::{CorruptReason, Result};
use crate::metrics::Metrics;
use crate::model::{Snapshot, SnapshotCriteria};
use crate::storage::postgres::{db_error, Database};

pub(crate) struct PgSnapshots {
    db: Arc<Database>,
}

fn to_i64(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

impl PgSnapshots {
    pub(crate) fn new(db: Arc<Database>) -> PgSnapshots {
        PgSnapshots { db }
    }

    /// Committed before it returns (the session's `synchronous_commit` decides durability, as for events).
    pub(crate) fn save(&self, snapshot: &Snapshot, compress: bool) -> Result<()> {
        let body = codec::encode(snapshot, compress);
        let sql = format!(
            "INSERT INTO {} (persistence_id, sequence_nr, timestamp, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (persistence_id, sequence_nr) DO UPDATE SET timestamp = EXCLUDED.timestamp, body = EXCLUDED.body",
            self.db.sql.snapshots
        );
        let (seq, ts) = (to_i64(snapshot.sequence_nr), to_i64(snapshot.timestamp));
        self.db.pool.read(|conn| {
            let stmt = conn.statement("snapshot_save", &sql)?;
            conn.client
                .execute(&stmt, &[&snapshot.persistence_id, &seq, &ts, &body])
                .map_err(|e| db_error("save snapshot", e))?;
            Ok(())
        })
    }

    pub(crate) fn list(&self, persistence_id: &str) -> Result<Vec<SnapshotInfo>> {
        let sql = format!(
            "SELECT sequence_nr, timestamp FROM {} WHERE persistence_id = $1 ORDER BY sequence_nr, timestamp",
            self.db.sql.snapshots
        );
        self.db.pool.read(|conn| {
            let stmt = conn.statement("snapshot_list", &sql)?;
            let rows = conn
                .client
                .query(&stmt, &[&persistence_id])
                .map_err(|e| db_error("list snapshots", e))?;
            Ok(rows
                .iter()
                .map(|r| SnapshotInfo {
                    sequence_nr: r.get::<_, i64>(0) as u64,
                    timestamp: r.get::<_, i64>(1) as u64,
                })
                .collect())
        })
    }

    /// The newest matching snapshot that decodes; damaged ones are counted and skipped.
    pub(crate) fn load(&self, persistence_id: &str, criteria: SnapshotCriteria, metrics: &Metrics) -> Result<Option<Snapshot>> {
        let sql = format!(
            "SELECT sequence_nr, body FROM {} WHERE persistence_id = $1 AND sequence_nr BETWEEN $2 AND $3 \
             AND timestamp BETWEEN $4 AND $5 ORDER BY sequence_nr DESC, timestamp DESC LIMIT 1 OFFSET $6",
            self.db.sql.snapshots
        );
        let bounds = [
            to_i64(criteria.min_sequence_nr),
            to_i64(criteria.max_sequence_nr),
            to_i64(criteria.min_timestamp),
            to_i64(criteria.max_timestamp),
        ];
        let mut skip: i64 = 0;
        loop {
            let row = self.db.pool.read(|conn| {
                let stmt = conn.statement("snapshot_load", &sql)?;
                conn.client
                    .query_opt(&stmt, &[&persistence_id, &bounds[0], &bounds[1], &bounds[2], &bounds[3], &skip])
                    .map_err(|e| db_error("load snapshot", e))
            })?;
            let Some(row) = row else { return Ok(None) };
            match codec::decode(row.get::<_, &[u8]>(1)) {
                Ok(snapshot) if snapshot.persistence_id == persistence_id => return Ok(Some(snapshot)),
                Ok(_) => {}
                Err(reason) => {
                    tracing::warn!(persistence_id, sequence_nr = row.get::<_, i64>(0), %reason, "skipping corrupt snapshot");
                    Metrics::add(&metrics.skipped_corrupt_snapshots, 1);
                }
            }
            skip += 1;
        }
    }

    /// Deletes the stream's snapshots whose (sequence nr, timestamp) `selected` picks.
    pub(crate) fn delete_where(&self, persistence_id: &str, mut selected: impl FnMut(SnapshotInfo) -> bool) -> Result<usize> {
        let chosen: Vec<i64> = self
            .list(persistence_id)?
            .into_iter()
            .filter(|i| selected(*i))
            .map(|i| to_i64(i.sequence_nr))
            .collect();
        if chosen.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "DELETE FROM {} WHERE persistence_id = $1 AND sequence_nr = ANY($2)",
            self.db.sql.snapshots
        );
        self.db.pool.read(|conn| {
            let n = conn
                .client
                .execute(&sql, &[&persistence_id, &chosen])
                .map_err(|e| db_error("delete snapshots", e))?;
            Ok(n as usize)
        })
    }

    pub(crate) fn persistence_ids(&self) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT DISTINCT persistence_id FROM {} ORDER BY persistence_id",
            self.db.sql.snapshots
        );
        self.db.pool.read(|conn| {
            let rows = conn.client.query(&sql, &[]).map_err(|e| db_error("list snapshots", e))?;
            Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
        })
    }

    /// Reads and checks every snapshot row (for `verify`).
    pub(crate) fn audit(&self) -> Result<Vec<super::SnapshotFile>> {
        let sql = format!(
            "SELECT persistence_id, sequence_nr, timestamp, body FROM {} ORDER BY persistence_id, sequence_nr",
            self.db.sql.snapshots
        );
        let rows = self
            .db
            .pool
            .read(|conn| conn.client.query(&sql, &[]).map_err(|e| db_error("audit snapshots", e)))?;
        Ok(rows
            .iter()
            .map(|r| {
                let pid: &str = r.get(0);
                let info = SnapshotInfo {
                    sequence_nr: r.get::<_, i64>(1) as u64,
                    timestamp: r.get::<_, i64>(2) as u64,
                };
                let check = codec::decode(r.get::<_, &[u8]>(3)).and_then(|s| {
                    if s.persistence_id != pid || s.sequence_nr != info.sequence_nr || s.timestamp != info.timestamp {
                        Err(CorruptReason::Malformed("row's keys do not match the snapshot inside"))
                    } else {
                        Ok(s.persistence_id)
                    }
                });
                super::SnapshotFile {
                    path: PathBuf::from(format!("{}#snapshots/{pid}/{}", self.db.redacted(), info.sequence_nr)),
                    info,
                    check,
                }
            })
            .collect())
    }
}
