"""The Python agent of the cross-language matrix (see tests/run.py); same commands as the Rust agent."""
import base64
import json
import sys

import tidelog


def crash_payload(pid: str, seq: int) -> bytes:
    return (f"{pid}:{seq}:" * (1 + seq % 40)).encode()


def b64(s: str) -> bytes:
    return base64.b64decode(s)


def load_fixture(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def expected_events(fx):
    highest, offset, out = {}, 0, []
    for append in fx["appends"]:
        pid = append["persistence_id"]
        for e in append["events"]:
            offset += 1
            highest[pid] = highest.get(pid, 0) + 1
            out.append(dict(pid=pid, seq=highest[pid], offset=offset, ts=e["timestamp"], manifest=e["manifest"],
                            writer_id=e["writer_id"], tags=tuple(e["tags"]), metadata=b64(e["metadata"]),
                            payload=b64(e["payload"]["base64"]) * e["payload"].get("repeat", 1)))
    deleted = {d["persistence_id"]: d["to"] for d in fx["deletions"]}
    return [e for e in out if e["seq"] > deleted.get(e["pid"], 0)]


def as_dict(e: tidelog.Event):
    return dict(pid=e.persistence_id, seq=e.sequence_nr, offset=e.global_offset, ts=e.timestamp, manifest=e.manifest,
                writer_id=e.writer_id, tags=tuple(e.tags), metadata=e.metadata, payload=e.payload)


def write(journal, fx):
    for append in fx["appends"]:
        journal.append(append["persistence_id"], [
            tidelog.NewEvent(b64(e["payload"]["base64"]) * e["payload"].get("repeat", 1), manifest=e["manifest"],
                              writer_id=e["writer_id"], tags=e["tags"], timestamp=e["timestamp"], metadata=b64(e["metadata"]))
            for e in append["events"]])
    for d in fx["deletions"]:
        journal.delete_to(d["persistence_id"], d["to"])
    for s in fx["snapshots"]:
        journal.snapshots.save(s["persistence_id"], s["sequence_nr"], b64(s["state"]), timestamp=s["timestamp"],
                               manifest=s["manifest"], metadata=b64(s["metadata"]))


def check(ok, what):
    if not ok:
        raise AssertionError(what)


def verify(journal, fx):
    want = expected_events(fx)
    got = [as_dict(e) for e in journal.all_events()]
    check(got == want, f"all_events differ: {[(g['pid'], g['seq'], g['offset']) for g in got]}")
    ids = sorted({a["persistence_id"] for a in fx["appends"]})
    check(journal.persistence_ids() == ids, "persistence ids differ")
    for pid in ids:
        check([as_dict(e) for e in journal.read(pid)] == [e for e in want if e["pid"] == pid], f"read({pid}) differs")
        appended = sum(len(a["events"]) for a in fx["appends"] if a["persistence_id"] == pid)
        check(journal.highest_sequence_nr(pid) == appended, f"highest of {pid}")
    check([as_dict(e) for e in journal.events_by_tag("orders")] == [e for e in want if "orders" in e["tags"]], "tag query differs")
    for s in fx["snapshots"]:
        pid = s["persistence_id"]
        latest = max((x for x in fx["snapshots"] if x["persistence_id"] == pid), key=lambda x: x["sequence_nr"])
        for expect, snap in ((latest, journal.snapshots.load(pid)),
                             (s, journal.snapshots.load(pid, max_sequence_nr=s["sequence_nr"], min_timestamp=s["timestamp"]))):
            check(snap is not None and (snap.sequence_nr, snap.timestamp, snap.manifest, snap.metadata, snap.state) ==
                  (expect["sequence_nr"], expect["timestamp"], expect["manifest"], b64(expect["metadata"]), b64(expect["state"])),
                  f"snapshot {pid}@{expect['sequence_nr']}")


def crash(journal):
    i = 0
    while True:
        pid = f"crash-python-{i % 3}"
        nxt = journal.highest_sequence_nr(pid) + 1
        r = journal.append(pid, [crash_payload(pid, s) for s in range(nxt, nxt + 1 + i % 3)])
        print(f"ack {pid} {r.last_sequence_nr}", flush=True)
        i += 1


def acks(journal, ack_file):
    acked = {}
    for line in open(ack_file):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "ack":
            acked[parts[1]] = max(acked.get(parts[1], 0), int(parts[2]))
    for pid, highest in acked.items():
        events = journal.read(pid)
        check(len(events) >= highest, f"{pid}: {len(events)} events, {highest} acknowledged")
        for i, e in enumerate(events):
            check(e.sequence_nr == i + 1 and e.payload == crash_payload(pid, e.sequence_nr), f"{pid}: event {e.sequence_nr} damaged")


def read_live(journal):
    total = 0
    for pid in journal.persistence_ids():
        events = journal.read(pid)
        for i, e in enumerate(events):
            check(e.sequence_nr == events[0].sequence_nr + i and e.payload == crash_payload(pid, e.sequence_nr), f"{pid}: inconsistent")
        total += len(events)
    check(total > 0, "a reader beside the writer saw no events")
    print(f"read {total}")


def main():
    cmd, path, backend = sys.argv[1:4]
    extra = sys.argv[4] if len(sys.argv) > 4 else None
    if cmd == "lock":
        try:
            tidelog.Journal.open(path, backend=backend).close()
            print("OPENED")
        except tidelog.LockedError:
            print("LOCKED")
        return
    journal = tidelog.Journal.open(path, backend=backend, read_only=(cmd == "read"))
    try:
        if cmd == "write":
            write(journal, load_fixture(extra))
        elif cmd == "verify":
            verify(journal, load_fixture(extra))
        elif cmd == "crash":
            crash(journal)
        elif cmd == "acks":
            acks(journal, extra)
        elif cmd == "read":
            read_live(journal)
        else:
            sys.exit(f"unknown command {cmd}")
    finally:
        journal.close()


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
