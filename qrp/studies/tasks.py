"""A study's units of work: one ``Task`` per grid point (``build_tasks``), and the local workers' queue
(``Chunker``), which hands them out in chunks sized from the measured cost of each kind of grid point."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qrp.studies.grid import RunSpec
from qrp.studies.study import Study

#: seconds of work a local worker gets per message (chunks of cheap grid points; slow points go one by one).
CHUNK_SECONDS = 0.1
#: the most grid points in one chunk.
MAX_CHUNK = 256


@dataclass(frozen=True)
class Task:
    """What a worker needs for one grid point: the spec, its covariance and the study-level settings."""

    spec: RunSpec
    cov: pd.DataFrame
    cov_key: str
    baseline: str
    reference: str
    reference_max_qubits: int
    study: str
    config_hash: str
    kind: str = "refinement"


def build_tasks(study: Study, skip: set[str] = frozenset()) -> list[Task]:
    """Tasks of the study's grid points whose run_id is not in ``skip``, with their covariance matrices."""
    covs: dict[str, pd.DataFrame] = {}
    tasks = []
    for spec in study.runs:
        if spec.run_id in skip:
            continue
        key = json.dumps({"source": study.covariance.key, "n": spec.n_assets, **spec.instance}, sort_keys=True,
                         default=str)
        if key not in covs:
            covs[key] = study.covariance_matrix(spec.n_assets, spec.instance)
        tasks.append(Task(spec, covs[key], key, study.baseline, study.reference,
                          study.reference_max_qubits, study.name, study.config_hash, study.kind))
    return tasks


def cost_key(task: Task) -> str:
    """Grid points with the same key cost about the same (they differ only in seed or covariance instance)."""
    spec = task.spec
    return json.dumps([task.kind, spec.solver, spec.n_assets, spec.options, spec.run_args], sort_keys=True,
                      default=str)


class Chunker:
    """The local workers' queue: chunks of about ``CHUNK_SECONDS`` of work, from the measured seconds per grid
    point of each ``cost_key``. A grid lists its points solver by solver, so one size for all would send hundreds
    of slow points in one chunk after a run of cheap ones and leave the other workers idle at the end; a point
    of a key not yet measured goes alone (a probe). A point leaves the queue only once its chunk is submitted."""

    def __init__(self, tasks: Iterable[Task]) -> None:
        self.pending = deque(tasks)
        self.keys = {t.spec.run_id: cost_key(t) for t in self.pending}
        self.seconds: dict[str, float] = {}  # measured seconds per point, by key (the latest chunk's mean)

    def peek(self) -> list[Task]:
        """The next chunk (not yet taken off the queue)."""
        chunk, total = [], 0.0
        for task in self.pending:
            cost = self.seconds.get(self.keys[task.spec.run_id])
            if cost is None or len(chunk) == MAX_CHUNK or (chunk and total + cost > CHUNK_SECONDS):
                return chunk or [task]
            chunk.append(task)
            total += cost
        return chunk

    def take(self, chunk: list[Task]) -> None:
        for _ in chunk:
            self.pending.popleft()

    def give_back(self, chunk: list[Task]) -> None:
        self.pending.extendleft(reversed(chunk))

    def record(self, chunk: list[Task], seconds: list[float]) -> None:
        by_key: dict[str, list[float]] = {}
        for task, sec in zip(chunk, seconds, strict=True):
            by_key.setdefault(self.keys[task.spec.run_id], []).append(sec)
        self.seconds.update({key: max(float(np.mean(s)), 1e-6) for key, s in by_key.items()})


__all__ = ["CHUNK_SECONDS", "MAX_CHUNK", "Chunker", "Task", "build_tasks", "cost_key"]
