"""benchmarks/train_speed_options.py --tiny: every eager option trains and is timed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_speed_options_tiny(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location(
        "train_speed_options", ROOT / "benchmarks" / "train_speed_options.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "speed.json"
    result = bench.main(["--tiny", "--options", "fp32,fp32+cl,bf16+cl,compile+cl", "--json", str(out)])
    assert list(result["options"]) == ["fp32", "fp32+cl", "bf16+cl"]  # --tiny leaves compile out
    for row in result["options"].values():
        assert row["steps"] == 6 and row["images_per_s"] > 0
        lo, hi = row["images_per_s_q25_q75"]
        assert lo <= row["images_per_s"] <= hi
    assert json.loads(out.read_text())["batch_size"] == 128
    assert "vs fp32+cl" in capsys.readouterr().out
