"""Who am I in a distributed job, and should I measure the host?

Read from the environment variables the common launchers set (torchrun / torch.distributed,
SLURM, Open MPI, MPICH), so it works before any framework has initialised a process group.
In a multi-process job every rank measures its own GPU(s) and only local rank 0 of each node
measures host energy (CPU, RAM), so summing the ranks' figures counts each node's host once.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass

# First variable present wins; torchrun's names come first because they are the most specific.
# SLURM: only a job step (srun) runs one process per task; SLURM_NTASKS is also set in a batch
# script that runs a single process using every GPU, so the step's own count is read instead.
_RANK_VARS = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
_LOCAL_RANK_VARS = ("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")
_WORLD_SIZE_VARS = ("WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_LOCAL_WORLD_SIZE_VARS = ("LOCAL_WORLD_SIZE", "SLURM_STEP_TASKS_PER_NODE", "OMPI_COMM_WORLD_LOCAL_SIZE")
# Lightning's and torchrun's node index, for a global rank where RANK itself is not set.
_NODE_RANK_VARS = ("NODE_RANK", "GROUP_RANK")


@dataclass(frozen=True)
class RankInfo:
    """This process's place in the job. A plain single process is rank 0 of 1."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def measures_host(self) -> bool:
        """True on the one process per node that measures CPU and RAM."""
        return self.local_rank == 0


def _first_int(environ: Mapping[str, str], names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = environ.get(name)
        if value is None or value.strip() == "":
            continue
        try:
            # SLURM_NTASKS_PER_NODE can read "2(x3)"; the leading number is the per-node count.
            return int(value.split("(")[0])
        except ValueError:
            continue  # a malformed launcher variable must not stop training
    return default


def rank_info(environ: Mapping[str, str] | None = None) -> RankInfo:
    """Detect rank, local rank and world sizes from launcher environment variables.

    A missing local rank is ``rank % local world size`` when the latter is known, else 0: a
    process that cannot tell is counted as its node's host measurer (one process per node, as
    Kubeflow's PyTorchJob runs it) rather than leaving a node's CPU and RAM unmeasured.
    """
    env = os.environ if environ is None else environ
    world = max(1, _first_int(env, _WORLD_SIZE_VARS, 1))
    local_world = _first_int(env, _LOCAL_WORLD_SIZE_VARS, 0)
    local_rank = _first_int(env, _LOCAL_RANK_VARS, -1)
    rank = _first_int(env, _RANK_VARS, -1)
    if rank < 0:
        # Lightning's subprocess launcher sets NODE_RANK and LOCAL_RANK but no RANK.
        node = _first_int(env, _NODE_RANK_VARS, 0)
        rank = node * local_world + max(local_rank, 0) if local_world > 0 else max(local_rank, 0) if node == 0 else 0
    if local_rank < 0:
        local_rank = rank % local_world if local_world > 0 else 0
    return RankInfo(rank=rank, local_rank=local_rank, world_size=world, local_world_size=max(1, local_world or world))


_RUN_NAMESPACE = "6f1c52f8-3a58-4d55-9a2b-8f1e0c2d7a41"
_runs_started = itertools.count()


def job_run_id(environ: Mapping[str, str] | None = None) -> str | None:
    """A run id that every process of one distributed job derives alike, or None.

    From the launcher's own name for the job: torchrun's ``TORCHELASTIC_RUN_ID`` (with its
    restart count; ``none``, torchrun's default without ``--rdzv-id`` or ``--standalone``, names
    nothing) or a SLURM job step (``SLURM_JOB_ID`` and ``SLURM_STEP_ID``). Each call counts one
    more run started in this process: the processes of a job run the same code, so the n-th run
    of each gets the same id, and a job's successive runs get different ones.
    """
    env = os.environ if environ is None else environ
    torchrun = env.get("TORCHELASTIC_RUN_ID", "").strip()
    slurm_job, slurm_step = env.get("SLURM_JOB_ID", "").strip(), env.get("SLURM_STEP_ID", "").strip()
    if torchrun and torchrun != "none":
        job = f"torchelastic:{torchrun}:{env.get('TORCHELASTIC_RESTART_COUNT', '0')}"
    elif slurm_job and slurm_step:
        job = f"slurm:{slurm_job}.{slurm_step}"
    else:
        return None
    import uuid  # deferred: only distributed jobs derive their id (it imports platform and more)

    return str(uuid.uuid5(uuid.UUID(_RUN_NAMESPACE), f"{job}#{next(_runs_started)}"))


def random_run_id() -> str:
    """A random (version 4) UUID as text, as ``str(uuid.uuid4())`` gives it, without importing uuid."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
