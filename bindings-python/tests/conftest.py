import os

import pytest

import tidelog

BACKENDS = ["lmdb", "files", "memory"]


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
        journal = tidelog.Journal.open(path or tmp_path / "journal", **options)
        opened.append(journal)
        return journal

    yield _open
    for journal in opened:
        journal.close()


@pytest.fixture
def journal(open_journal):
    return open_journal()
