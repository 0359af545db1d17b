#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (one NVIDIA GPU) after bench/prepare_gpu_session.sh here:
#     run(command="bash bench/gpu_session.sh", carry=[".gpu"], timeout_s=540)
# Writes into $OUT (or ./gpu-out): gpu.txt + gpu.json (bench/gpu.py: resnet18, batch 128, fp32 vs
# bf16+channels_last training images/s, AutoAttack s/1000 images), ddp.txt (a torchrun NCCL training epoch
# and a sharded NCCL evaluation), eval_compile.txt (awbench eval --compile --amp on the GPU).
# Locally (CPU, gloo) as a rehearsal:
#     PYTHON=.venv/bin/python BENCH_ARGS=--tiny EVAL_N=50 OUT=/tmp/gpu-out bash bench/gpu_session.sh
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
n=${EVAL_N:-500}
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 AWBENCH_DATA=$PWD/.gpu/data
if [ -d .gpu/whl ]; then
  $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl \
    && export PYTHONPATH=/tmp/site:$PWD || exit 1
fi
export PYTHONPATH=${PYTHONPATH:-$PWD}
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"; } | tee "$out/device.txt"
$py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$out/device.txt"

timeout 300 $py bench/gpu.py ${BENCH_ARGS:-} --json "$out/gpu.json" 2>&1 | tee "$out/gpu.txt"

{
  echo "## torchrun NCCL: 1 epoch PGD-AT small-cnn on 2,000 images"
  timeout 120 $py -m torch.distributed.run --standalone --nproc_per_node 1 -m awbench train cifar10 --model small-cnn --method pgd-at \
    --epochs 1 --subset 2000 --val-size 200 --out /tmp/runs --name ddp; echo "exit $?"
  ls /tmp/runs/ddp
  echo "## torchrun NCCL: sharded evaluation"
  timeout 120 $py -m torch.distributed.run --standalone --nproc_per_node 1 -m awbench eval /tmp/runs/ddp -a pgd -a autoattack \
    --n-examples "$n" --out /tmp/runs/ddp/eval-nccl --json; echo "exit $?"
} > "$out/ddp.txt" 2>&1

{
  echo "## eval --compile --amp on the GPU (same examples as the NCCL evaluation: pgd must agree closely)"
  timeout 180 $py -m awbench eval /tmp/runs/ddp -a pgd --n-examples "$n" --compile --amp \
    --out /tmp/runs/ddp/eval-compile --json; echo "exit $?"
} > "$out/eval_compile.txt" 2>&1
tail -n 5 "$out/ddp.txt" "$out/eval_compile.txt"
