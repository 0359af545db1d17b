import csv
import json

import pytest
import torch

import model_zoo
from awbench import checkpoint
from awbench.errors import AwbenchError, UnknownNameError
from awbench.training import TrainConfig, train
from awbench.training.methods import available_methods, build_method
from awbench.training.run_folder import RunFolder

BASELINES = ["standard", "pgd-at", "trades", "mart"]


def test_baseline_methods_registered():
    assert set(BASELINES) <= set(available_methods())


@pytest.mark.parametrize("method", BASELINES)
def test_loss_decreases_on_a_real_batch(method, cifar_train):
    torch.manual_seed(0)
    x = cifar_train.images[::20].float() / 255  # 100 real images, all classes
    y = cifar_train.labels[::20]
    spec = cifar_train.spec
    model = model_zoo.create("small-cnn", mean=spec.mean, std=spec.std).train()
    config = TrainConfig(method=method, steps=3, step_size=2 / 255)
    trainer = build_method(config, torch.device("cpu"))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(20):
        result = trainer.step(model, x, y)
        optimizer.zero_grad()
        result.loss.backward()
        optimizer.step()
        losses.append(result.loss.item())
        assert (result.adv_logits is None) == (method == "standard")
    assert sum(losses[-5:]) / 5 < 0.9 * sum(losses[:5]) / 5


def _config(tmp_path, data_dir, **overrides):
    values = dict(model="small-cnn", method="pgd-at", epochs=2, subset=96, val_size=40, batch_size=32, steps=2,
                  data_dir=str(data_dir), out=str(tmp_path), name="run", device="cpu", seed=5)
    values.update(overrides)
    return TrainConfig(**values)


def test_run_folder_contents(tmp_path, data_dir):
    run = train(_config(tmp_path, data_dir), show_progress=False)
    assert {p.name for p in run.iterdir()} == {"config.json", "train_log.csv", "checkpoint.pt", "best.pt"}
    config = json.loads((run / "config.json").read_text())
    assert config["method"] == "pgd-at" and config["subset"] == 96
    rows = list(csv.DictReader((run / "train_log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    for row in rows:
        for key in ("train_loss", "train_clean_acc", "train_adv_acc", "val_clean_acc", "val_pgd_acc", "lr"):
            assert row[key] != ""
        assert 0 <= float(row["val_pgd_acc"]) <= float(row["val_clean_acc"]) <= 1
    model, metadata = checkpoint.load(run / "best.pt")
    assert metadata["method"] == "pgd-at" and metadata["dataset"] == "cifar10"
    assert metadata["selected_by"] == "val_pgd_acc"
    best_epoch = max(rows, key=lambda r: float(r["val_pgd_acc"]))["epoch"]
    assert metadata["epoch"] == int(best_epoch)


def test_existing_run_is_not_overwritten(tmp_path, data_dir):
    train(_config(tmp_path, data_dir, epochs=1, method="standard"), show_progress=False)
    with pytest.raises(AwbenchError, match="--resume"):
        train(_config(tmp_path, data_dir, epochs=1, method="standard"), show_progress=False)


def test_resume_equals_uninterrupted_run(tmp_path, data_dir, monkeypatch):
    straight = train(_config(tmp_path / "a", data_dir, epochs=3), show_progress=False)
    # Kill the second run right after it saved epoch 2, then resume it.
    original_save = RunFolder.save_epoch

    def save_then_die(self, *args, **kwargs):
        original_save(self, *args, **kwargs)
        if args[5]["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "save_epoch", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tmp_path / "b", data_dir, epochs=3), show_progress=False)
    monkeypatch.setattr(RunFolder, "save_epoch", original_save)
    assert torch.load(tmp_path / "b" / "run" / "checkpoint.pt", weights_only=True)["training_state"]["epoch"] == 2
    resumed = train(_config(tmp_path / "b", data_dir, epochs=3), resume=True, show_progress=False)
    a = torch.load(straight / "checkpoint.pt", weights_only=True)["state_dict"]
    b = torch.load(resumed / "checkpoint.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    rows = list(csv.DictReader((resumed / "train_log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]


def test_piecewise_schedule_lowers_lr(tmp_path, data_dir):
    run = train(_config(tmp_path, data_dir, epochs=4, method="standard", val_size=0), show_progress=False)
    lrs = [float(r["lr"]) for r in csv.DictReader((run / "train_log.csv").open())]
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.001])


@pytest.mark.parametrize("field,value,needle", [
    ("method", "fgsm-at", "pgd-at"), ("model", "vgg", "small-cnn"), ("dataset", "imagenet", "cifar10"),
])
def test_unknown_names_list_choices(tmp_path, data_dir, field, value, needle):
    with pytest.raises(UnknownNameError, match=needle):
        train(_config(tmp_path, data_dir, **{field: value}), show_progress=False)


def test_compiled_training_takes_the_same_steps_and_saves_plain_weights(tmp_path, data_dir):
    """--compile: the steps run through torch.compile ("eager" backend: dynamo's tracing without code
    generation) and give the weights of an uncompiled run; checkpoints hold the model's own keys."""
    import torch._dynamo

    plain = train(_config(tmp_path / "plain", data_dir, epochs=1, method="standard"), show_progress=False)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    compiled = train(_config(tmp_path / "compiled", data_dir, epochs=1, method="standard", compile="eager"),
                     show_progress=False)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > 0
    a = torch.load(plain / "checkpoint.pt", weights_only=True)["state_dict"]
    b = torch.load(compiled / "checkpoint.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys() and not any("_orig_mod" in key for key in b)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    model, _ = checkpoint.load(compiled / "best.pt")  # loads into a plain zoo model
    assert not isinstance(model, torch._dynamo.eval_frame.OptimizedModule)


@pytest.mark.parametrize("method,forwards", [("standard", 1), ("pgd-at", 1), ("trades", 2), ("mart", 2)])
def test_only_the_loss_forwards_update_batch_norm_statistics(method, forwards, cifar_train):
    """Inner attacks and logged accuracies run in eval mode: only the loss's own train-mode forwards move BN
    statistics (PGD-AT once did an extra train-mode forward of the clean batch for its progress bar).
    TRADES and MART pass clean and adversarial examples as two batches, as their authors' code does."""
    torch.manual_seed(0)
    x, y = cifar_train.images[::40].float() / 255, cifar_train.labels[::40]
    model = model_zoo.create("small-cnn").train()
    fresh = model_zoo.create("small-cnn").train()
    fresh.load_state_dict(model.state_dict())
    trainer = build_method(TrainConfig(method=method, steps=2, step_size=2 / 255), torch.device("cpu"))
    torch.manual_seed(1)
    result = trainer.step(model, x, y)
    bn = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(int(m.num_batches_tracked) == forwards for m in bn)
    if method in ("trades", "mart"):  # the clean logits are those of the clean batch normalised alone
        torch.testing.assert_close(result.clean_logits, fresh(x))
    if method == "pgd-at":  # the statistics are those of the adversarial batch alone
        torch.manual_seed(1)
        x_adv = trainer.attack(fresh, x, y)
        fresh(x_adv)
        fresh_bn = [m for m in fresh.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for mine, theirs in zip(bn, fresh_bn):
            torch.testing.assert_close(mine.running_mean, theirs.running_mean)
    assert result.clean_logits.shape == (len(x), 10)


def test_a_run_killed_while_writing_best_pt_redoes_that_epoch(tmp_path, data_dir, monkeypatch):
    """checkpoint.pt marks an epoch done, so it is written last: killed before it, the epoch is redone."""
    original_save = checkpoint.save

    def die_on_best_of_epoch_2(path, model, metadata, *args, **kwargs):
        if path.name == "best.pt" and metadata["epoch"] == 2:
            raise KeyboardInterrupt
        return original_save(path, model, metadata, *args, **kwargs)

    monkeypatch.setattr(checkpoint, "save", die_on_best_of_epoch_2)
    config = _config(tmp_path, data_dir, epochs=2, method="standard", val_size=0)
    with pytest.raises(KeyboardInterrupt):
        train(config, show_progress=False)
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["training_state"]["epoch"] == 1
    monkeypatch.setattr(checkpoint, "save", original_save)
    run = train(_config(tmp_path, data_dir, epochs=2, method="standard", val_size=0), resume=True,
                show_progress=False)
    assert checkpoint.read(run / "best.pt")["metadata"]["epoch"] == 2


def test_resume_accepts_the_run_folder_as_dot(run_cli, tmp_path, data_dir, monkeypatch):
    run = train(_config(tmp_path, data_dir, epochs=1, method="standard", val_size=0), show_progress=False)
    monkeypatch.chdir(run)
    code, _, err = run_cli("train", "--resume", ".", "--epochs", "2", "--data-dir", data_dir)
    assert code == 0, err
    assert torch.load(run / "checkpoint.pt", weights_only=True)["training_state"]["epoch"] == 2


def test_a_run_from_before_the_aw_design_names_resumes_as_what_it_holds(tmp_path, data_dir, run_cli):
    """Before `aw-lr-*` existed, `aw-<backbone>` named the low-rank design and config.json/checkpoints had no
    model_options: such a run resumes as the low-rank network its checkpoint holds (it used to fail to load)."""
    from model_zoo.aw.options import DEFAULT_ADVERSARIAL_RANK_FRACTION, LEGACY_OPTIONS

    legacy = {**LEGACY_OPTIONS, "adversarial_rank_fraction": DEFAULT_ADVERSARIAL_RANK_FRACTION}
    run = train(_config(tmp_path, data_dir, model="aw-lr-small-cnn", method="awnet", epochs=1, val_size=0,
                        model_options=legacy), show_progress=False)
    config = json.loads((run / "config.json").read_text())
    config["model"] = "aw-small-cnn"
    del config["model_options"]
    (run / "config.json").write_text(json.dumps(config))
    for name in ("checkpoint.pt", "best.pt"):  # the metadata as the old code wrote it
        payload = torch.load(run / name, weights_only=True)
        payload["metadata"]["architecture"] = "aw-small-cnn"
        del payload["metadata"]["model_options"]
        torch.save(payload, run / name)

    code, _, err = run_cli("train", "--resume", str(run), "--epochs", "2", "--data-dir", str(data_dir),
                           "--device", "cpu")
    assert code == 0, err
    metadata = checkpoint.read(run / "checkpoint.pt")["metadata"]
    assert metadata["architecture"] == "aw-lr-small-cnn" and metadata["epoch"] == 2
    assert metadata["model_options"]["adversarial_rank_fraction"] == DEFAULT_ADVERSARIAL_RANK_FRACTION


@pytest.mark.parametrize("damage", ["no_state_dict", "int_keys", "state_dict_is_a_number", "forged_migration"])
def test_a_damaged_checkpoint_beside_a_legacy_config_is_a_one_line_error(tmp_path, run_cli, damage):
    """Resuming reads checkpoint.pt to learn a legacy run's design: a damaged one is one line naming it."""
    run = tmp_path / "run"
    run.mkdir()
    config = TrainConfig(model="small-cnn", method="standard").to_dict()
    config["model"] = "aw-small-cnn"
    del config["model_options"]
    (run / "config.json").write_text(json.dumps(config))
    metadata = {"architecture": "aw-small-cnn", "num_classes": 10, "in_channels": 3, "mean": [0.5] * 3,
                "std": [0.25] * 3, "dataset": "cifar10", "method": "awnet", "norm": "Linf", "eps": 8 / 255}
    payload = {"format": "awbench-checkpoint", "format_version": 1, "metadata": metadata,
               "state_dict": {"w": torch.zeros(1)}, "training_state": {"epoch": 1}}
    if damage == "no_state_dict":
        del payload["state_dict"]
    elif damage == "int_keys":
        payload["state_dict"] = {1: torch.zeros(1)}
    elif damage == "state_dict_is_a_number":
        payload["state_dict"] = 3
    else:  # a static architecture that claims to have been migrated from the config's model, without options
        payload["metadata"] = {**metadata, "architecture": "small-cnn", "migrated_from": "aw-small-cnn"}
    torch.save(payload, run / "checkpoint.pt")
    code, _, err = run_cli("train", "--resume", str(run), "--device", "cpu")
    errors = [line for line in err.splitlines() if line.startswith("error: ")]  # a data note may come first
    assert code != 0 and len(errors) == 1 and "Traceback" not in err and err.rstrip().endswith(errors[0])
    if damage != "forged_migration":
        assert "checkpoint.pt" in errors[0]
