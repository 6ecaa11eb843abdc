"""Resumable training state: periodic, atomic, checksummed snapshots keyed by the run's parameters.

Snakemake deletes a job's declared outputs before it starts, so the state lives elsewhere, in a
directory named by the hash of everything that determines the run (parameters and input data):
a rerun with other parameters can never pick up a stale state. Each file holds a magic line, the
SHA-256 of the payload and the payload (torch.save); it is written to a temporary file and
renamed, so a kill leaves either the old state or the new one. A file that fails its checksum
or does not load is reported and ignored, and training starts from scratch.
"""
from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path

import torch

from spatialpool.runtime import atomic_write

MAGIC = b"spatialpool-train-state v1\n"


def run_key(*parts) -> str:
    """A short stable hash of JSON-able parts (dict keys sorted) and raw bytes."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True).encode())
    return h.hexdigest()[:20]


class Checkpointer:
    def __init__(self, path: str | Path | None, interval_s: float, log=print):
        self.path = None if path is None else Path(path)
        self.interval_s, self.log = interval_s, log
        self.last = time.monotonic()
        self.stop_requested = False

    def request_stop(self, *_):
        """Signal handler (SIGTERM: SLURM's warning before a time-limit kill or pre-emption):
        save at the next epoch end, then exit."""
        self.stop_requested = True

    def load(self) -> dict | None:
        if self.path is None or not self.path.exists():
            return None
        raw = self.path.read_bytes()
        head, _, rest = raw.partition(b"\n")
        digest, _, payload = rest.partition(b"\n")
        if head + b"\n" != MAGIC or hashlib.sha256(payload).hexdigest().encode() != digest:
            self.log(f"training state {self.path} is corrupted (checksum mismatch): ignoring it, "
                     "starting from scratch")
            return None
        try:
            state = torch.load(io.BytesIO(payload), weights_only=False)
        except Exception as err:  # a valid checksum over an unreadable payload: written by something else
            self.log(f"training state {self.path} does not load ({err}): starting from scratch")
            return None
        self.log(f"resuming from {self.path} at step {state['step']}")
        return state

    def due(self) -> bool:
        return self.path is not None and (
            self.stop_requested or time.monotonic() - self.last >= self.interval_s)

    def save(self, state: dict) -> None:
        buf = io.BytesIO()
        torch.save(state, buf)
        payload = buf.getvalue()
        atomic_write(self.path, lambda f: f.write(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload))
        self.last = time.monotonic()
        self.log(f"saved training state at step {state['step']} to {self.path}")
        if self.stop_requested:
            self.log("stopping on request (SIGTERM); a rerun resumes from the saved state")
            raise SystemExit(143)

    def clear(self) -> None:
        if self.path is not None and self.path.exists():
            self.path.unlink()
