"""Every exception class, raised by a real trigger; argument checking."""

import os
import re
import subprocess
import uuid

import pytest

import tidelog
from tidelog import _tidelog


def test_every_core_error_kind_maps_to_its_own_exception_class():
    kinds = _tidelog._error_kinds()
    assert len(kinds) >= 9
    classes = set()
    for code, class_name in kinds:
        cls = getattr(tidelog, class_name)
        assert issubclass(cls, tidelog.TidelogError), class_name
        assert cls.code == code
        assert class_name in tidelog.__all__
        classes.add(cls)
    assert len(classes) == len(kinds), "two kinds share a class"
    assert len({code for code, _ in kinds}) == len(kinds)


def test_closed_error(tmp_path):
    journal = tidelog.Journal.open(tmp_path / "j")
    journal.close()
    with pytest.raises(tidelog.ClosedError) as info:
        journal.append("p", b"x")
    assert info.value.code == "CLOSED"
    with pytest.raises(tidelog.ClosedError):
        journal.next_global_offset()


# Not postgres: several writers share a database by design (no lock file).
@pytest.mark.parametrize("backend", ["lmdb", "files"])
def test_locked_error(tmp_path, backend):
    with tidelog.Journal.open(tmp_path / "j", backend=backend):
        with pytest.raises(tidelog.LockedError) as info:
            tidelog.Journal.open(tmp_path / "j", backend=backend)
        assert info.value.path.endswith("LOCK")
    # Released on close.
    tidelog.Journal.open(tmp_path / "j", backend=backend).close()


def test_locked_by_another_process(tmp_path):
    path = tmp_path / "j"
    with tidelog.Journal.open(path):
        code = f"import tidelog\ntry:\n    tidelog.Journal.open({str(path)!r})\nexcept tidelog.LockedError:\n    print('locked')\n"
        out = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert out.stdout.strip() == "locked", out.stderr


def test_sequence_conflict_error(journal):
    journal.append("p", [b"1", b"2"])
    [err] = journal.write([("p", 2, b"dup")])
    assert isinstance(err, tidelog.SequenceConflictError)
    assert (err.expected, err.actual, err.persistence_id) == (3, 2, "p")
    assert "expected sequence nr 3" in str(err)


def test_invalid_argument_errors(tmp_path, journal):
    for call in [
        lambda: journal.append("", b"x"),
        lambda: journal.append("p\x00", b"x"),
        lambda: journal.append("p", []),
        lambda: journal.append("p", tidelog.NewEvent(b"x", tags=[""])),
        lambda: journal.read(""),
        lambda: journal.events_by_tag(""),
    ]:
        with pytest.raises(tidelog.InvalidArgumentError) as info:
            call()
        assert isinstance(info.value, ValueError)
        assert info.value.code == "INVALID_ARGUMENT"
    small = tidelog.Journal.open(tmp_path / "small", backend="memory", max_event_bytes=100)
    with pytest.raises(tidelog.InvalidArgumentError, match="exceeds"):
        small.append("p", b"x" * 1000)
    small.close()


def test_corrupt_error_lmdb(tmp_path):
    path = tmp_path / "j"
    with tidelog.Journal.open(path) as journal:
        journal.append("p", [b"first-event-payload", b"UNIQUE-MARKER-PAYLOAD"])
    data_file = path / "lmdb" / "data.mdb"
    data = bytearray(data_file.read_bytes())
    at = data.find(b"UNIQUE-MARKER-PAYLOAD")
    assert at >= 0
    data[at + 3] ^= 0x01
    data_file.write_bytes(bytes(data))
    with tidelog.Journal.open(path) as journal:
        assert len(journal.read("p", 1, 1)) == 1
        with pytest.raises(tidelog.CorruptError) as info:
            journal.read("p")
        assert info.value.code == "CORRUPT"


def test_corrupt_error_files_before_the_tail(tmp_path):
    path = tmp_path / "j"
    with tidelog.Journal.open(path, backend="files") as journal:
        for i in range(10):
            journal.append("p", b"PAYLOAD-%03d" % i)
    [segment] = [p for p in (path / "segments").iterdir() if p.is_file() and p.stat().st_size > 100]
    data = bytearray(segment.read_bytes())
    at = data.find(b"PAYLOAD-003")
    data[at + 2] ^= 0x04
    segment.write_bytes(bytes(data))
    with pytest.raises(tidelog.CorruptError) as info:
        tidelog.Journal.open(path, backend="files")
    assert info.value.path == str(segment)
    assert info.value.offset > 0


def test_unsupported_format_error(tmp_path):
    path = tmp_path / "j"
    tidelog.Journal.open(path).close()
    fmt = path / "FORMAT"
    # A new journal is written in the newest format this library supports.
    supported = int(re.search(r"format = (\d+)", fmt.read_text()).group(1))
    fmt.write_text(re.sub(r"format = \d+", "format = 999", fmt.read_text()))
    with pytest.raises(tidelog.UnsupportedFormatError) as info:
        tidelog.Journal.open(path)
    assert (info.value.found, info.value.supported) == (999, supported)


def test_storage_io_error(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"x")
    with pytest.raises(tidelog.StorageIOError) as info:
        tidelog.Journal.open(not_a_dir / "j")
    assert info.value.code == "IO"


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 1 MiB tmpfs (needs root and mount permission; skipped otherwise)."""
    mount_point = tmp_path / f"tiny-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_storage_full_error(tiny_filesystem):
    journal = tidelog.Journal.open(tiny_filesystem / "j", backend="files", sync="always")
    with pytest.raises(tidelog.StorageFullError) as info:
        for _ in range(1000):
            journal.append("p", b"x" * 64 * 1024)
    assert info.value.code == "STORAGE_FULL"
    assert journal.highest_sequence_nr("p") < 1000
    journal.close()


def test_argument_types_are_checked(journal):
    with pytest.raises(TypeError, match="str"):
        journal.append("p", "text, not bytes")
    with pytest.raises(TypeError, match="int"):
        journal.append("p", [b"ok", 42])
    with pytest.raises(TypeError):
        journal.append(42, b"x")
    with pytest.raises(TypeError):
        journal.append("p", 3.5)
    with pytest.raises(TypeError):
        journal.read("p", "1")
    with pytest.raises(ValueError, match="from_sequence_nr"):
        journal.read("p", -1)
    with pytest.raises(ValueError, match="to_sequence_nr"):
        journal.delete_to("p", -5)
    with pytest.raises(TypeError):
        journal.write([("p", 1)])
    with pytest.raises(TypeError):
        journal.write(5)
    with pytest.raises(TypeError, match="tags"):
        tidelog.NewEvent(b"x", tags="cart")
    with pytest.raises(TypeError, match="payload"):
        tidelog.NewEvent("text")


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="backend"):
        tidelog.Journal.open(tmp_path / "a", backend="bogus")
    with pytest.raises(ValueError, match="sync"):
        tidelog.Journal.open(tmp_path / "b", sync="sometimes")
    with pytest.raises(ValueError, match="close_timeout"):
        tidelog.Journal.open(tmp_path / "c", close_timeout=-1)
    with pytest.raises(tidelog.InvalidArgumentError, match="max_batch_events"):
        tidelog.Journal.open(tmp_path / "d", max_batch_events=0)


@pytest.fixture
def failing_disk(tmp_path):
    """An ext4 filesystem whose device fails writeback: a loop device over a
    sparse 64 MiB image that lives on a 3 MiB tmpfs. Writes land in the page
    cache; fsync then fails with EIO once the tmpfs is full. Needs root,
    mount and loop devices; skipped otherwise."""
    backing = tmp_path / "backing"
    mount_point = tmp_path / "disk"
    backing.mkdir()
    mount_point.mkdir()
    cleanup = []

    def sh(*cmd):
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {result.stderr.strip()}")
        return result.stdout.strip()

    try:
        sh("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(backing))
        cleanup.append(["umount", "-l", str(backing)])
        image = backing / "disk.img"
        sh("truncate", "-s", "64M", str(image))
        sh("mkfs.ext4", "-q", "-F", str(image))
        loop = sh("losetup", "-f", "--show", str(image))
        cleanup.append(["losetup", "-d", loop])
        sh("mount", loop, str(mount_point))
        cleanup.append(["umount", "-l", str(mount_point)])
    except (RuntimeError, FileNotFoundError) as e:
        for cmd in reversed(cleanup):
            subprocess.run(cmd, capture_output=True)
        pytest.skip(f"cannot build a failing disk here: {e}")
    yield mount_point
    for cmd in reversed(cleanup):
        subprocess.run(cmd, capture_output=True)


def test_failed_fsync_poisons_the_journal(failing_disk):
    journal = tidelog.Journal.open(failing_disk / "j", backend="files", sync="always")
    with pytest.raises(tidelog.TidelogError) as first:
        for _ in range(200):
            journal.append("p", b"x" * 256 * 1024)
    # The failed flush itself is an I/O error (or a full device) ...
    assert isinstance(first.value, (tidelog.StorageIOError, tidelog.StorageFullError)), repr(first.value)
    # ... and from then on the journal refuses writes until reopened.
    with pytest.raises(tidelog.JournalFailedError) as info:
        journal.append("p", b"small")
    assert info.value.code == "FAILED"
    journal.close()


def _own_postgres_server():
    """A throwaway server of this test's own (``tests/postgres.sh start``), so stopping it
    disturbs no other test: ``(uri, stop)``."""
    ctl = os.environ.get("TIDELOG_TEST_POSTGRES_CTL")
    if not ctl:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but TIDELOG_TEST_POSTGRES_CTL is unset: run the tests through tests/postgres.sh")
        pytest.skip("needs tests/postgres.sh (TIDELOG_TEST_POSTGRES_CTL)")
    out = subprocess.run([ctl, "start"], check=True, capture_output=True, text=True).stdout
    env = dict(re.findall(r"^export (\w+)=(\S+)$", out, re.M))
    uri, data_dir = env["TIDELOG_TEST_POSTGRES"], env["TIDELOG_TEST_POSTGRES_DIR"]
    return uri, lambda: subprocess.run([ctl, "stop", data_dir], check=True, capture_output=True)


def test_a_stopped_postgres_server_fails_calls_with_a_retryable_database_error():
    uri, stop = _own_postgres_server()
    stopped = False
    try:
        journal = tidelog.Journal.open(uri + "?tidelog_schema=retry", sync="always")
        journal.append("p", b"stored")
        stop()
        stopped = True
        with pytest.raises(tidelog.DatabaseError) as info:
            journal.append("p", b"lost")
        err = info.value
        assert err.retryable is True
        assert err.code == "IO" and isinstance(err, tidelog.StorageIOError)
        password = uri.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
        assert password and password not in str(err)
        journal.close()
        # Opening with nobody listening is retryable too.
        with pytest.raises(tidelog.DatabaseError) as info:
            tidelog.Journal.open(uri + "?tidelog_schema=retry")
        assert info.value.retryable is True
    finally:
        if not stopped:
            stop()


def test_errors_that_a_retry_cannot_cure_are_not_retryable(tmp_path):
    with tidelog.Journal.open(tmp_path / "j") as journal:
        journal.append("p", b"x")
        [conflict] = journal.write([("p", 5, b"y")])
        assert isinstance(conflict, tidelog.SequenceConflictError)
        assert conflict.retryable is False
    with pytest.raises(tidelog.ClosedError) as info:
        journal.append("p", b"z")
    assert info.value.retryable is False
