from wattprint.core.distributed import rank_info


def test_single_process_is_rank_zero_of_one():
    info = rank_info({})
    assert (info.rank, info.local_rank, info.world_size) == (0, 0, 1)
    assert info.measures_host and not info.distributed


def test_torchrun_variables():
    info = rank_info({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2"})
    assert (info.rank, info.local_rank, info.world_size, info.local_world_size) == (3, 1, 4, 2)
    assert info.distributed and not info.measures_host


def test_slurm_variables_and_malformed_values():
    info = rank_info({"SLURM_PROCID": "2", "SLURM_LOCALID": "0", "SLURM_NTASKS": "4", "SLURM_NTASKS_PER_NODE": "2(x2)"})
    assert (info.rank, info.local_rank, info.world_size, info.local_world_size) == (2, 0, 4, 2)
    assert rank_info({"RANK": "x", "WORLD_SIZE": ""}).rank == 0
