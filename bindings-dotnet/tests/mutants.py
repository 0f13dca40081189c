#!/usr/bin/env python3
"""Deliberately broken Akka.NET plugins, to show that the conformance suite catches each kind of breakage.

    mutants.py list                      names of the mutants, one a line
    mutants.py describe NAME             what the mutant breaks
    mutants.py apply NAME SRC OUT        copy the plugin sources SRC into OUT with the mutation applied

`build.sh mutants` builds every mutant, runs the conformance suite against it and fails if any mutant survives.
Each mutation is a literal replacement in one source file; `apply` fails if the text to replace is missing, so a
mutant never silently turns into the unchanged plugin.
"""
import shutil
import sys
from pathlib import Path

J, R, S = "TidelogJournal.cs", "TidelogReadJournal.cs", "TidelogSnapshotStore.cs"

# name: (what it breaks, file, original text, mutated text[, original text, mutated text ...])
MUTANTS = {
    "drop-last-event-of-atomic-write": (
        "stores every AtomicWrite of several events without its last event",
        J,
        "for (int k = 0; k < reprs.Count; k++) events[k] = ToEvent(reprs[k]);",
        "for (int k = 0; k < reprs.Count; k++) events[k] = ToEvent(reprs[k]);\n"
        "                if (events.Length > 1) events = events.Take(events.Length - 1).ToArray();",
    ),
    "highest-zero-after-delete": (
        "computes the highest sequence number from the stored events, so it drops to 0 once they are deleted",
        J,
        "return _journal.HighestSequenceNr(persistenceId);",
        "var stored = _journal.Read(persistenceId, 1, long.MaxValue, long.MaxValue);\n"
        "        return stored.Count == 0 ? 0 : stored[stored.Count - 1].SequenceNr;",
    ),
    "highest-before-in-flight-writes": (
        "answers the highest sequence number without waiting for the stream's writes in flight",
        J,
        "try { await write.ConfigureAwait(false); }",
        "try { await Task.CompletedTask.ConfigureAwait(false); }",
    ),
    "rejection-fails-the-call": (
        "faults the whole call when one payload cannot be serialized, instead of rejecting its AtomicWrite",
        J,
        "rejections[i] = e;",
        "if (e is not null) throw;\n                rejections[i] = e;",
    ),
    "storage-failure-as-rejection": (
        "reports a storage failure as a rejection of every AtomicWrite instead of faulting the call",
        J,
        "if (error != null) call.Result.TrySetException(error);",
        "if (error != null) call.Result.TrySetResult(call.Writes.Select(_ => (Exception?)error).ToImmutableList());",
    ),
    "replay-ignores-max": (
        "replays the whole range whatever the count limit",
        J,
        "if (++delivered >= max) break;",
        "++delivered;",
        "long want = Math.Min(max - delivered, _settings.PageSize);",
        "long want = _settings.PageSize;",
        "while (delivered < max && next <= toSequenceNr)",
        "while (next <= toSequenceNr)",
    ),
    "replay-returns-rejected-events": (
        "replays the placeholders of rejected events",
        J,
        "if (Codec.IsFiller(e)) continue; // the place of a rejected event: never replayed",
        "// mutant: fillers replayed",
    ),
    "writer-uuid-lost": (
        "stores no writer uuid",
        J,
        'WriterId = p.WriterGuid ?? "",',
        'WriterId = "",',
    ),
    "adapter-manifest-lost": (
        "drops the event adapter's manifest",
        J,
        'Metadata = Codec.Metadata(serializerId, ticks, p.Manifest ?? ""),',
        'Metadata = Codec.Metadata(serializerId, ticks, ""),',
    ),
    "timestamp-to-milliseconds": (
        "keeps event timestamps to the millisecond only",
        J,
        "long ticks = p.Timestamp != 0 ? p.Timestamp : DateTime.UtcNow.Ticks;",
        "long ticks = (p.Timestamp != 0 ? p.Timestamp : DateTime.UtcNow.Ticks) / TimeSpan.TicksPerMillisecond * TimeSpan.TicksPerMillisecond;",
    ),
    "query-resume-skips-an-offset": (
        "resumes a query one event after the offset it was given",
        R,
        "Sequence s => Math.Max(0, s.Value),",
        "Sequence s => Math.Max(0, s.Value) + 1,",
    ),
    "live-query-skips-after-each-batch": (
        "drops the first event of every batch of a live query's subscription after the first batch",
        R,
        "                    return Option<IReadOnlyList<Event>>.Create(batch);",
        "                    bool first = !cursor.Started;\n                    cursor.Started = true;\n"
        "                    return Option<IReadOnlyList<Event>>.Create(first ? batch : batch.Skip(1).ToList());",
        "        public bool Done;",
        "        public bool Done, Started;",
    ),
    "persistence-ids-repeated": (
        "lists a persistence id again for every later event of its stream in the live query",
        R,
        "            .Where(seen.Add);",
        "            .Where(id => { seen.Add(id); return true; });",
    ),
    "snapshot-load-oldest": (
        "loads the matching snapshot with the lowest sequence number",
        S,
        "OrderByDescending(m => m.Snapshot.SequenceNr)",
        "OrderBy(m => m.Snapshot.SequenceNr)",
    ),
    "snapshot-ignores-min-sequence-nr": (
        "ignores SnapshotSelectionCriteria.MinSequenceNr",
        S,
        "if (info.SequenceNr < criteria.MinSequenceNr || info.SequenceNr > criteria.MaxSequenceNr) continue;",
        "if (info.SequenceNr > criteria.MaxSequenceNr) continue;",
    ),
    "snapshot-delete-ignores-timestamp": (
        "deletes a snapshot by sequence number even when it is newer than the given timestamp",
        S,
        "if (metadata.Timestamp != DateTime.MinValue && Codec.ReadMetadata(stored.Metadata).Ticks > metadata.Timestamp.Ticks) return;",
        "// mutant: timestamp ignored",
    ),
}


def apply(name: str, src: Path, out: Path) -> None:
    _, file, *edits = MUTANTS[name]
    shutil.copytree(src, out, dirs_exist_ok=True)
    target = out / file
    text = target.read_text()
    for old, new in zip(edits[::2], edits[1::2]):
        if text.count(old) != 1:
            sys.exit(f"mutant {name}: expected exactly one `{old}` in {file}, found {text.count(old)}")
        text = text.replace(old, new)
    target.write_text(text)


def main(argv: list[str]) -> None:
    if argv[:1] == ["list"]:
        print("\n".join(MUTANTS))
    elif argv[:1] == ["describe"] and len(argv) == 2:
        print(MUTANTS[argv[1]][0])
    elif argv[:1] == ["apply"] and len(argv) == 4:
        apply(argv[1], Path(argv[2]), Path(argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
