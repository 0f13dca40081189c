"""SIGKILL a writer at random moments: every acknowledged event must be read back intact."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import tidelog

WRITER = textwrap.dedent(
    """
    import asyncio, sys, tidelog
    path, backend, mode = sys.argv[1], sys.argv[2], sys.argv[3]

    def payload(pid, seq):
        return (f"{pid}:{seq}:" * 7).encode()

    journal = tidelog.Journal.open(path, backend=backend, sync="always")
    out = sys.stdout
    if mode == "blocking":
        pid = "blocking"
        seq = journal.highest_sequence_nr(pid)
        while True:
            seq += 1
            receipt = journal.append(pid, payload(pid, seq))
            assert receipt.first_sequence_nr == seq
            out.write(f"{pid} {seq}\\n")
            out.flush()
    else:
        aj = tidelog.AsyncJournal(journal)

        async def writer(pid):
            seq = await aj.highest_sequence_nr(pid)
            while True:
                seq += 1
                [result] = await aj.write([(pid, seq, payload(pid, seq))])
                if isinstance(result, Exception):
                    raise result
                out.write(f"{pid} {seq}\\n")
                out.flush()

        async def main():
            await asyncio.gather(*(writer(f"async-{i}") for i in range(8)))

        asyncio.run(main())
    """
)


def payload(pid, seq):
    return (f"{pid}:{seq}:" * 7).encode()


# Not postgres: durability there is the server's (core/tests/postgres_faults.rs kills its connections).
@pytest.mark.parametrize("backend", ["lmdb", "files"])
def test_acknowledged_events_survive_sigkill(tmp_path, backend):
    rng = random.Random()
    path = tmp_path / "j"
    acknowledged = {}
    rounds = 10
    for round_ in range(rounds):
        mode = "blocking" if round_ % 2 == 0 else "async"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), backend, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Wait until the writer is appending, then kill it at a random moment.
        first = proc.stdout.readline()
        assert first, proc.stderr.read().decode()
        lines = [first]
        time.sleep(rng.uniform(0.0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        lines += out.splitlines(keepends=True)
        for line in lines:
            if not line.endswith(b"\n"):
                continue  # torn output line: the ack was not completely printed
            pid, seq = line.decode().split()
            acknowledged[pid] = max(acknowledged.get(pid, 0), int(seq))
        assert proc.returncode == -signal.SIGKILL

        with tidelog.Journal.open(path, backend=backend) as journal:
            for pid, highest_acked in acknowledged.items():
                events = journal.read(pid)
                assert journal.highest_sequence_nr(pid) >= highest_acked
                assert len(events) >= highest_acked, (pid, len(events), highest_acked)
                for event in events:
                    assert event.payload == payload(pid, event.sequence_nr)
                assert [e.sequence_nr for e in events] == list(range(1, len(events) + 1))
    assert acknowledged.get("blocking", 0) > 0
    assert sum(v for k, v in acknowledged.items() if k.startswith("async")) > 0
