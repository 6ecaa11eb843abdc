"""Readers for the workflow's intermediate files that say which file is bad and how to rebuild it.

Every file under results/ is made by a Snakemake rule from the config and the files upstream
of it. A job killed while writing, a full disk or a bad copy can leave one truncated or
damaged; torch, numpy and pandas then fail deep inside their own code, with messages that name
neither the file nor the remedy. The readers here read the whole file (numpy's lazy .npz
archives included, so that damage is found here and not at a later array access) and turn any
failure into CorruptedIntermediate, whose message names the file, gives the underlying error in
one line and says how to rebuild it.

Formats: torch files (read_torch), numpy .npz archives (read_npz), CSV tables (read_table).
Rule scripts call exit_briefly_on_corrupted_intermediate() so that such a failure ends the job
with that message, in the rule's log and on the terminal, instead of a library traceback.
Files that the workflow cannot rebuild (downloads, user-supplied weights) are not read here.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

REBUILD = "it will be rebuilt, with everything computed from it."

# Longest underlying error message kept in CorruptedIntermediate's one-line summary.
_MAX_PROBLEM_CHARS = 200


class CorruptedIntermediate(RuntimeError):
    """An intermediate file is missing, empty, truncated or otherwise unreadable.

    Attributes: path (str, as given to the reader), problem (one line: what went wrong),
    missing (True when there is no file at all). str() is the whole message: the path, the
    problem and how to rebuild the file.
    """

    def __init__(self, path: str | os.PathLike, problem: str, missing: bool = False):
        # args hold every argument, so that the exception pickles and unpickles as it was made
        super().__init__(str(path), problem, missing)
        self.path, self.problem, self.missing = str(path), problem, missing

    def __str__(self) -> str:
        if self.missing:
            return f"{self.path} is missing ({self.problem}). Run `snakemake` again: {REBUILD}"
        return (f"{self.path} could not be read (truncated or corrupted: {self.problem}). "
                f"Delete it and run `snakemake` again: {REBUILD}")


def _one_line(error: BaseException) -> str:
    """'ErrorType: first non-empty line of its message', at most _MAX_PROBLEM_CHARS characters."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
    return text if len(text) <= _MAX_PROBLEM_CHARS else text[:_MAX_PROBLEM_CHARS - 3] + "..."


def _require_nonempty_file(path: Path) -> None:
    """Raises CorruptedIntermediate if `path` is missing, not a regular file, or empty."""
    if not path.exists():
        raise CorruptedIntermediate(path, "no such file", missing=True)
    if not path.is_file():
        raise CorruptedIntermediate(path, "not a regular file")
    if path.stat().st_size == 0:
        raise CorruptedIntermediate(path, "empty file, 0 bytes")


def read_torch(path: str | os.PathLike, **load_kwargs) -> Any:
    """torch.load(path, **load_kwargs) (e.g. map_location, weights_only, mmap).

    Raises CorruptedIntermediate, naming the path, if the file is missing, empty or cannot be
    loaded (a truncated zip archive, garbage bytes, a failed unpickling).
    """
    import torch  # here, so that scripts reading only tables do not pay for importing torch

    path = Path(path)
    _require_nonempty_file(path)
    try:
        return torch.load(path, **load_kwargs)
    except MemoryError:
        raise  # a full machine is not a damaged file
    except Exception as err:
        raise CorruptedIntermediate(path, _one_line(err)) from err


def read_npz(path: str | os.PathLike, allow_pickle: bool = False) -> dict[str, np.ndarray]:
    """Every array of a numpy .npz archive, read into memory: {name: array}.

    np.load reads an archive's members only when they are indexed, so a damaged member would
    otherwise surface later, far from here; every member is read (and its CRC checked) now.
    Raises CorruptedIntermediate, naming the path, if the file is missing, empty, not an .npz
    archive, or any member cannot be read.
    """
    path = Path(path)
    _require_nonempty_file(path)
    try:
        loaded = np.load(path, allow_pickle=allow_pickle)
    except MemoryError:
        raise
    except Exception as err:
        raise CorruptedIntermediate(path, _one_line(err)) from err
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # a bare .npy array, not an archive
        raise CorruptedIntermediate(path, f"not an .npz archive but a single {type(loaded).__name__}")
    try:
        with loaded:
            return {name: loaded[name] for name in loaded.files}
    except MemoryError:
        raise
    except Exception as err:
        raise CorruptedIntermediate(path, _one_line(err)) from err


def read_table(path: str | os.PathLike, **read_kwargs):
    """pandas.read_csv(path, **read_kwargs) -> DataFrame, for a table written by DataFrame.to_csv.

    to_csv ends every row, the last one included, with a line break; a file that does not end
    with one was cut off mid-row, which pandas would silently read as a short last row padded
    with NaN. (A file cut exactly at a row boundary cannot be told from a shorter table.)
    Raises CorruptedIntermediate, naming the path, if the file is missing, empty, cut off
    mid-row, or pandas cannot parse it (garbage bytes, undecodable text, ragged rows).
    """
    import pandas as pd  # here, so that importing this module stays cheap

    path = Path(path)
    _require_nonempty_file(path)
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) != b"\n":
            raise CorruptedIntermediate(path, "the last row is cut off: the file does not end with a line break")
    try:
        return pd.read_csv(path, **read_kwargs)
    except MemoryError:
        raise
    except Exception as err:
        raise CorruptedIntermediate(path, _one_line(err)) from err


def exit_briefly_on_corrupted_intermediate() -> None:
    """Make an uncaught CorruptedIntermediate end the process with its message, not a traceback.

    For rule scripts, whose stdout and stderr are redirected to the rule's log: the message is
    written to the log (sys.stderr at the time of failure) and to the process's original stderr
    (the terminal, or the cluster job's error file), so that a user sees what to rebuild without
    opening the log. The exit status is 1, as for any uncaught exception. Every other exception
    keeps the usual traceback. Installs a sys.excepthook; returns nothing.
    """
    previous = sys.excepthook

    def hook(kind, error, traceback):
        if not isinstance(error, CorruptedIntermediate):
            previous(kind, error, traceback)
            return
        streams = [sys.stderr]
        if sys.__stderr__ is not None and sys.__stderr__ is not sys.stderr:
            streams.append(sys.__stderr__)
        for stream in streams:
            print(f"Error: {error}", file=stream, flush=True)

    sys.excepthook = hook
