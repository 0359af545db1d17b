#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (one NVIDIA GPU) after bench/prepare_gpu_session.sh here, as ONE call:
#     run(command="bash bench/gpu_session.sh", carry=[".gpu"], timeout_s=520)
# Phase 1, alone (timings): bench/gpu.py (resnet18, batch 128: fp32 vs bf16+channels_last training images/s,
#   AutoAttack s/1000 images).
# Phase 2, side by side (each its own process and time limit; the GPU is shared, so their seconds are only
#   comparable inside one process):
#   p17  torchrun NCCL: a PGD-AT epoch, a sharded evaluation, the same evaluation in one plain process, and
#        eval --compile --amp (issue 17)
#   p11  the zoo AW-Net: the plain default evaluation, the r-sweep with pgd + AutoAttack, the three static zoo
#        baselines with pgd + AutoAttack, each suite component alone; 500 images (issue 11)
#   p12  the deciding experiment, bench/awnet_experiment.py (issue 12)
# Each phase's folder comes back as $OUT/<phase>.tgz, written when the phase ends or hits its limit.
# Locally (CPU) as a rehearsal, a few minutes:
#     PYTHON=.venv/bin/python DEVICE=cpu TINY=1 OUT=/tmp/gpu-out bash bench/gpu_session.sh
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
py=${PYTHON:-python3}
device=${DEVICE:-cuda}
limit=${PHASE_LIMIT:-360}
work=${WORK:-/tmp/awbench-gpu}; rm -rf "$work"; mkdir -p "$work"
export PYTHONUNBUFFERED=1 AWBENCH_DATA=$PWD/.gpu/data OMP_NUM_THREADS=2
export PYTHONPATH=$PWD/.gpu/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
aw=zoo:cifar10-aw-small-cnn-awnet
if [ -n "${TINY:-}" ]; then  # CPU rehearsal: the same commands on a few images
  n=20; subset=300; gpu_args="--tiny"; exp_args="--tiny"; extra="--steps 2"
else
  n=500; subset=2000; gpu_args=""; exp_args=${EXP_ARGS:---subset 4000 --epochs 10 --n-examples 500 --jobs 7 --aw-eval suite --task-timeout 200}; extra=""
fi
awb() { $py -m awbench "$@"; }
bounded() { timeout --signal=INT --kill-after=20 "$limit" "$@"; }  # INT: awbench saves what it finished
pack() { tar -czf "$out/$1.tgz" -C "$work" "$1" 2>/dev/null; }

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
  $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  $py -c "import pyautoattack, foolbox, awbench; print('imports ok')"; } 2>&1 | tee "$out/device.txt"

echo "## phase 1: bench/gpu.py alone"
timeout 150 $py bench/gpu.py $gpu_args --device "$device" --json "$out/gpu.json" 2>&1 | tee "$out/gpu.txt"

p17() {
  local d=$work/p17; mkdir -p "$d"
  {
    echo "## torchrun NCCL: 1 epoch PGD-AT small-cnn on 2,000 images"
    $py -m torch.distributed.run --standalone --nproc_per_node 1 -m awbench train cifar10 --model small-cnn \
      --method pgd-at --epochs 1 --subset "$subset" --val-size 100 --device "$device" --out "$d" --name ddp; echo "exit $?"
    echo "## torchrun NCCL: sharded evaluation"
    $py -m torch.distributed.run --standalone --nproc_per_node 1 -m awbench eval "$d/ddp" -a pgd -a autoattack \
      --n-examples "$n" --device "$device" --out "$d/eval-nccl" --json; echo "exit $?"
    echo "## one plain process: the same evaluation (per-sample results must match the NCCL one)"
    awb eval "$d/ddp" -a pgd -a autoattack --n-examples "$n" --device "$device" --out "$d/eval-plain" --json
    echo "exit $?"
    echo "## eval --compile --amp (pgd on the same examples: compare with eval-plain's pgd)"
    awb eval "$d/ddp" -a pgd --n-examples "$n" --compile --amp --device "$device" --out "$d/eval-compile" --json
    echo "exit $?"
  } > "$d/log.txt" 2>&1
}

p11() {
  local d=$work/p11; mkdir -p "$d"
  {
    awb eval $aw --n-examples "$n" --device "$device" --out "$d/default" $extra; echo "exit $?"
  } > "$d/default.log" 2>&1 &
  {
    awb sweep-signal $aw --values 0,0.25,0.5,0.75,1 -a pgd -a autoattack --n-examples "$n" --device "$device" \
      --out "$d/sweep" $extra; echo "exit $?"
  } > "$d/sweep.log" 2>&1 &
  {
    for name in standard pgd-at trades; do
      awb eval zoo:cifar10-small-cnn-$name -a pgd -a autoattack --n-examples "$n" --device "$device" \
        --out "$d/static-$name" $extra; echo "exit $?"
    done
  } > "$d/static.log" 2>&1 &
  {
    $py bench/adaptive_components.py --n "$n" --device "$device" --json "$d/components.json"; echo "exit $?"
  } > "$d/components.log" 2>&1 &
  wait
}

p12() {
  local d=$work/p12; mkdir -p "$d"
  { $py bench/awnet_experiment.py $exp_args --device "$device" --out "$d" --data-dir "$AWBENCH_DATA"; echo "exit $?"
  } > "$d/log.txt" 2>&1
}

echo "## phase 2: p17 p11 p12 side by side (limit ${limit}s each)"
started=$SECONDS
for phase in p17 p11 p12; do
  ( bounded bash -c "$(declare -f awb p17 p11 p12); $(declare -p py device n subset extra aw exp_args work); $phase"
    echo "$phase ended (exit $?) after $((SECONDS - started)) s"; pack "$phase" ) &
done
wait
ls -la "$out"
tail -n 3 "$work"/p*/*.log "$work"/p*/log.txt 2>/dev/null
