"""Is an MLflow store usable? Checked before anything is written or trained, in seconds.

Left alone, MLflow finds out late and slowly: an HTTP server that does not answer is retried with
back-off for minutes, an SQLite file it cannot write is retried for minutes too, a missing folder
for an SQLite file is silently created, and an unusable artifact location fails only when the
first artifact is logged, after training. These checks ask the same questions directly - one
request with no retries, the file system's own answer - and raise `StoreError` with one line that
names the setting.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

HTTP_PROBE_SECONDS = 8
SQLITE_HEADER = b"SQLite format 3\x00"


class StoreError(RuntimeError):
    """The tracking store or artifact location cannot be used; the message names the setting."""


def check_store(uri: str) -> None:
    """Raise StoreError unless `uri` (an absolute tracking URI) can be read and written."""
    scheme = urlsplit(uri).scheme
    if scheme == "sqlite":
        _check_sqlite(uri)
    elif scheme in ("http", "https"):
        _check_server(uri)
    elif scheme in ("", "file"):
        _check_folder(_path(uri), f"tracking.uri={uri}")
    else:
        _check_scheme(uri, scheme)


def _check_scheme(uri: str, scheme: str) -> None:
    """A store of another kind: one for which MLflow (or an installed MLflow plugin) has a
    tracking store. MLflow's own error comes as a traceback from deep inside the first call;
    its registry of stores (no public way to ask it) answers at once."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry as stores

    try:
        stores.get_store_builder(uri)
    except MlflowException:
        known = ", ".join(f"{s}://" for s in sorted(stores._registry) if s)
        raise StoreError(
            f"tracking.uri={uri}: MLflow has no tracking store for the scheme '{scheme}'; use "
            f"an SQLite file (sqlite:////abs/path/mlflow.db), a folder, or one of: {known}."
        ) from None


def check_store_to_read(uri: str) -> None:
    """`check_store`, and for an SQLite store that its file exists: a command that only reads
    runs never creates an empty store where it was started. Raises StoreError."""
    check_store(uri)
    database = sqlite_path(uri)
    if database is not None and not database.is_file():
        raise StoreError(f"no MLflow store at {uri}; name the store with --uri")


def check_artifact_location(location: str | None) -> None:
    """Raise StoreError unless artifacts can be written at `location` (None: the server's)."""
    if location is None:
        return
    setting = f"tracking.artifact_location={location}"
    scheme = urlsplit(location).scheme
    if scheme in ("", "file"):
        _check_folder(_path(location), setting)
        return
    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    try:
        get_artifact_repository(location)
    except MlflowException as error:
        raise StoreError(f"{setting}: {error.message}") from None


def _path(uri: str) -> Path:
    parts = urlsplit(uri)
    return Path(url2pathname(parts.path)) if parts.scheme == "file" else Path(uri)


def sqlite_path(uri: str) -> Path | None:
    """The database file of an `sqlite:` URI; None for an in-memory database or another URI."""
    if not uri.startswith("sqlite:"):
        return None
    database = uri.removeprefix("sqlite://").partition("?")[0]
    return None if database in ("", "/:memory:") else Path(database.removeprefix("/"))


def _check_sqlite(uri: str) -> None:
    setting = f"tracking.uri={uri}"
    path = sqlite_path(uri)
    if path is None:
        raise StoreError(
            f"{setting} keeps runs in memory only, and they vanish when addexp ends; "
            "give a file: sqlite:////abs/path/mlflow.db."
        )
    if not path.is_absolute():
        raise StoreError(f"{setting} is relative; addexp resolves it before checking it.")
    if not path.parent.is_dir():
        raise StoreError(
            f"{setting}: the folder {path.parent} does not exist; create it, or point "
            "tracking.uri at an SQLite file in an existing folder."
        )
    if path.exists():
        try:
            with path.open("r+b") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as error:
            raise StoreError(f"{setting}: the file cannot be written ({error.strerror}).") from None
        if header and header != SQLITE_HEADER:
            raise StoreError(f"{setting}: {path} is not an SQLite database.")
    _check_writable(path.parent, f"{setting} (SQLite writes its journal beside the file)")


def _check_folder(path: Path, setting: str) -> None:
    """A folder that exists and takes new files, or one whose parent does (created on use)."""
    if path.exists() and not path.is_dir():
        raise StoreError(f"{setting}: {path} is a file, not a folder.")
    folder = path if path.exists() else path.parent
    if not folder.is_dir():
        raise StoreError(
            f"{setting}: neither {path} nor the folder above it exists; create it or choose "
            "another location."
        )
    _check_writable(folder, setting)


def _check_writable(folder: Path, setting: str) -> None:
    """Create and delete a file in `folder`: the file system's own answer, for any user."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".addexp-check-"):
            pass
    except OSError as error:
        raise StoreError(
            f"{setting}: cannot create files in {folder} ({error.strerror})."
        ) from None


def _check_server(uri: str) -> None:
    """One request to the server's REST API, without MLflow's minutes of retries."""
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    setting = f"tracking.uri={uri}"
    try:
        response = http_request(
            get_default_host_creds(uri),
            "/api/2.0/mlflow/experiments/search",
            "GET",
            max_retries=0,
            timeout=HTTP_PROBE_SECONDS,
            raise_on_status=False,
            params={"max_results": 1},
        )
    except Exception as error:
        reason = _root_cause(error)
        raise StoreError(
            f"{setting}: no MLflow server answers there ({reason}); start one (mlflow server "
            "--host HOST --port PORT) or point tracking.uri at a running server."
        ) from None
    if response.status_code != 200:
        raise StoreError(
            f"{setting}: the server answered HTTP {response.status_code} to an experiment "
            "search; is it an MLflow tracking server, and may this user use it?"
        )


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    text = str(error).split("] ")[-1].strip() or type(error).__name__
    return text[:200]
