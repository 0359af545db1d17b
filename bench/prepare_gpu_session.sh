#!/usr/bin/env bash
# Run HERE (the CPU machine, with internet to PyPI) before a GPU session, from the repository root:
#     bash bench/prepare_gpu_session.sh
# It fills .gpu/ (git-ignored through .git/info/exclude) with what the device machine lacks and cannot fetch:
#   .gpu/site/  pyautoattack and foolbox (+ eagerpy, GitPython and theirs), pure-Python wheels unpacked (put on
#               PYTHONPATH there; pyautoattack's 45 MB of example weights left out); the device image already
#               holds torch, rich, typer, pandas, matplotlib, scipy, requests
#   .gpu/data/  CIFAR-10 as awbench's .npz layout: the whole test set (so `--n-examples 500` picks the same
#               images as on the full data) and a 5,000-image training slice (the 64 MiB a device call carries)
# Then ONE device call:  run(command="bash bench/gpu_session.sh", carry=[".gpu"], timeout_s=540)
set -euo pipefail
data=${AWBENCH_DATA:-../shared/data}
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/site .gpu/data/cifar10
wheels=$(mktemp -d)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$wheels" \
  pyautoattack==0.2.0 foolbox==3.3.4 eagerpy==0.30.0 GitPython gitdb smmap 2>/dev/null
for wheel in "$wheels"/*.whl; do python3 -m zipfile -e "$wheel" .gpu/site; done
rm -rf "$wheels" .gpu/site/pyautoattack/examples
python3 - "$data" <<'PY'
import sys
from pathlib import Path

import numpy as np

source = Path(sys.argv[1]) / "cifar10"
for split, n in (("train", 5000), ("test", None)):
    with np.load(source / f"cifar10_{split}.npz", allow_pickle=False) as arrays:
        everything = np.arange(len(arrays["y"]))
        keep = everything if n is None else np.sort(np.random.default_rng(0).permutation(everything)[:n])  # class-sorted files
        np.savez_compressed(f".gpu/data/cifar10/cifar10_{split}.npz", x=arrays["x"][keep], y=arrays["y"][keep])
PY
du -sh .gpu
