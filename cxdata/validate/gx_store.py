"""Great Expectations' state on disk: an in-memory context whose only files are results and data docs.

Suites, validation definitions and datasources live in an ephemeral context
built once per process and docs folder, so no suite or YAML file is needed to
validate and none can be left half-written. Two stores reach the disk, under
``<docs_dir>/gx/uncommitted``: validation results (kept so the data docs list
the last runs) and the data docs site. Both write through
`AtomicFilesystemStoreBackend`: a temporary file in the target's folder,
fsynced, then moved over the target, so a killed process leaves the old file or
the new one, never a truncated one. A file that is still unreadable (written by
an older version, or damaged on disk) is treated as missing: it is removed and
rebuilt by the next run.

Crash points for recovery tests fire halfway through such a write, before the
file is in place: ``gx:suite_write`` while a suite's validation result is
written, ``gx:docs_write`` while a data docs page or asset is.

This module imports great_expectations at the top (the backend subclasses one
of its classes), so it is imported only where a validation runs.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from great_expectations.data_context.store.tuple_store_backend import TupleFilesystemStoreBackend
from great_expectations.exceptions import InvalidKeyError
from great_expectations.render.view import DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from cxdata.errors import OutputError
from cxdata.faults import crash_point
from cxdata.validate.gx import docs_index
from cxdata.validate.offline_docs import offline_page, static_index

TEMP_SUFFIX = ".cxdata-tmp"
# A name already taken (a planted link included) is never opened or followed.
_NO_LINK = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | _NO_LINK
RESULTS_CRASH, DOCS_CRASH = "gx:suite_write", "gx:docs_write"

_contexts: dict[Path, Any] = {}
_contexts_lock = threading.Lock()


def write_atomic(path: Path, data: bytes, crash: str | None = None) -> None:
    """Replace ``path`` with ``data``: readers and later runs see the old bytes or the new, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    # 0600: results and data docs list sample failing values, which can be email addresses or phone numbers.
    handle = os.open(temp, _NEW_FILE, 0o600)
    try:
        with os.fdopen(handle, "wb") as out:
            half = len(data) // 2
            out.write(data[:half])
            if crash is not None:
                out.flush()  # a kill here leaves a partial temporary file, as a real crash would
                crash_point(crash)
            out.write(data[half:])
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk; Windows cannot open a folder for this.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicFilesystemStoreBackend(TupleFilesystemStoreBackend):
    """GX's filesystem store backend with atomic writes and unreadable files read as missing."""

    def __init__(self, *args: Any, crash_name: str = DOCS_CRASH, **kwargs: Any) -> None:
        self._crash_name = crash_name
        super().__init__(*args, **kwargs)

    def _path(self, key: Any) -> Path:
        key = key if isinstance(key, tuple) else key.to_tuple()
        return Path(self.full_base_directory) / self._convert_key_to_filepath(key)

    def _set(self, key: Any, value: Any, **kwargs: Any) -> str:
        path = self._path(key)
        value = self._offline(path, value)
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        # The static assets are copied on every docs build; unchanged files are left alone.
        if not (path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data):
            write_atomic(path, data, self._crash_name)
        return str(path)

    def _offline(self, path: Path, value: Any) -> Any:
        # data docs pages must render without the network (cxdata.validate.offline_docs)
        if path.suffix != ".html" or not isinstance(value, str):
            return value
        site = Path(self.full_base_directory)
        if path == site / "index.html":
            return static_index(site, site.parent.parent / "validations")
        return offline_page(value)

    def _get(self, key: Any) -> str:
        try:
            contents = super()._get(key)
        except UnicodeDecodeError:  # cut inside a multi-byte character
            contents = ""
        if not _readable(self._path(key), contents, key == self.STORE_BACKEND_ID_KEY):
            _drop(self._path(key), Path(self.full_base_directory))
            raise InvalidKeyError(f"unreadable store file {self._path(key).name}; treated as missing")
        return contents

    def remove_key(self, key: Any) -> bool:
        path = self._path(key)
        found = path.is_file()
        _drop(path, Path(self.full_base_directory))
        return found

    def list_keys(self, prefix: tuple = ()) -> list[tuple]:
        return [key for key in super().list_keys(prefix) if not str(key[-1]).endswith(TEMP_SUFFIX)]


class _CompiledTemplates(BytecodeCache):
    """GX's page templates compiled once per process (keyed by name and checksummed by source by jinja)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code


_TEMPLATES = _CompiledTemplates()


class CompiledPageView(DefaultJinjaPageView):
    """GX's page view, with its templates compiled once per process instead of once per docs build.

    GX builds a new view, and so a new jinja environment, for every docs build: without a shared bytecode
    cache each validation's page would parse and compile its ~20 templates again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _TEMPLATES


def _readable(path: Path, contents: str, is_backend_id: bool) -> bool:
    if not contents.strip():
        return False
    if is_backend_id:
        prefix = TupleFilesystemStoreBackend.STORE_BACKEND_ID_PREFIX
        try:
            uuid.UUID(contents.removeprefix(prefix).strip())
        except ValueError:
            return False
        return contents.startswith(prefix)
    if path.suffix == ".json":
        try:
            json.loads(contents)
        except ValueError:
            return False
    return True


def _drop(path: Path, root: Path) -> None:
    # The file and the run folders it leaves empty (GX's own clean-up never removes them).
    path.unlink(missing_ok=True)
    parent = path.parent
    while parent != root and parent.is_relative_to(root) and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _sweep(folder: Path) -> None:
    # Temporary files of writes a kill interrupted; called under the folder's lock, so no write is in progress.
    for temp in list(folder.rglob(f"*{TEMP_SUFFIX}")) if folder.is_dir() else ():
        _drop(temp, folder)


def _build(root: Path) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    uncommitted = root / "gx" / "uncommitted"
    backend = {"module_name": __name__, "class_name": AtomicFilesystemStoreBackend.__name__}
    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    stores[defaults.validation_results_store_name] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {
            **backend,
            "base_directory": str(uncommitted / "validations"),
            "crash_name": RESULTS_CRASH,
        },
    }
    site = {
        "class_name": "SiteBuilder",
        "store_backend": {**backend, "base_directory": str(docs_index(root).parent), "crash_name": DOCS_CRASH},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        # Suites are in memory, so a suite page would list only this process's tables; each validation page
        # shows its suite's expectations with their results.
        "site_section_builders": {
            "expectations": "None",
            "profiling": "None",
            "validations": {"view": {"module_name": __name__, "class_name": CompiledPageView.__name__}},
        },
    }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites={"local_site": site},
        # No usage statistics leave the machine, and no progress bars clutter Dagster's logs.
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@contextmanager
def session(docs_dir: Path) -> Iterator[Any]:
    """This process's GX context for ``docs_dir``, held under a file lock other processes also take."""
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch under ~1 GB by hashing all its rows, a marker nothing here reads
    # that took half of a 10M-row validation; a threshold of 0 skips it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    root = docs_dir.resolve()
    with _locked(root):
        _sweep(root / "gx" / "uncommitted")
        with _contexts_lock:
            if root not in _contexts:
                _contexts[root] = _build(root)
            context = _contexts[root]
        yield context


@contextmanager
def _locked(docs_dir: Path) -> Iterator[None]:
    # Several processes may validate into one folder: the result pruning and the docs index are per folder.
    docs_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: one process at a time is the user's business there
        yield
        return
    # Opened without truncating and without following a link: a link planted as .lock must not empty its target.
    lock = docs_dir / ".lock"
    try:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT | _NO_LINK, 0o600)
    except OSError as exc:
        raise OutputError(f"cannot open the validation lock {str(lock)!r}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)
