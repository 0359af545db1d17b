"""Foreign models (awbench.models): rb:, tv: and factory references, their checks, and their errors."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from awbench import checkpoint
from awbench.errors import AwbenchError, CheckpointError
from awbench.models import ModelOptions, is_foreign, leaderboard
from awbench.models.checks import logits_check, output_checks


def load_factory(reference, device="cpu", options=None):
    """checkpoint.load as `awbench eval --model` calls it: the user named the factory on this command line."""
    return checkpoint.load(reference, device, options, allow_factory=True)


FACTORY = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, width=4, num_classes=10, output="logits"):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(width, num_classes)
        self.output = output

    def forward(self, x):
        logits = self.head(self.features(x))
        if self.output == "softmax":
            return logits.softmax(1)
        if self.output == "log_softmax":
            return logits.log_softmax(1)
        if self.output == "tuple":
            return logits, x
        if self.output == "dict":
            return {"logits": logits}
        if self.output == "noisy":
            return logits + torch.randn_like(logits)
        if self.output == "train":
            self.train()
        return logits

def build(width=4, num_classes=10, output="logits"):
    return Net(width, num_classes, output)
"""


@pytest.fixture
def factory(tmp_path) -> tuple[Path, Path]:
    """A model factory in a temporary .py file, and a state dict of its model (width 4)."""
    source = tmp_path / "my_net.py"
    source.write_text(textwrap.dedent(FACTORY))
    namespace: dict = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)  # the test's own file, to save weights
    torch.manual_seed(0)
    weights = tmp_path / "weights.pt"
    torch.save(namespace["build"]().state_dict(), weights)
    return source, weights


def test_references_are_told_apart(tmp_path, factory):
    source, _ = factory
    assert is_foreign("rb:Standard") and is_foreign("tv:resnet18") and is_foreign(f"{source}:build")
    assert is_foreign("my_package.nets:build")
    assert not is_foreign("zoo:small-cnn-pgd-at") and not is_foreign(tmp_path) and not is_foreign("runs/x/best.pt")


def test_factory_file_is_imported_only_when_named(tmp_path, monkeypatch):
    marker = tmp_path / "imported"
    source = tmp_path / "trap.py"
    source.write_text(f"open({str(marker)!r}, 'w').write('ran')\nimport torch\ndef build():\n"
                      "    return torch.nn.Linear(3, 10)\n")
    assert is_foreign(f"{source}:build")
    assert not marker.exists()  # recognising the reference imported nothing
    torch.save({"w": torch.zeros(1)}, tmp_path / "plain.pt")
    with pytest.raises(AwbenchError):
        checkpoint.load(tmp_path / "plain.pt")  # an awbench reference never imports a factory
    assert not marker.exists()


@pytest.mark.parametrize("reference", ["{source}:build", "trap_mod_abc:build"])
def test_a_factory_runs_only_when_the_caller_allows_it(tmp_path, monkeypatch, reference):
    marker = tmp_path / "imported"
    source = tmp_path / "trap.py"
    source.write_text(f"open({str(marker)!r}, 'w').write('ran')\nimport torch\ndef build():\n"
                      "    return torch.nn.Linear(3, 10)\n")
    (tmp_path / "trap_mod_abc.py").write_text(source.read_text())
    monkeypatch.chdir(tmp_path)
    reference = reference.format(source=source)
    with pytest.raises(CheckpointError, match="names Python code") as error:
        checkpoint.load(reference, "cpu", ModelOptions(normalized_inside=True))
    assert "\n" not in str(error.value) and not marker.exists()
    load_factory(reference, "cpu", ModelOptions(normalized_inside=True))
    assert marker.exists()


def test_weights_with_code_are_refused(tmp_path, factory):
    source, _ = factory

    class Payload:
        def __reduce__(self):
            return (print, ("code ran from a weights file",))

    bad = tmp_path / "bad.pt"
    torch.save({"head.weight": Payload()}, bad)
    with pytest.raises(CheckpointError, match="refused"):
        load_factory(f"{source}:build", "cpu", ModelOptions(weights=bad, normalized_inside=True))


def test_factory_with_model_args_and_sha256(factory):
    source, weights = factory
    model, metadata = load_factory(f"{source}:build", "cpu",
                                      ModelOptions(weights=weights, normalized_inside=True, model_args={"width": 4}))
    assert not model.training
    assert metadata["source"]["kind"] == "factory" and metadata["source"]["model_args"] == {"width": 4}
    assert metadata["source"]["weights_sha256"] == checkpoint_sha(weights)
    assert metadata["run"] == "my_net.build"
    with pytest.raises(CheckpointError, match="do not fit"):
        load_factory(f"{source}:build", "cpu",
                        ModelOptions(weights=weights, normalized_inside=True, model_args={"width": 8}))


def checkpoint_sha(path: Path) -> str:
    from awbench.zoo import sha256_of

    return sha256_of(path)


def test_input_convention_is_required_and_mean_std_normalise(factory):
    source, weights = factory
    with pytest.raises(AwbenchError, match="--normalized-inside"):
        load_factory(f"{source}:build", "cpu", ModelOptions(weights=weights))
    with pytest.raises(AwbenchError, match="not both"):
        load_factory(f"{source}:build", "cpu",
                        ModelOptions(weights=weights, mean=(0.5,), std=(0.25,), normalized_inside=True))
    inside, _ = load_factory(f"{source}:build", "cpu", ModelOptions(weights=weights, normalized_inside=True))
    added, metadata = load_factory(f"{source}:build", "cpu",
                                      ModelOptions(weights=weights, mean=(0.5,), std=(0.25,)))
    x = torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(added(x), inside((x - 0.5) / 0.25))
    assert "awbench normalises them with mean=[0.5]" in metadata["foreign_checks"]["input_range"]["detail"]


def test_eval_mode_is_forced_with_a_warning(factory, capsys):
    source, weights = factory
    model, metadata = load_factory(f"{source}:build", "cpu", ModelOptions(weights=weights, normalized_inside=True))
    assert not any(module.training for module in model.modules())
    assert "training mode" in metadata["foreign_checks"]["eval_mode"]["detail"]
    assert "was in training mode" in capsys.readouterr().err


def _probe(source: Path, weights: Path, output: str, **options) -> dict:
    model, metadata = load_factory(f"{source}:build", "cpu", ModelOptions(
        weights=weights, normalized_inside=True, model_args={"output": output}, **options))
    return output_checks(model, torch.rand(8, 3, 32, 32), metadata, "cpu")


def test_output_checks_pass_logits(factory):
    checks = _probe(*factory, "logits")
    assert {name: check["status"] for name, check in checks.items()} == {
        "eval_mode": "pass", "input_range": "pass", "outputs_are_logits": "pass"}


@pytest.mark.parametrize("output, words", [("softmax", "softmax probabilities"), ("log_softmax", "log-softmax")])
def test_probabilities_are_flagged(factory, output, words):
    checks = _probe(*factory, output)
    assert checks["outputs_are_logits"]["status"] == "flag" and words in checks["outputs_are_logits"]["detail"]


def test_logits_check_on_plain_tensors():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
    assert logits_check(logits)["status"] == "pass"
    assert logits_check(logits.softmax(1))["status"] == "flag"
    assert logits_check(logits.log_softmax(1))["status"] == "flag"


@pytest.mark.parametrize("output, wrapper", [("tuple", "self.model(x)[0]"), ("dict", 'self.model(x)["logits"]')])
def test_tuple_and_dict_outputs_are_refused_naming_the_wrapper(factory, output, wrapper):
    with pytest.raises(AwbenchError, match="wrap it") as error:
        _probe(*factory, output)
    assert wrapper in str(error.value) and "\n" not in str(error.value)


def test_wrong_output_shape_is_refused(factory):
    source, weights = factory
    # The weights have 10 outputs; the user claims 7 classes: refused before any attack.
    model, metadata = load_factory(f"{source}:build", "cpu",
                                      ModelOptions(weights=weights, normalized_inside=True, num_classes=7,
                                                   model_args={"num_classes": 10}))
    with pytest.raises(AwbenchError, match=r"shape \[8, 10\].*\[8, 7\]"):
        output_checks(model, torch.rand(8, 3, 32, 32), metadata, "cpu")


def test_forward_that_switches_to_training_mode_fails(factory):
    assert _probe(*factory, "train")["eval_mode"]["status"] == "fail"


def test_torchvision_by_name_needs_weights(tmp_path):
    import torchvision

    with pytest.raises(AwbenchError, match="needs --weights"):
        checkpoint.load("tv:resnet18", "cpu", ModelOptions(normalized_inside=True))
    with pytest.raises(AwbenchError, match="unknown torchvision"):
        checkpoint.load("tv:resnet19", "cpu", ModelOptions(normalized_inside=True))
    weights = tmp_path / "r18.pt"
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), weights)
    model, metadata = checkpoint.load("tv:resnet18", "cpu", ModelOptions(weights=weights, mean=(0.5,), std=(0.25,)))
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10) and metadata["source"]["kind"] == "torchvision"


def test_factory_and_torchvision_evaluate_end_to_end(tmp_path, factory, data_dir, run_cli):
    import torchvision

    source, weights = factory
    code, out, err = run_cli("eval", "--model", f"{source}:build", "--weights", weights, "--normalized-inside",
                             "--model-arg", "width=4", "-a", "pgd", "--steps", "2", "--n-examples", "20",
                             "--data-dir", data_dir, "--out", tmp_path / "eval-factory", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["source"]["weights_sha256"] == checkpoint_sha(weights) and summary["run"] == "my_net.build"
    assert summary["checks"]["outputs_are_logits"]["status"] == "pass"
    r18 = tmp_path / "r18.pt"
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), r18)
    code, out, err = run_cli("eval", "tv:resnet18", "--weights", r18, "--mean", "0.49,0.48,0.45", "--std",
                             "0.25,0.24,0.26", "-a", "fgsm", "--n-examples", "10", "--data-dir", data_dir,
                             "--out", tmp_path / "eval-tv", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["source"]["architecture"] == "resnet18" and summary["n_examples"] == 10
    assert "0.49" in summary["checks"]["input_range"]["detail"]


def test_non_deterministic_foreign_model_is_flagged(tmp_path, factory, data_dir, run_cli):
    source, weights = factory
    code, out, err = run_cli("eval", f"{source}:build", "--weights", weights, "--normalized-inside", "--model-arg",
                             "output=noisy", "-a", "fgsm", "--n-examples", "10", "--data-dir", data_dir,
                             "--out", tmp_path / "eval-noisy", "--json")
    assert json.loads(out)["checks"]["deterministic"]["status"] == "flag", err


def test_refused_output_is_one_line_on_the_cli(tmp_path, factory, data_dir, run_cli):
    source, weights = factory
    code, out, err = run_cli("eval", f"{source}:build", "--weights", weights, "--normalized-inside", "--model-arg",
                             "output=tuple", "--n-examples", "10", "--data-dir", data_dir, "--out", tmp_path / "e")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code != 0 and len(errors) == 1 and "returned a tuple of 2" in errors[0] and "Traceback" not in err


def test_unknown_robustbench_model_suggests_close_names():
    with pytest.raises(AwbenchError, match="did you mean: Carmon2019Unlabeled"):
        checkpoint.load("rb:Carmon2019Unlabelled")
    with pytest.raises(AwbenchError, match="did you mean"):
        checkpoint.load("rb:cifar10/Linf/Wong2020Fastt")


def test_leaderboard_is_package_data_with_its_source():
    assert leaderboard.LEADERBOARD_PATH.is_file() and (leaderboard.LEADERBOARD_PATH.parent / "README.md").is_file()
    entries = leaderboard.entries()
    assert len(entries) > 100 and len({e.dataset for e in entries}) == 3
    standard = leaderboard.find("Standard")
    assert standard.dataset == "cifar10" and standard.threat_model == "Linf" and standard.eps_value == 8 / 255
    assert any(e.unreliable for e in entries) and any(e.additional_data for e in entries)


def test_rb_without_robustbench_names_the_extra(monkeypatch):
    # None in sys.modules is how Python says "not installed": `import robustbench` raises ModuleNotFoundError.
    for name in [name for name in sys.modules if name == "robustbench" or name.startswith("robustbench.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "robustbench", None)
    monkeypatch.setitem(sys.modules, "robustbench.utils", None)
    with pytest.raises(AwbenchError) as error:
        checkpoint.load("rb:Standard")
    assert str(error.value) == "rb: models need the robustbench package: pip install 'awbench[robustbench]'"


def test_rb_with_a_broken_robustbench_install_says_why(monkeypatch):
    import importlib

    from awbench.models import robustbench_source

    real = importlib.import_module

    def broken(name, *args, **kwargs):
        if name == "robustbench.utils":
            raise ModuleNotFoundError("No module named 'pkg_resources'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(robustbench_source.importlib, "import_module", broken)
    monkeypatch.setattr(robustbench_source.importlib.util, "find_spec", lambda name: object())
    with pytest.raises(AwbenchError, match="installed but cannot be imported .*pkg_resources"):
        checkpoint.load("rb:Standard")


def test_eval_takes_a_checkpoint_or_model_not_both(run_cli, factory):
    source, _ = factory
    code, _, err = run_cli("eval", "x.pt", "--model", f"{source}:build")
    assert code != 0 and "not both" in err and "Traceback" not in err
    code, _, err = run_cli("eval")
    assert code != 0 and "Missing argument 'CHECKPOINT'" in err


def test_factory_file_imports_its_neighbours_and_modules_import_from_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "blocks.py").write_text("import torch\ndef head():\n    return torch.nn.Linear(3, 10)\n")
    (tmp_path / "net.py").write_text("import torch\nfrom blocks import head\n"
                                     "def build():\n    return torch.nn.Sequential(torch.nn.Flatten(1, -1), "
                                     "torch.nn.LazyLinear(3), head())\n")
    model, _ = load_factory(f"{tmp_path / 'net.py'}:build", "cpu", ModelOptions(normalized_inside=True))
    assert str(tmp_path) not in sys.path and model(torch.rand(2, 3, 4, 4)).shape == (2, 10)
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "nets.py").write_text("import torch\ndef build():\n    return torch.nn.Linear(3, 10)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    _, metadata = load_factory("mypkg.nets:build", "cpu", ModelOptions(normalized_inside=True))
    assert metadata["source"]["module"] == "mypkg.nets" and metadata["source"]["weights_sha256"] is None
    with pytest.raises(AwbenchError, match="has no function 'make'; it defines: build"):
        load_factory("mypkg.nets:make", "cpu", ModelOptions(normalized_inside=True))


def test_options_of_other_sources_are_refused_for_rb():
    with pytest.raises(AwbenchError, match="--weights --mean do\\(es\\) not apply to rb: models"):
        checkpoint.load("rb:Standard", "cpu", ModelOptions(weights=Path("w.pt"), mean=(0.5,)))


@pytest.mark.parametrize("options, flags", [
    (ModelOptions(mean=(0.5,), std=(0.25,)), "--mean --std"),
    (ModelOptions(num_classes=100, model_args={"width": 8}), "--num-classes --model-arg"),
    (ModelOptions(weights=Path("w.pt"), normalized_inside=True), "--weights --normalized-inside"),
])
def test_foreign_options_with_an_awbench_checkpoint_are_refused(options, flags):
    with pytest.raises(CheckpointError, match=f"^{flags} apply only to rb:, tv: and factory models"):
        checkpoint.load("zoo:cifar10-small-cnn-standard", "cpu", options)


@pytest.mark.parametrize("count", [0, -3, 10**9, True])
def test_num_classes_is_checked_for_foreign_models(tmp_path, count):
    import torchvision

    weights = tmp_path / "r18.pt"
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), weights)
    with pytest.raises(AwbenchError, match="--num-classes must be a whole number in 1..100,000"):
        checkpoint.load("tv:resnet18", "cpu", ModelOptions(weights=weights, normalized_inside=True, num_classes=count))


def test_resume_does_not_reuse_results_of_another_model_with_the_same_weights(tmp_path, factory, data_dir, run_cli):
    """Same state dict, other --model-arg / factory code / normalisation: another model, nothing reused."""
    source, weights = factory
    out = tmp_path / "eval"
    common = ["-a", "fgsm", "--n-examples", "10", "--data-dir", data_dir, "--out", out, "--json"]
    code, _, err = run_cli("eval", "--model", f"{source}:build", "--weights", weights, "--normalized-inside", *common)
    assert code == 0, err
    refused = "holds an evaluation with other settings"
    other_args = ["--model-arg", "output=softmax", "--normalized-inside"]
    code, _, err = run_cli("eval", "--model", f"{source}:build", "--weights", weights, *other_args, *common)
    assert code != 0 and refused in err
    code, _, err = run_cli("eval", "--model", f"{source}:build", "--weights", weights, "--mean", "0", "--std", "1",
                           *common)
    assert code != 0 and refused in err
    source.write_text(source.read_text() + "\n# changed code, same weights\n")
    code, _, err = run_cli("eval", "--model", f"{source}:build", "--weights", weights, "--normalized-inside", *common)
    assert code != 0 and refused in err


def test_a_leaderboard_budget_written_rounded_is_its_k_over_255():
    rounded = [entry for entry in leaderboard.entries() if entry.eps == "0.031"]
    assert rounded and all(entry.eps_value == 8 / 255 for entry in rounded)  # eval rb:... then uses 8/255
    assert {entry.eps_value for entry in leaderboard.select("cifar10", "L2")} == {0.5}
    assert leaderboard.find("Standard", "cifar10", "Linf").eps_value == 8 / 255


@pytest.mark.parametrize("reference, words", [
    ("rb:svhn/Linf/Foo", "RobustBench has no dataset 'svhn'"),
    ("rb:cifar100/L2/Foo", "RobustBench has no cifar100 models for the L2 threat model"),
    ("rb:imagenet/L2/Foo", "awbench cannot evaluate imagenet models"),
    ("rb:imagenet/Linf/Salman2020Do_50_2", "awbench cannot evaluate imagenet models"),
])
def test_bad_rb_references_are_one_line_errors_before_any_download(monkeypatch, reference, words):
    from awbench.models import robustbench_source

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded")

    monkeypatch.setattr(robustbench_source, "_download", no_download)
    if "imagenet" in reference:  # refused before robustbench is even imported
        monkeypatch.setattr(robustbench_source, "import_robustbench", no_download)
    with pytest.raises(AwbenchError, match=words) as error:
        checkpoint.load(reference)
    assert "\n" not in str(error.value)


def test_zoo_list_published_shows_external_and_marks_what_cannot_be_evaluated(run_cli, monkeypatch):
    from awbench.console import console

    monkeypatch.setattr(console, "width", 300)  # the table's cells whole, not ellipsised
    code, _, err = run_cli("zoo", "list", "--published", "--dataset", "imagenet")
    assert code == 0 and "not evaluable " in err and "external" in err  # a row's mark (the caption has a colon)
    code, _, err = run_cli("zoo", "list", "--published", "--dataset", "cifar10")
    assert code == 0 and "not evaluable " not in err


@pytest.mark.parametrize("width", [80, 140])
@pytest.mark.parametrize("filters", [(), ("--dataset", "cifar10", "--threat", "Linf")])
def test_zoo_list_published_never_cuts_a_cell_in_a_narrow_terminal(run_cli, monkeypatch, width, filters):
    """At 80 columns every cell used to be cut (some silently): now every entry's name, accuracies and marks are
    printed whole, whatever the width; the caption says which optional columns a narrow terminal leaves out."""
    from awbench.console import console
    from awbench.models import leaderboard

    monkeypatch.setattr(console, "width", width)
    code, _, err = run_cli("zoo", "list", "--published", *filters)
    assert code == 0 and "…" not in err
    entries = leaderboard.select(*(filters[1::2] or (None, None)))
    ids = {entry.model_id for entry in entries}
    rows = [line.split() for line in err.splitlines() if line.split() and line.split()[0] in ids]
    assert len(rows) == len(entries)
    for entry in entries:
        cells = [f"{entry.clean_accuracy:.2%}", f"{entry.autoattack_accuracy:.2%}"]
        cells += [f"{entry.external:.2%}"] if entry.external is not None else []
        cells += ["unreliable"] if entry.unreliable else []
        assert any(row[0] == entry.model_id and all(cell in row for cell in cells) for row in rows), entry
    assert "Left out in a terminal this narrow: venue, architecture" in " ".join(err.split())


def test_a_model_that_does_not_fit_the_images_is_a_one_line_error_naming_their_shape(tmp_path):
    source = tmp_path / "flat.py"
    source.write_text("import torch\ndef build():\n"
                      "    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))\n")
    model, metadata = load_factory(f"{source}:build", "cpu", ModelOptions(normalized_inside=True, dataset="mnist"))
    with pytest.raises(AwbenchError, match=r"cannot take the mnist images: a batch of shape \[8, 1, 28, 28\]") as error:
        output_checks(model, torch.rand(8, 1, 28, 28), metadata, "cpu")
    assert "\n" not in str(error.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_logits_check_on_cuda_outputs():
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]], device="cuda")
    assert logits_check(logits)["status"] == "pass" and logits_check(logits.softmax(1))["status"] == "flag"
    assert logits_check(logits.log_softmax(1))["status"] == "flag"


@pytest.mark.parametrize("code, kind", [("def build(:\n", "SyntaxError"),
                                        ("raise ValueError('no GPU')\n", "ValueError")])
def test_a_dotted_factory_module_that_fails_to_import_is_one_line(tmp_path, monkeypatch, code, kind):
    name = f"broken_{kind.lower()}_module"
    (tmp_path / f"{name}.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AwbenchError, match=f"cannot import module '{name}' for the model factory \\({kind}") as error:
        load_factory(f"{name}:build", "cpu", ModelOptions(normalized_inside=True))
    assert "\n" not in str(error.value)
