"""Two-process ``torchrun`` HF Trainer run (gloo, CPU) with fake per-rank devices on a fake clock.

Run by tests/integrations/test_ddp.py as
``python -m torch.distributed.run --nproc_per_node=2 hf_ddp.py OUT_DIR``. Each rank has a fake
GPU of ``100 x (rank + 1)`` W; local rank 0 also has the host's fake CPU (20 W) and RAM (5 W),
as host energy is measured once per node. Every optimizer step moves the clock 1 s, so the
expected sums are exact. Each rank dumps its own figures and its log_history.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from wattprint import Tracker
from wattprint.core.carbon import StaticIntensity, custom_intensity
from wattprint.integrations.transformers import EmissionsCallback
from wattprint.testing import FakeClock, FakeSensor


class Tick(TrainerCallback):
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock

    def on_step_end(self, args, state, control, **kwargs):
        self.clock.advance(1.0)


class Probe(TrainerCallback):
    """After EmissionsCallback: keeps this rank's own share of every epoch."""

    def __init__(self, emissions: EmissionsCallback) -> None:
        self.emissions = emissions
        self.epochs: list[dict] = []

    def on_epoch_end(self, args, state, control, **kwargs):
        local = self.emissions._run.last_local
        self.epochs.append({"energy_kwh_by_domain": dict(local.energy_kwh_by_domain), "co2_kg": local.co2_kg})


def main() -> None:
    out = Path(sys.argv[1])
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    clock = FakeClock()
    sensors = [FakeSensor("gpu", power_w=100.0 * (rank + 1), clock=clock)]
    if local_rank == 0:
        sensors += [FakeSensor("cpu", power_w=20.0, clock=clock, method="estimated"),
                    FakeSensor("ram", power_w=5.0, clock=clock, method="estimated")]
    tracker = Tracker("ddp", sensors=sensors, clock=clock, intensity=StaticIntensity(custom_intensity(100.0)),
                      output_file=out / "wattprint.csv")
    emissions = EmissionsCallback(tracker=tracker)
    probe = Probe(emissions)

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=100, n_positions=32, n_embd=32, n_layer=1, n_head=2))
    g = torch.Generator().manual_seed(0)
    data = []
    for _ in range(32):
        ids = torch.randint(0, 100, (16,), generator=g)
        data.append({"input_ids": ids, "labels": ids})
    args = TrainingArguments(output_dir=str(out / "hf"), num_train_epochs=2, per_device_train_batch_size=8,
                             logging_strategy="steps", logging_steps=1, include_num_input_tokens_seen=True, save_strategy="no", report_to="none", use_cpu=True,
                             ddp_backend="gloo", disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[Tick(clock), emissions, probe])
    trainer.train()
    dump = {
        "rank": rank,
        "local_rank": local_rank,
        "world_size": args.world_size,
        "epochs": probe.epochs,
        "log_history": trainer.state.log_history,
        "run_id": emissions.tracker.run_id,
    }
    (out / f"rank{rank}.json").write_text(json.dumps(dump))
    # The Trainer leaves the process group open; torch's gloo can abort at interpreter exit
    # ("terminate called without an active exception") unless it is torn down first.
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    # Even so, under load a gloo thread can still abort the interpreter's teardown (seen about once
    # in 20 full runs). Everything is written and nothing of wattprint is left open (the callback
    # ended its run), so skip the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
