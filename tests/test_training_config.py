"""TrainConfig and the names the command line offers: from the registries, without torch, and resume merging."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from awbench.errors import AwbenchError
from awbench.training.config import TrainConfig
from awbench.training.run_folder import config_for_resume

pytestmark = pytest.mark.fast


def test_method_names_are_the_registry():
    from awbench.training.method_names import METHODS
    from awbench.training.methods import available_methods

    assert sorted(METHODS) == available_methods()


def test_names_for_the_help_import_no_torch():
    code = ("import sys, awbench.cli.train, model_zoo, awbench.errors; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3]")
    subprocess.run([sys.executable, "-c", code], check=True)


def _saved_run(tmp_path, **values):
    folder = tmp_path / "run"
    folder.mkdir()
    config = TrainConfig(method="trades", epochs=3, device="cpu", out="elsewhere", name="old", **values)
    (folder / "config.json").write_text(json.dumps(config.to_dict()))
    return folder


def test_resume_keeps_the_run_and_applies_only_what_may_change(tmp_path):
    folder = _saved_run(tmp_path, lr=0.02)
    config = config_for_resume(folder, epochs=5, method="trades")
    assert (config.method, config.lr, config.epochs) == ("trades", 0.02, 5)
    assert (config.out, config.name) == (str(folder.parent.resolve()), "run")
    assert config.device == "auto"  # the machine's, not the run's
    assert config_for_resume(folder, device="cpu", data_dir=tmp_path).data_dir == str(tmp_path)


def test_resume_refuses_a_changed_setting_in_one_line(tmp_path):
    folder = _saved_run(tmp_path)
    with pytest.raises(AwbenchError, match="--method, --steps cannot change") as error:
        config_for_resume(folder, method="standard", steps=3, epochs=4)
    assert "\n" not in str(error.value)


def test_a_config_built_from_given_options_takes_the_dataclass_defaults():
    from awbench.cli.train import DEFAULTS, default

    assert default("lr", "rate.") == f"rate. [default: {TrainConfig().lr}]" and DEFAULTS == TrainConfig()
