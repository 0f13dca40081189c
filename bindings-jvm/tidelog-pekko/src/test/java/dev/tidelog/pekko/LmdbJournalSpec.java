package dev.tidelog.pekko;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.journal.JavaJournalSpec;
import org.junit.runner.RunWith;
import org.scalatestplus.junit.JUnitRunner;

/** Pekko's journal TCK against the plugin on the lmdb backend. */
@RunWith(JUnitRunner.class)
public class LmdbJournalSpec extends JavaJournalSpec {
    public LmdbJournalSpec() {
        super(TestConfig.plugins("lmdb", TestConfig.freshDir("tidelog-tck-journal-lmdb")));
    }

    @Override
    public CapabilityFlag supportsRejectingNonSerializableObjects() {
        return CapabilityFlag.on();
    }

    @Override
    public CapabilityFlag supportsSerialization() {
        return CapabilityFlag.on();
    }
}
