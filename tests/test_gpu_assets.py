"""scripts/gpu_assets.sh --tiny: the GPU script runs end to end on a CPU (toy data)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from test_train import _image_folder

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_assets_tiny_runs_on_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _image_folder(tmp_path, monkeypatch)
    out = tmp_path / "out"
    env = dict(os.environ, VGG_LESSONS_DATA=str(root), GPU_ASSETS_OUT=str(out),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([str(ROOT / "scripts" / "gpu_assets.sh"), "--tiny"], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for name, arch in (("vgg11_bn_gpu_cifar10", "A"), ("vgg16_bn_gpu_cifar10", "D")):
        info = json.loads((out / f"{name}.json").read_text())
        assert info["config"]["model"]["arch"] == arch
        assert info["made_by"].startswith("(`scripts/gpu_assets.sh`")
        state = torch.load(out / f"{name}.pt", weights_only=True)
        assert state  # the exported weights load
        card = (out / f"{name}.md").read_text()
        assert f"# Model card: `{name}`" in card
        assert "so the target is not met" in card  # 1 epoch of toy data on a CPU
        assert "training images/s" in done.stdout and name in done.stdout
