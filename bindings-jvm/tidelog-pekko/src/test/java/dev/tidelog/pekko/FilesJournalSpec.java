package dev.tidelog.pekko;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.journal.JavaJournalSpec;
import org.junit.runner.RunWith;
import org.scalatestplus.junit.JUnitRunner;

/** Pekko's journal TCK against the plugin on the files backend. */
@RunWith(JUnitRunner.class)
public class FilesJournalSpec extends JavaJournalSpec {
    public FilesJournalSpec() {
        super(TestConfig.plugins("files", TestConfig.freshDir("tidelog-tck-journal-files")));
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
