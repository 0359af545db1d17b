#!/usr/bin/env bash
# Run HERE (the CPU machine, with internet to PyPI) before a GPU session, from the repository root:
#     bash bench/prepare_gpu_session.sh
# It fills .gpu/ (git-ignored through .git/info/exclude) with what the device machine lacks and cannot fetch:
#   .gpu/whl/   wheels for Python 3.12 of pyautoattack and foolbox (+ eagerpy, GitPython and theirs); the
#               device image already holds torch, rich, typer, pandas, matplotlib, scipy, requests
#   .gpu/data/  a CIFAR-10 slice (2,000 training and 1,000 test images) as awbench's .npz layout
# Then ONE device call:  run(command="bash bench/gpu_session.sh", carry=[".gpu"], timeout_s=540)
set -euo pipefail
data=${AWBENCH_DATA:-../shared/data}
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/whl .gpu/data/cifar10
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/whl \
  pyautoattack==0.2.0 foolbox==3.3.4 eagerpy==0.30.0 GitPython gitdb smmap
python3 - "$data" <<'PY'
import sys
from pathlib import Path

import numpy as np

source = Path(sys.argv[1]) / "cifar10"
for split, n in (("train", 2000), ("test", 1000)):
    with np.load(source / f"cifar10_{split}.npz", allow_pickle=False) as arrays:
        keep = np.sort(np.random.default_rng(0).permutation(len(arrays["y"]))[:n])  # the files are class-sorted
        np.savez_compressed(f".gpu/data/cifar10/cifar10_{split}.npz", x=arrays["x"][keep], y=arrays["y"][keep])
PY
du -sh .gpu
