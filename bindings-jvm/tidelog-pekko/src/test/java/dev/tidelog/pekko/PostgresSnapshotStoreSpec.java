package dev.tidelog.pekko;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.snapshot.JavaSnapshotStoreSpec;
import org.junit.runner.RunWith;
import org.scalatestplus.junit.JUnitRunner;

/** Pekko's snapshot-store TCK against the plugin on PostgreSQL (a fresh schema on the test server). */
@RunWith(JUnitRunner.class)
public class PostgresSnapshotStoreSpec extends JavaSnapshotStoreSpec {
    public PostgresSnapshotStoreSpec() {
        super(TestConfig.postgresPlugins(TestConfig.freshPostgres("pekko_tck_snapshotstore")));
    }

    @Override
    public CapabilityFlag supportsSerialization() {
        return CapabilityFlag.on();
    }
}
