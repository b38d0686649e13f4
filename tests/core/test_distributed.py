from wattprint import Tracker
from wattprint.core.distributed import rank_info


def test_single_process_is_rank_zero_of_one():
    info = rank_info({})
    assert (info.rank, info.local_rank, info.world_size) == (0, 0, 1)
    assert info.measures_host and not info.distributed


def test_torchrun_variables():
    info = rank_info({"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2"})
    assert (info.rank, info.local_rank, info.world_size, info.local_world_size) == (3, 1, 4, 2)
    assert info.distributed and not info.measures_host


def test_slurm_job_step_variables_and_malformed_values():
    step = {"SLURM_PROCID": "2", "SLURM_LOCALID": "0", "SLURM_STEP_NUM_TASKS": "4", "SLURM_STEP_TASKS_PER_NODE": "2(x2)"}
    info = rank_info(step)
    assert (info.rank, info.local_rank, info.world_size, info.local_world_size) == (2, 0, 4, 2)
    assert rank_info({"RANK": "x", "WORLD_SIZE": ""}).rank == 0


def test_a_slurm_batch_script_is_one_process_whatever_ntasks_says():
    # sbatch --ntasks=4 running one process (DataParallel, device_map="auto") uses every GPU.
    info = rank_info({"SLURM_NTASKS": "4", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NTASKS_PER_NODE": "4"})
    assert not info.distributed and info.measures_host


def test_without_a_local_rank_each_process_measures_its_node():
    # Kubeflow's PyTorchJob: one pod per node with RANK and WORLD_SIZE only.
    assert rank_info({"RANK": "1", "WORLD_SIZE": "2"}).measures_host
    # Where the node size is known, the local rank follows from the rank.
    assert rank_info({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2"}).local_rank == 1


def test_lightning_subprocess_launcher_sets_no_rank():
    # NODE_RANK, LOCAL_RANK and WORLD_SIZE only: the global rank is derived for the row labels.
    info = rank_info({"NODE_RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "2"})
    assert (info.rank, info.local_rank, info.world_size) == (3, 1, 4)
    assert rank_info({"NODE_RANK": "0", "LOCAL_RANK": "1", "WORLD_SIZE": "2"}).rank == 1


def test_the_processes_of_one_job_derive_one_run_id_from_the_launcher(monkeypatch):
    import itertools

    from wattprint.core import distributed
    from wattprint.testing import FakeClock, FakeSensor

    def started_in_a_new_process(env):
        monkeypatch.setattr(distributed, "_runs_started", itertools.count())
        clock = FakeClock()
        tracker = Tracker(sensors=[FakeSensor("gpu", clock=clock)], clock=clock, carbon_intensity=1,
                          output_file=None, environ=env)
        tracker.start()
        tracker.stop()
        return tracker.run_id

    torchrun = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "TORCHELASTIC_RUN_ID": "job-7"}
    assert started_in_a_new_process(torchrun) == started_in_a_new_process({**torchrun, "RANK": "1", "LOCAL_RANK": "1"})
    restarted = {**torchrun, "TORCHELASTIC_RESTART_COUNT": "1"}
    assert started_in_a_new_process(restarted) != started_in_a_new_process(torchrun)
    slurm = {"SLURM_PROCID": "0", "SLURM_STEP_NUM_TASKS": "2", "SLURM_JOB_ID": "42", "SLURM_STEP_ID": "0"}
    assert started_in_a_new_process(slurm) == started_in_a_new_process({**slurm, "SLURM_PROCID": "1"})
    # Without a name for the job (torchrun's default "none"), or in a single process: a fresh id.
    unnamed = {**torchrun, "TORCHELASTIC_RUN_ID": "none"}
    assert started_in_a_new_process(unnamed) != started_in_a_new_process(unnamed)
    single = {"TORCHELASTIC_RUN_ID": "job-7"}
    assert started_in_a_new_process(single) != started_in_a_new_process(single)
    # A job's successive runs in one process get successive ids.
    assert distributed.job_run_id(torchrun) != distributed.job_run_id(torchrun)
