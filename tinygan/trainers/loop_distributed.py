"""The shared loop's ``--distributed`` side: joining the MPI job, threads per rank, agreeing on
errors, and what ranks other than 0 do instead of writing.

Rules (docs/scaling.md): every rank builds the same job and runs the same steps; only rank 0
writes (run folder, config.json, metrics.jsonl, checkpoints, pictures, progress bar, stdout);
the other ranks never touch the run folder -- the pictures they draw at an epoch's end (so that
their random streams advance exactly as rank 0's and one process's) go to a scratch folder that
is deleted at the end. An error during set-up is agreed on (every rank exits with it); one
during training on a single rank aborts the whole job (MPI_Abort), so that no rank waits for
ever in a collective; a rank killed by a signal makes ``mpiexec`` end the others.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import traceback

from .. import distributed
from ..cli import fail


def join(args, prog: str):
    """The Communicator for ``--distributed`` (threads set, the choice printed by rank 0), or an
    exit code when mpi4py or the MPI library is missing."""
    try:
        # --device cuda: NCCL through CuPy (untested on a GPU: tinygan/distributed/nccl.py)
        comm = distributed.init("nccl" if args.device == "cuda" else "mpi")
    except distributed.DistributedUnavailable as exc:
        return fail(prog, exc)
    if comm.rank != 0:
        sys.stdout = open(os.devnull, "w")      # one voice: rank 0's (errors still reach stderr)
    threads, reason = distributed.configure_threads(comm)
    chosen = comm.all_gather_object(threads)
    print(f"distributed: {comm.size} process(es) over {comm.backend.upper()}, threads per rank "
          f"{', '.join(map(str, chosen))} (rank 0: {reason}); sync BN "
          f"{'on' if args.sync_bn is not False else 'off'}", flush=True)
    return comm


def agree(comm, prog: str, error, code: int = 1):
    """Collective: None when no rank failed, else the exit code (rank 0 prints the first
    failing rank's message). ``error``: this rank's exception (or message) or None."""
    failures = comm.all_gather_object(None if error is None else (str(error), code))
    for rank, failure in enumerate(failures):
        if failure is not None:
            message, code = failure
            if comm.rank == 0:
                fail(prog, message if rank == 0 else f"rank {rank}: {message}")
            return code
    return None


def abort(comm, prog: str, error, code: int = 1):
    """A failure on one rank during training: say so, then end every rank of the job."""
    if isinstance(error, BaseException) and not isinstance(error, (KeyboardInterrupt, SystemExit)):
        message = str(error) or type(error).__name__
        if not isinstance(error, (OSError, RuntimeError, ValueError)):
            traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    else:
        message = str(error)
    fail(prog, f"rank {comm.rank} of {comm.size}: {message}; stopping every rank")
    sys.stderr.flush()
    comm.abort(code)
    return code


class NullMetrics:
    """metrics.jsonl on ranks other than 0: nothing is written."""

    def append(self, record: dict) -> None:
        pass

    def series(self, key: str) -> list:
        return []

    def close(self) -> None:
        pass


class Scratch:
    """The folder where a rank other than 0 draws its epoch pictures (deleted on close)."""

    def __init__(self, rank: int):
        self.path = None
        self.rank = rank

    def get(self):
        from pathlib import Path
        if self.path is None:
            self.path = Path(tempfile.mkdtemp(prefix=f"tinygan-rank{self.rank}-"))
        return self.path

    def close(self) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
