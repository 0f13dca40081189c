package dev.tidelog.pekko;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.snapshot.JavaSnapshotStoreSpec;
import org.junit.runner.RunWith;
import org.scalatestplus.junit.JUnitRunner;

/** Pekko's snapshot-store TCK against the plugin on the lmdb backend. */
@RunWith(JUnitRunner.class)
public class LmdbSnapshotStoreSpec extends JavaSnapshotStoreSpec {
    public LmdbSnapshotStoreSpec() {
        super(TestConfig.plugins("lmdb", TestConfig.freshDir("tidelog-tck-snapshots-lmdb")));
    }

    @Override
    public CapabilityFlag supportsSerialization() {
        return CapabilityFlag.on();
    }
}
