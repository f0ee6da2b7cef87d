#!/usr/bin/env bash
# On a machine with a CUDA GPU (CI has none): the trainer's tests on the GPU, the training speed
# there against the conventional loop, and the reference run (seed preset, 20 epochs,
# Fashion-MNIST) trained on the GPU and evaluated. Usage: bash bench/gpu_check.sh [OUT_DIR]
set -euo pipefail
py=${PYTHON:-python3}
out=${1:-bench/out}
mkdir -p "$out"
$py -c 'import torch; assert torch.cuda.is_available(), "no CUDA GPU here"; print("torch", torch.__version__, "on", torch.cuda.get_device_name())'
VAE_TEST_DEVICE=cuda $py -m pytest -q -p no:cacheprovider tests/test_trainer.py
$py -m bench.train_speed --device cuda --repeats 3
time $py -m vae train --preset seed --dataset fashion-mnist --device cuda --out "$out/fashion-gpu.pt"
$py -m vae evaluate "$out/fashion-gpu.pt"
