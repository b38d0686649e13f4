"""The HF callback's opt-in model card block, written into the Trainer's output_dir."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
yaml = pytest.importorskip("yaml")

from huggingface_hub import ModelCard

from wattprint import ConfigError
from wattprint.integrations.transformers import EmissionsCallback

from .test_transformers import Tick, make_trainer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:transformers.*")


def test_model_card_block_written_at_the_end_of_training(rig, tmp_path):
    cb = EmissionsCallback(tracker=rig.tracker, model_card="fine-tuning")
    trainer = make_trainer(tmp_path, [cb, Tick(rig)], epochs=2)
    trainer.train()
    text = (tmp_path / "out" / "co2_eq_emissions.yaml").read_text()
    block = yaml.safe_load(text)["co2_eq_emissions"]
    assert block["emissions"] == pytest.approx(cb.run_record.co2_kg * 1000, rel=1e-5)  # grams
    assert block["training_type"] == "fine-tuning"
    assert block["source"].startswith("wattprint ") and "gpu counter" in block["source"]
    # What the Hub reads: the block pasted into a README's YAML header.
    card = ModelCard(f"---\n{text}---\n\n# A model\n")
    assert card.data.co2_eq_emissions["emissions"] == block["emissions"]


def test_no_model_card_unless_asked(rig, tmp_path):
    trainer = make_trainer(tmp_path, [EmissionsCallback(tracker=rig.tracker), Tick(rig)], epochs=1)
    trainer.train()
    assert not (tmp_path / "out" / "co2_eq_emissions.yaml").exists()


def test_model_card_option_is_checked():
    with pytest.raises(ConfigError, match="model_card= must be 'pre-training' or 'fine-tuning'"):
        EmissionsCallback(model_card="training", output_file=None, country="FR")
