import hashlib
import os
import uuid

import pytest

import tidelog


def postgres_uri():
    """The test server's URI (``tests/postgres.sh`` sets ``TIDELOG_TEST_POSTGRES``), or None.

    With ``CI=true`` the PostgreSQL variants run even without a server, and fail (as the core's do).
    """
    return os.environ.get("TIDELOG_TEST_POSTGRES") or None


def _postgres_enabled():
    return postgres_uri() is not None or os.environ.get("CI") == "true"


BACKENDS = ["lmdb", "files", "memory"] + (["postgres"] if _postgres_enabled() else [])

# Schemas are named after the test's path plus this run's salt: reopening a path finds its
# journal, and a rerun against the same server starts afresh.
_RUN = uuid.uuid4().hex[:8]


def location(path, backend):
    """Where a test journal at ``path`` lives on ``backend``: the path itself, or for
    PostgreSQL the test server with a schema of its own named after ``path``."""
    if backend != "postgres":
        return path
    uri = postgres_uri()
    if uri is None:
        pytest.fail("CI=true but TIDELOG_TEST_POSTGRES is unset: run the tests through tests/postgres.sh")
    schema = "py_" + _RUN + "_" + hashlib.sha1(str(path).encode()).hexdigest()[:16]
    return f"{uri}{'&' if '?' in uri else '?'}tidelog_schema={schema}"


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def open_journal(tmp_path, backend):
    """Opens journals on the parametrized backend; closes them after the test."""
    opened = []

    def _open(path=None, **options):
        options.setdefault("backend", backend)
        options.setdefault("sync", "never")
        journal = tidelog.Journal.open(location(path or tmp_path / "journal", backend), **options)
        opened.append(journal)
        return journal

    yield _open
    for journal in opened:
        journal.close()


@pytest.fixture
def journal(open_journal):
    return open_journal()
