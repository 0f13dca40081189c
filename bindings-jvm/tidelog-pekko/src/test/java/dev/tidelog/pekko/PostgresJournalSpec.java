package dev.tidelog.pekko;

import org.apache.pekko.persistence.CapabilityFlag;
import org.apache.pekko.persistence.japi.journal.JavaJournalSpec;
import org.junit.runner.RunWith;
import org.scalatestplus.junit.JUnitRunner;

/** Pekko's journal TCK against the plugin on PostgreSQL (a fresh schema on the test server). */
@RunWith(JUnitRunner.class)
public class PostgresJournalSpec extends JavaJournalSpec {
    public PostgresJournalSpec() {
        super(TestConfig.postgresPlugins(TestConfig.freshPostgres("pekko_tck_journal")));
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
