"""Who am I in a distributed job, and should I measure the host?

Read from the environment variables the common launchers set (torchrun / torch.distributed,
SLURM, Open MPI, MPICH), so it works before any framework has initialised a process group.
In a multi-process job every rank measures its own GPU(s) and only local rank 0 of each node
measures host energy (CPU, RAM), so summing the ranks' figures counts each node's host once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# First variable present wins; torchrun's names come first because they are the most specific.
_RANK_VARS = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
_LOCAL_RANK_VARS = ("LOCAL_RANK", "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")
_WORLD_SIZE_VARS = ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
_LOCAL_WORLD_SIZE_VARS = ("LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE", "OMPI_COMM_WORLD_LOCAL_SIZE")


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
    """Detect rank, local rank and world sizes from launcher environment variables."""
    env = os.environ if environ is None else environ
    world = max(1, _first_int(env, _WORLD_SIZE_VARS, 1))
    rank = _first_int(env, _RANK_VARS, 0)
    local_rank = _first_int(env, _LOCAL_RANK_VARS, rank if world > 1 else 0)
    local_world = max(1, _first_int(env, _LOCAL_WORLD_SIZE_VARS, world))
    return RankInfo(rank=rank, local_rank=local_rank, world_size=world, local_world_size=local_world)
