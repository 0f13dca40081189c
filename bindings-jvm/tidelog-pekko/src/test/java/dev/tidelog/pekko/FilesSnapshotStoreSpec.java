package dev.tidelog.pekko;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.snapshot.JavaSnapshotStoreSpec;
import org.junit.runner.RunWith;
import org.scalatestplus.junit.JUnitRunner;

/** Pekko's snapshot-store TCK against the plugin on the files backend. */
@RunWith(JUnitRunner.class)
public class FilesSnapshotStoreSpec extends JavaSnapshotStoreSpec {
    public FilesSnapshotStoreSpec() {
        super(TestConfig.plugins("files", TestConfig.freshDir("tidelog-tck-snapshots-files")));
    }

    @Override
    public CapabilityFlag supportsSerialization() {
        return CapabilityFlag.on();
    }
}
