"""Every exception class, raised by a real trigger; argument checking."""

import os
import subprocess
import uuid

import pytest

import tidemark
from tidemark import _tidemark


def test_every_core_error_kind_maps_to_its_own_exception_class():
    kinds = _tidemark._error_kinds()
    assert len(kinds) >= 9
    classes = set()
    for code, class_name in kinds:
        cls = getattr(tidemark, class_name)
        assert issubclass(cls, tidemark.TidemarkError), class_name
        assert cls.code == code
        assert class_name in tidemark.__all__
        classes.add(cls)
    assert len(classes) == len(kinds), "two kinds share a class"
    assert len({code for code, _ in kinds}) == len(kinds)


def test_closed_error(tmp_path):
    journal = tidemark.Journal.open(tmp_path / "j")
    journal.close()
    with pytest.raises(tidemark.ClosedError) as info:
        journal.append("p", b"x")
    assert info.value.code == "CLOSED"


@pytest.mark.parametrize("backend", ["lmdb", "files"])
def test_locked_error(tmp_path, backend):
    with tidemark.Journal.open(tmp_path / "j", backend=backend):
        with pytest.raises(tidemark.LockedError) as info:
            tidemark.Journal.open(tmp_path / "j", backend=backend)
        assert info.value.path.endswith("LOCK")
    # Released on close.
    tidemark.Journal.open(tmp_path / "j", backend=backend).close()


def test_locked_by_another_process(tmp_path):
    path = tmp_path / "j"
    with tidemark.Journal.open(path):
        code = f"import tidemark\ntry:\n    tidemark.Journal.open({str(path)!r})\nexcept tidemark.LockedError:\n    print('locked')\n"
        out = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert out.stdout.strip() == "locked", out.stderr


def test_sequence_conflict_error(journal):
    journal.append("p", [b"1", b"2"])
    [err] = journal.write([("p", 2, b"dup")])
    assert isinstance(err, tidemark.SequenceConflictError)
    assert (err.expected, err.actual, err.persistence_id) == (3, 2, "p")
    assert "expected sequence nr 3" in str(err)


def test_invalid_argument_errors(tmp_path, journal):
    for call in [
        lambda: journal.append("", b"x"),
        lambda: journal.append("p\x00", b"x"),
        lambda: journal.append("p", []),
        lambda: journal.append("p", tidemark.NewEvent(b"x", tags=[""])),
        lambda: journal.read(""),
        lambda: journal.events_by_tag(""),
    ]:
        with pytest.raises(tidemark.InvalidArgumentError) as info:
            call()
        assert isinstance(info.value, ValueError)
        assert info.value.code == "INVALID_ARGUMENT"
    small = tidemark.Journal.open(tmp_path / "small", backend="memory", max_event_bytes=100)
    with pytest.raises(tidemark.InvalidArgumentError, match="exceeds"):
        small.append("p", b"x" * 1000)
    small.close()


def test_corrupt_error_lmdb(tmp_path):
    path = tmp_path / "j"
    with tidemark.Journal.open(path) as journal:
        journal.append("p", [b"first-event-payload", b"UNIQUE-MARKER-PAYLOAD"])
    data_file = path / "lmdb" / "data.mdb"
    data = bytearray(data_file.read_bytes())
    at = data.find(b"UNIQUE-MARKER-PAYLOAD")
    assert at >= 0
    data[at + 3] ^= 0x01
    data_file.write_bytes(bytes(data))
    with tidemark.Journal.open(path) as journal:
        assert len(journal.read("p", 1, 1)) == 1
        with pytest.raises(tidemark.CorruptError) as info:
            journal.read("p")
        assert info.value.code == "CORRUPT"


def test_corrupt_error_files_before_the_tail(tmp_path):
    path = tmp_path / "j"
    with tidemark.Journal.open(path, backend="files") as journal:
        for i in range(10):
            journal.append("p", b"PAYLOAD-%03d" % i)
    [segment] = [p for p in (path / "segments").iterdir() if p.is_file() and p.stat().st_size > 100]
    data = bytearray(segment.read_bytes())
    at = data.find(b"PAYLOAD-003")
    data[at + 2] ^= 0x04
    segment.write_bytes(bytes(data))
    with pytest.raises(tidemark.CorruptError) as info:
        tidemark.Journal.open(path, backend="files")
    assert info.value.path == str(segment)
    assert info.value.offset > 0


def test_unsupported_format_error(tmp_path):
    path = tmp_path / "j"
    tidemark.Journal.open(path).close()
    fmt = path / "FORMAT"
    fmt.write_text(fmt.read_text().replace("format = 1", "format = 999"))
    with pytest.raises(tidemark.UnsupportedFormatError) as info:
        tidemark.Journal.open(path)
    assert (info.value.found, info.value.supported) == (999, 1)


def test_storage_io_error(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"x")
    with pytest.raises(tidemark.StorageIOError) as info:
        tidemark.Journal.open(not_a_dir / "j")
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
    journal = tidemark.Journal.open(tiny_filesystem / "j", backend="files", sync="always")
    with pytest.raises(tidemark.StorageFullError) as info:
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
        tidemark.NewEvent(b"x", tags="cart")
    with pytest.raises(TypeError, match="payload"):
        tidemark.NewEvent("text")


def test_bad_options(tmp_path):
    with pytest.raises(ValueError, match="backend"):
        tidemark.Journal.open(tmp_path / "a", backend="bogus")
    with pytest.raises(ValueError, match="sync"):
        tidemark.Journal.open(tmp_path / "b", sync="sometimes")
    with pytest.raises(ValueError, match="close_timeout"):
        tidemark.Journal.open(tmp_path / "c", close_timeout=-1)
    with pytest.raises(tidemark.InvalidArgumentError, match="max_batch_events"):
        tidemark.Journal.open(tmp_path / "d", max_batch_events=0)
