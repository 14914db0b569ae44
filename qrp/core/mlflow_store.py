"""The MLflow tracking store, shared by the study tracker (``qrp.studies.tracking``) and the one-run logger
(``qrp.finance.tracking``): opening an experiment, where its artifacts go, the provenance tags, and the key and value
rules MLflow imposes on parameters and metrics.

With a ``sqlite:///PATH`` store the artifacts go to ``mlartifacts/`` next to the database file (never into the
working directory); other stores keep their own default.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qrp.core.provenance import package_versions


def artifact_location(uri: str) -> str | None:
    """``mlartifacts/`` next to the database of a ``sqlite:///PATH`` store; None (the store's default) otherwise."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
    return None


def open_experiment(uri: str, experiment: str) -> tuple[Any, str]:
    """An ``MlflowClient`` on ``uri`` and the id of ``experiment`` (created when missing). The store is contacted
    here, so a bad URI fails at once: ``ValueError`` naming it. A missing mlflow raises ``ModuleNotFoundError``."""
    from mlflow.tracking import MlflowClient  # optional heavy dependency (the "tracking" extra)

    check_reachable(uri)
    try:
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        if found is None:
            return client, client.create_experiment(experiment, artifact_location=artifact_location(uri))
        if found.lifecycle_stage != "active":
            raise ValueError(f"experiment {experiment!r} is deleted; restore it or delete it for good")
        return client, found.experiment_id
    except Exception as exc:  # mlflow raises MlflowException, SQLAlchemy or requests errors for a bad store
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"--mlflow {uri!r}: cannot use this tracking store ({first})") from None


#: seconds to wait for an HTTP tracking server to accept a connection (MLflow's own client retries for minutes).
CONNECT_TIMEOUT = 5.0


def check_reachable(uri: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """``ValueError`` at once when an ``http(s)://`` tracking server does not accept a TCP connection within
    ``timeout`` seconds: MLflow's client retries with backoff for about four minutes (251 s measured on a closed
    port) before it reports anything. Other stores (sqlite, file) are not probed."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https"):
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValueError(f"--mlflow {uri!r}: invalid port") from None
    if not parts.hostname:
        raise ValueError(f"--mlflow {uri!r}: no host")
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"--mlflow {uri!r}: cannot connect to {parts.hostname}:{port} ({reason})") from None


def provenance_tags() -> dict[str, str]:
    """``qrp.version`` and ``qrp.commit`` (``qrp.core.provenance.package_versions``)."""
    versions = package_versions()
    return {"qrp.version": versions["qrp"], "qrp.commit": versions["qrp_git"]}


def param_value(value: Any) -> Any:
    """A parameter value MLflow stores as given: scalars unchanged, anything else as JSON."""
    return value if isinstance(value, (int, float, str, bool)) or value is None else json.dumps(value, default=str)


def metric_key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . /`` and spaces; anything else (strategy labels' parentheses,
    commas) becomes ``_``."""
    return re.sub(r"[^\w\-. /]", "_", name)


__all__ = ["artifact_location", "check_reachable", "metric_key", "open_experiment", "param_value", "provenance_tags"]
