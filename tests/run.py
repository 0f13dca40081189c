#!/usr/bin/env python3
"""Cross-language matrix: one journal, every runtime.

For each persistent backend and each (writer, reader) pair of runtimes, the
writer applies the shared fixture (fixtures/journal.json) and the reader checks
every field. Then a crash matrix (a writer killed with SIGKILL mid-stream, a
reader in another runtime checks every acknowledged event) and a concurrency
check (while one runtime writes, every other runtime is refused the writer lock
and can read). Prints a summary table; exits non-zero on any failure.

Each runtime has an *agent* with the same commands (see src/bin/tidelog-fixture.rs).
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "journal.json")
BACKENDS = ["lmdb", "files"]


def agents():
    """Runtime name -> command prefix, for every runtime whose agent is built."""
    found = {}
    rust = os.path.join(ROOT, "target", "debug", "tidelog-fixture")
    if os.path.exists(rust):
        found["rust"] = [rust]
    py = os.path.join(ROOT, "bindings-python", ".venv", "bin", "python")
    if os.path.exists(py) and os.path.exists(os.path.join(ROOT, "tests", "agents", "agent.py")):
        found["python"] = [py, os.path.join(ROOT, "tests", "agents", "agent.py")]
    node_pkg = os.path.join(ROOT, "bindings-node", "dist")
    if os.path.isdir(node_pkg) and shutil.which("node") and os.path.exists(os.path.join(ROOT, "tests", "agents", "agent.mjs")):
        found["node"] = ["node", os.path.join(ROOT, "tests", "agents", "agent.mjs")]
    jar_dir = os.path.join(ROOT, "tests", "agents", "build", "jvm")
    if os.path.exists(os.path.join(jar_dir, "classpath.txt")):
        cp = open(os.path.join(jar_dir, "classpath.txt")).read().strip()
        found["jvm"] = ["java", "-cp", cp + os.pathsep + jar_dir, "Agent"]
    exe = os.path.join(ROOT, "tests", "agents", "build", "dotnet", "Agent.exe")
    if os.path.exists(exe) and shutil.which("mono"):
        found["dotnet"] = ["mono", exe]
    return found


def run(cmd, *args, timeout=120):
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)


class Results:
    def __init__(self):
        self.rows = []

    def add(self, section, what, ok, detail=""):
        self.rows.append((section, what, ok, detail))
        mark = "ok  " if ok else "FAIL"
        print(f"[{mark}] {section}: {what}" + (f" -- {detail}" if detail and not ok else ""), flush=True)


def matrix(results, langs, work):
    for backend in BACKENDS:
        for writer, wcmd in langs.items():
            path = os.path.join(work, f"matrix-{writer}-{backend}")
            r = run(wcmd, "write", path, backend, FIXTURE)
            if r.returncode != 0:
                results.add("matrix", f"{writer} writes {backend}", False, r.stderr.strip()[-500:])
                continue
            for reader, rcmd in langs.items():
                r = run(rcmd, "verify", path, backend, FIXTURE)
                results.add("matrix", f"{writer} -> {reader} ({backend})", r.returncode == 0, r.stderr.strip()[-500:])


def fixtures(results, langs, work):
    """Journals written by earlier formats (and before the rename) open and hold the fixture in every runtime."""
    root = os.path.join(ROOT, "tests", "fixtures")
    for version in sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))):
        for name in sorted(os.listdir(os.path.join(root, version))):
            backend = "files" if name.startswith("files") else "lmdb"
            for lang, cmd in langs.items():
                path = os.path.join(work, f"fixture-{version}-{name}-{lang}")
                shutil.copytree(os.path.join(root, version, name), path)
                r = run(cmd, "verify", path, backend, FIXTURE)
                results.add("fixtures", f"{lang} reads {version}/{name}", r.returncode == 0, r.stderr.strip()[-500:])


def start_crash_writer(cmd, path, backend):
    return subprocess.Popen(cmd + ["crash", path, backend], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_acks(proc, count):
    lines = []
    while len(lines) < count:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("ack "):
            lines.append(line)
    return lines


def crash_matrix(results, langs, work, rounds):
    names = list(langs)
    rng = random.Random()
    for backend in BACKENDS:
        for i, writer in enumerate(names):
            reader = names[(i + 1) % len(names)] if len(names) > 1 else writer
            path = os.path.join(work, f"crash-{writer}-{backend}")
            ack_file = path + ".acks"
            acked = []
            ok, detail = True, ""
            for _ in range(rounds):
                proc = start_crash_writer(langs[writer], path, backend)
                got = read_acks(proc, rng.randint(5, 120))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                if not got:
                    ok, detail = False, "writer acknowledged nothing: " + proc.stderr.read()[-500:]
                    break
                acked.extend(got)
                with open(ack_file, "w") as f:
                    f.writelines(acked)
                r = run(langs[reader], "acks", path, backend, ack_file)
                if r.returncode != 0:
                    ok, detail = False, r.stderr.strip()[-500:]
                    break
            results.add("crash", f"{writer} killed, {reader} reads ({backend}, {rounds} rounds, {len(acked)} acks)", ok, detail)


def concurrency(results, langs, work):
    names = list(langs)
    for backend in BACKENDS:
        for i, writer in enumerate(names):
            path = os.path.join(work, f"live-{writer}-{backend}")
            proc = start_crash_writer(langs[writer], path, backend)
            try:
                if not read_acks(proc, 20):
                    results.add("concurrency", f"{writer} writes ({backend})", False, proc.stderr.read()[-1500:])
                    continue
                for other in names:
                    if other == writer:
                        continue
                    r = run(langs[other], "lock", path, backend)
                    results.add("concurrency", f"{other} refused while {writer} writes ({backend})", r.returncode == 0 and "LOCKED" in r.stdout, (r.stdout + r.stderr)[-500:])
                    r = run(langs[other], "read", path, backend)
                    results.add("concurrency", f"{other} reads while {writer} writes ({backend})", r.returncode == 0, r.stderr.strip()[-500:])
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait()


def main():
    langs = agents()
    want = ["rust", "python", "node", "jvm", "dotnet"]
    missing = [l for l in want if l not in langs]
    print(f"runtimes with agents: {', '.join(langs)}" + (f"; not built: {', '.join(missing)}" if missing else ""), flush=True)
    rounds = int(os.environ.get("TIDELOG_CRASH_ROUNDS", "3"))
    results = Results()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="tidelog-matrix-") as work:
        matrix(results, langs, work)
        fixtures(results, langs, work)
        crash_matrix(results, langs, work, rounds)
        concurrency(results, langs, work)
    for lang in missing:
        if os.environ.get("TIDELOG_MATRIX_ALLOW_MISSING") != "1":
            results.add("setup", f"{lang} agent built (its binding's test script builds it)", False, "missing")
    failed = [r for r in results.rows if not r[2]]
    print("\nCross-language summary (writer -> reader):")
    for backend in BACKENDS:
        print(f"\n  {backend}: " + " ".join(f"{r:>7}" for r in langs))
        for w in langs:
            cells = []
            for r in langs:
                row = [x for x in results.rows if x[0] == "matrix" and x[1] == f"{w} -> {r} ({backend})"]
                cells.append("pass" if row and row[0][2] else "FAIL")
            print(f"  {w:>7} " + " ".join(f"{c:>7}" for c in cells))
    passed = len(results.rows) - len(failed)
    print(f"\nfixtures of earlier formats: {sum(1 for r in results.rows if r[0] == 'fixtures' and r[2])} passed of {sum(1 for r in results.rows if r[0] == 'fixtures')}")
    print(f"crash and concurrency checks: {sum(1 for r in results.rows if r[0] not in ('matrix', 'fixtures') and r[2])} passed of {sum(1 for r in results.rows if r[0] not in ('matrix', 'fixtures'))}")
    print(f"took {time.time() - started:.0f} s")
    print(f"matrix: {passed} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
