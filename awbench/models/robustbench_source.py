"""`rb:MODEL_ID` or `rb:cifar10/Linf/MODEL_ID`: a RobustBench model, built and loaded by the robustbench package.

Weights are looked for in RobustBench's own layout, `<dir>/<dataset>/<threat_model>/<MODEL_ID>.pt`, under
--model-dir, $AWBENCH_MODELS and ~/.cache/awbench/models, in that order; a missing file is downloaded by
robustbench (Google Drive) into the first of those folders. Every file is first opened with
`torch.load(weights_only=True)`, so a file that would run code is refused before robustbench reads it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from awbench.errors import AwbenchError, CheckpointError
from awbench.files import sha256_of
from awbench.models import foreign, leaderboard
from awbench.models.options import ModelOptions
from awbench.models.weights import read_state_dict
from awbench.threat import Norm

PREFIX = "rb:"
EXTRA = "pip install 'awbench[robustbench]'"
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet": 1000}


class RobustbenchMissingError(AwbenchError):
    """The optional robustbench package is not installed."""


def import_robustbench() -> Any:
    """robustbench.utils, or a one-line error naming the extra to install."""
    try:
        importlib.import_module("autoattack")
    except ImportError:
        # robustbench imports `autoattack` (fra31/auto-attack from git); the same code is on PyPI as
        # pyautoattack, which awbench depends on: let robustbench find it under its git name.
        try:
            import pyautoattack
            import pyautoattack.state

            sys.modules.setdefault("autoattack", pyautoattack)
            sys.modules.setdefault("autoattack.state", pyautoattack.state)
        except ImportError:
            pass
    try:
        with contextlib.redirect_stdout(sys.stderr), _quiet_warnings():
            return importlib.import_module("robustbench.utils")
    except ImportError as error:
        if importlib.util.find_spec("robustbench") is None:
            raise RobustbenchMissingError(f"rb: models need the robustbench package: {EXTRA}") from None
        # Installed, but one of its own imports is missing (pkg_resources needs setuptools<81, timm, gdown...).
        raise RobustbenchMissingError(f"robustbench is installed but cannot be imported ({error}); reinstall the "
                                      f"extra: {EXTRA} 'setuptools<81'") from None


@contextlib.contextmanager
def _quiet_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pkg_resources / timm deprecation chatter on import
        yield


def parse(reference: str) -> tuple[str | None, str | None, str]:
    """'rb:X' -> (None, None, 'X'); 'rb:cifar10/Linf/X' -> ('cifar10', 'Linf', 'X')."""
    parts = reference[len(PREFIX):].split("/")
    if len(parts) == 1 and parts[0]:
        return None, None, parts[0]
    if len(parts) == 3 and all(parts):
        return parts[0].lower(), Norm.parse(parts[1]).value, parts[2]
    raise AwbenchError(f"'{reference}' is not rb:MODEL_ID or rb:DATASET/THREAT_MODEL/MODEL_ID "
                       "(e.g. rb:Carmon2019Unlabeled or rb:cifar10/Linf/Carmon2019Unlabeled)")


def weights_path(folder: Path, dataset: str, threat_model: str, model_id: str) -> Path:
    """Where RobustBench keeps a model's weights under `folder`."""
    return Path(folder) / dataset / threat_model / f"{model_id}.pt"


def _files(path: Path, ensemble_size: int) -> list[Path]:
    # RobustBench stores an ensemble's members beside the name: <MODEL_ID>.pt_m0.pt, _m1.pt, ...
    return [path] if ensemble_size == 0 else [Path(f"{path}_m{i}.pt") for i in range(ensemble_size)]


def load(reference: str, options: ModelOptions, device: torch.device | str) -> tuple[nn.Module, dict[str, Any]]:
    """Build and load the RobustBench model; metadata carries its leaderboard card and the weights' sha256."""
    dataset, threat_model, model_id = parse(reference)
    given = [flag for flag in options.given() if flag != "--model-dir"]
    if given:
        raise AwbenchError(f"{' '.join(given)} do(es) not apply to rb: models (RobustBench builds them, takes [0, 1] "
                           f"inputs, and its weights come from --model-dir); name another dataset as "
                           f"rb:DATASET/THREAT_MODEL/MODEL_ID")
    if dataset is not None and dataset not in leaderboard.DATASETS:
        raise AwbenchError(f"'{reference}': RobustBench has no dataset '{dataset}'; its datasets: "
                           f"{', '.join(leaderboard.DATASETS)}")
    entry, unknown = None, None
    try:
        entry = leaderboard.find(model_id, dataset, threat_model)
    except AwbenchError as error:
        if dataset is None:  # only an explicit dataset/threat model may name a model newer than the file
            raise
        unknown = error
    dataset = dataset or entry.dataset
    threat_model = threat_model or entry.threat_model
    if not leaderboard.is_evaluable_dataset(dataset):  # before anything is imported or downloaded
        raise AwbenchError(f"rb:{dataset}/{threat_model}/{model_id}: awbench cannot evaluate {dataset} models (it has "
                           "no such test set); RobustBench's cifar10 and cifar100 models it can")
    if not leaderboard.select(dataset, threat_model):  # what the leaderboard file knows needs no robustbench
        raise AwbenchError(f"'{reference}': RobustBench has no {dataset} models for the {threat_model} threat model")
    try:
        utils = import_robustbench()
    except RobustbenchMissingError as missing:
        if unknown is not None:  # a typo is the likelier story: say both
            raise AwbenchError(f"{unknown}; and {missing}") from None
        raise
    from robustbench.model_zoo import model_dicts
    from robustbench.model_zoo.enums import BenchmarkDataset, ThreatModel

    zoo = model_dicts.get(BenchmarkDataset(dataset), {}).get(ThreatModel(threat_model))
    if zoo is None:
        raise AwbenchError(f"'{reference}': RobustBench has no {dataset} models for the {threat_model} threat model")
    if model_id not in zoo:
        if entry is None:
            raise unknown
        raise AwbenchError(f"{dataset}/{threat_model}/{model_id} is on the leaderboard but the installed robustbench "
                           "cannot load it (no published weights, or a newer entry: pip install -U robustbench)")
    _refuse_timm_weights(zoo[model_id], dataset, threat_model, model_id)
    gdrive = zoo[model_id]["gdrive_id"]
    ensemble_size = len(gdrive) if isinstance(gdrive, list) else 0
    folders = options.model_dirs()
    found = [folder for folder in folders
             if all(f.is_file() for f in _files(weights_path(folder, dataset, threat_model, model_id), ensemble_size))]
    folder = found[0] if found else _download(utils, zoo[model_id], folders, dataset, threat_model, model_id,
                                               ensemble_size)
    files = _files(weights_path(folder, dataset, threat_model, model_id), ensemble_size)
    for file in files:
        read_state_dict_or_checkpoint(file)
    try:
        with contextlib.redirect_stdout(sys.stderr), _quiet_warnings():
            model = utils.load_model(model_id, model_dir=str(folder), dataset=dataset, threat_model=threat_model)
    except Exception as error:  # noqa: BLE001  (robustbench raises RuntimeError, KeyError, ... on a bad file)
        detail = " ".join(str(error).split())[:300]
        raise CheckpointError(f"robustbench could not load {files[0]}: {type(error).__name__}: {detail}") from None
    source = {"kind": "robustbench", "reference": f"rb:{dataset}/{threat_model}/{model_id}",
              "weights": [str(f.resolve()) for f in files] if ensemble_size else str(files[0].resolve()),
              "weights_sha256": [sha256_of(f) for f in files] if ensemble_size else sha256_of(files[0]),
              "model_card": entry.card() if entry is not None else None}
    inside = foreign.input_convention(ModelOptions(normalized_inside=True), 3)[1]
    metadata = {
        "architecture": entry.architecture if entry is not None else model_id, "num_classes": NUM_CLASSES[dataset],
        "in_channels": 3, "mean": [0.0], "std": [1.0], "dataset": dataset, "method": "robustbench",
        "norm": threat_model, "eps": entry.eps_value if entry is not None else None, "run": f"rb-{model_id}",
        "checkpoint_path": source["reference"], "source": source,
        "foreign_checks": {"eval_mode": {"status": "pass", "detail": foreign.put_in_eval_mode(model, reference)},
                           "input_range": {"status": "pass", "detail": inside.replace(
                               "(--normalized-inside)", "(RobustBench's convention)")}},
    }
    return model.to(device), metadata


def _refuse_timm_weights(item: dict[str, Any], dataset: str, threat_model: str, model_id: str) -> None:
    """Refuse models whose weights robustbench takes from timm (`timm.create_model(..., pretrained=True)`).

    Those come from timm's own download, not from the file under --model-dir, so the sha256 awbench would record
    (of that file) would not be of the weights evaluated.
    """
    import timm

    # robustbench.utils.load_model: a timm model of this name is loaded from timm, ignoring model_dir.
    timm_name = f"{model_id.lower().replace('-', '_')}_{dataset}_{threat_model.lower()}"
    try:
        builder = inspect.getsource(item["model"])
    except (OSError, TypeError):
        builder = ""
    if timm.is_model(timm_name) or ("create_model" in builder and "pretrained=True" in builder):
        raise AwbenchError(f"rb:{dataset}/{threat_model}/{model_id} is built by timm.create_model(pretrained=True), "
                           "which downloads timm's own weights instead of reading the file under --model-dir: "
                           "awbench could not record which weights it evaluated, so it refuses this model")


def read_state_dict_or_checkpoint(path: Path) -> None:
    """Refuse a file that safe loading (weights_only) refuses, before robustbench's own torch.load reads it."""
    try:
        read_state_dict(path)
    except CheckpointError as error:
        if "refused" in str(error) or "cannot read" in str(error):
            raise
        # A RobustBench file may hold more than tensors (an epoch number, {'last': ..., 'best': ...}): safe.


def _download(utils: Any, item: dict[str, Any], folders: list[Path], dataset: str, threat_model: str, model_id: str,
              ensemble_size: int) -> Path:
    """Let robustbench download the weights into the first folder; one line saying where to put them if it fails."""
    target = folders[0]
    path = weights_path(target, dataset, threat_model, model_id)
    searched = ", ".join(str(weights_path(folder, dataset, threat_model, model_id)) for folder in folders)
    ids = item["gdrive_id"] if ensemble_size else [item["gdrive_id"]]
    if ids == [None]:
        raise CheckpointError(f"robustbench has no download for {model_id}; looked for {searched}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for file, gdrive_id in zip(_files(path, ensemble_size), ids):
            if not file.is_file():
                with contextlib.redirect_stdout(sys.stderr):
                    utils.download_gdrive_new(gdrive_id, file)
                if not file.is_file():
                    raise OSError("the download produced no file")
    except Exception as error:  # noqa: BLE001  (offline: connection errors of requests/gdown, many types)
        for file in _files(path, ensemble_size):
            if file.is_file() and file.stat().st_size == 0:
                file.unlink()
        reason = " ".join(str(error).split())[:160] or type(error).__name__
        raise CheckpointError(
            f"no weights for rb:{dataset}/{threat_model}/{model_id}: looked for {searched}, and the download failed "
            f"({reason}); put the file at {path} (RobustBench's layout) or give --model-dir"
        ) from None
    return target
