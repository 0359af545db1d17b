"""`awbench data prepare | where`: get a full data set into the form awbench reads, and see which data it uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awbench.cli import app
from awbench.data.names import DatasetName

DATASETS = " | ".join(name.value for name in DatasetName)

data_app = typer.Typer(
    help="Data sets: which data awbench uses, and preparing full ones. Without any data folder awbench uses the "
         "CIFAR-10 sample shipped with it (2,000 training and 500 test images); its numbers are sample numbers.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


@data_app.command("prepare", epilog=(
    "Examples:\n\n"
    "  awbench data prepare cifar10 --from ~/torchvision-data\n\n"
    "  awbench data prepare cifar100 --download --out ~/data\n\n"
    "  AWBENCH_DATA=~/data awbench demo\n\n"
    "--from reads torchvision's layout (cifar-10-batches-py/, MNIST/raw/, ...) in FOLDER or FOLDER/NAME; "
    "--download fetches it first (into --from, else OUT/torchvision). Writes OUT/NAME_train.npz and "
    "OUT/NAME_test.npz; the default OUT, ~/.cache/awbench/data, is searched without any option."))
def prepare(
    dataset: Annotated[str, typer.Argument(help=DATASETS)],
    source: Annotated[Path | None, typer.Option("--from", help="Folder with torchvision's files.")] = None,
    download: Annotated[bool, typer.Option(help="Download with torchvision first (needs network).")] = False,
    out: Annotated[Path | None, typer.Option(
        help="Folder for the .npz files (default: $AWBENCH_DATA, else ~/.cache/awbench/data).")] = None,
) -> None:
    """Turn torchvision's files of DATASET (or a download) into DATASET_train.npz and DATASET_test.npz."""
    from awbench.data.datasets import search_roots
    from awbench.data.prepare import prepare_dataset

    prepare_dataset(dataset, out if out is not None else search_roots()[0], source=source, download=download)


@data_app.command("where", epilog="Examples:\n\n  awbench data where\n\n  awbench data where mnist --data-dir ~/data")
def where(
    dataset: Annotated[str, typer.Argument(help=DATASETS)] = "cifar10",
    data_dir: Annotated[Path | None, typer.Option(help="Folder with the data (the only place searched).")] = None,
) -> None:
    """Say which files `train` and `eval` would read for DATASET, with their size and sha256."""
    from awbench.console import console
    from awbench.data import check_data_dir, load_dataset

    check_data_dir(data_dir)
    for split in ("train", "test"):
        record = load_dataset(dataset, split, data_dir=data_dir).provenance()
        files = ", ".join(f"{f['path']} ({f['bytes']:,} bytes, sha256 {f['sha256'][:12]}...)" for f in record["files"])
        console.print(f"{record['dataset']} {split}: {record['images']:,} images, {record['origin']}: "
                      f"{files or record['source']}", soft_wrap=True, highlight=False, markup=False)
