"""The depth and start-problem grids' records (``vgg_lessons/assets/depth/*.json``), summarised.

``scripts/depth_grid.py`` writes one JSON record per run: ``grid`` ("depth" or "start"),
``arch``, ``depth``, ``seed``, ``init`` (start grid), ``metrics`` (per epoch), ``test_acc``,
``train_seconds``, ``cpu_seconds``, ``macs_per_image``, ``train_images``, ``epochs``,
``signal_at_init`` (start grid: per-stage ``activation_std`` and ``weight_grad_std``)
and the machine. The functions here turn whatever records are there (a grid may be
cut short) into the rows a chapter plots and quotes; each row says how many seeds it
rests on.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Where the records are shipped.
DEPTH_RECORDS = Path(__file__).resolve().parent.parent / "assets" / "depth"

#: A start-grid run "learns" if its last epoch's mean training loss is below a uniform
#: guess's ln(10) = 2.303 nats by at least this much.
LEARNS_MARGIN = 0.1


def load_records(
    folder: str | Path = DEPTH_RECORDS, grid: str | None = None
) -> list[dict[str, Any]]:
    """Every record in ``folder`` (of ``grid`` only, if given), sorted by depth, init, seed."""
    folder = Path(folder)
    records = (
        [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
        if folder.is_dir()
        else []
    )
    if grid is not None:
        records = [r for r in records if r["grid"] == grid]
    return sorted(records, key=lambda r: (r["depth"], r.get("init") or "", r["seed"]))


def training_macs(record: dict[str, Any]) -> float:
    """Multiply-accumulates spent on training: 3 x forward (forward, input and weight
    gradients) per image, times the images seen (whole batches only)."""
    batch = record["config"]["training"]["batch_size"]
    per_epoch = record["train_images"] // batch * batch
    return 3.0 * record["macs_per_image"] * per_epoch * record["epochs"]


def depth_summary(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per depth of the depth grid's finished runs.

    Returns:
        Rows ``depth``, ``arch``, ``seeds`` (how many runs), ``acc_mean``, ``acc_std``
        (sample standard deviation; None for one seed), ``acc_min``, ``acc_max``
        (fractions), ``seconds_mean`` (wall), ``cpu_seconds_mean``,
        ``fastest_epoch_seconds`` (the shortest wall time of any epoch of any seed: on a
        shared machine, the one least slowed by the neighbours), ``macs_per_image``,
        ``training_tmacs`` (10^12 MACs a run) and ``acc_per_tmac`` (mean accuracy over
        training TMACs).
    """
    rows = []
    for depth in sorted({r["depth"] for r in records if r["grid"] == "depth"}):
        runs = [
            r
            for r in records
            if r["grid"] == "depth"
            and r["depth"] == depth
            and r.get("test_acc") is not None
        ]
        if not runs:
            continue
        accs = [r["test_acc"] for r in runs]
        tmacs = statistics.fmean(training_macs(r) for r in runs) / 1e12
        rows.append(
            dict(
                depth=depth,
                arch=runs[0]["arch"],
                seeds=len(runs),
                acc_mean=statistics.fmean(accs),
                acc_std=statistics.stdev(accs) if len(accs) > 1 else None,
                acc_min=min(accs),
                acc_max=max(accs),
                seconds_mean=statistics.fmean(r["train_seconds"] for r in runs),
                cpu_seconds_mean=statistics.fmean(r["cpu_seconds"] for r in runs),
                fastest_epoch_seconds=min(
                    row["seconds"] for r in runs for row in r["metrics"]
                ),
                macs_per_image=runs[0]["macs_per_image"],
                training_tmacs=tmacs,
                acc_per_tmac=statistics.fmean(accs) / tmacs,
            )
        )
    return rows


def depth_contrast(
    summary: Sequence[dict[str, Any]], shallow: int, deep: int
) -> dict[str, Any]:
    """How the ``deep`` row of :func:`depth_summary` compares with the ``shallow`` one.

    Returns:
        ``gain``: the deep mean accuracy minus the shallow one, in percentage points;
        ``order``: "single" if either row rests on one seed (no spread to compare the
        gain with), else "above" if every deep run beats every shallow run, "below" if
        every one loses, "overlap" if their ranges (min to max over seeds) overlap;
        ``seeds``: the fewer of the two rows' seed counts.

    Raises:
        ValueError: a depth with no finished run in ``summary``.
    """
    rows = {row["depth"]: row for row in summary}
    missing = [d for d in (shallow, deep) if d not in rows]
    if missing:
        raise ValueError(
            f"no finished run of depth {missing} in the summary (it has depths "
            f"{sorted(rows)}); wait for the grid or pass depths it holds"
        )
    low, high = rows[shallow], rows[deep]
    if min(low["seeds"], high["seeds"]) < 2:
        order = "single"
    elif high["acc_min"] > low["acc_max"]:
        order = "above"
    elif high["acc_max"] < low["acc_min"]:
        order = "below"
    else:
        order = "overlap"
    return dict(
        gain=100 * (high["acc_mean"] - low["acc_mean"]),
        order=order,
        seeds=min(low["seeds"], high["seeds"]),
    )


def learns(record: dict[str, Any]) -> bool:
    """Whether a run's last epoch's training loss is below ln(10) by :data:`LEARNS_MARGIN`
    (a diverged run does not learn)."""
    if record.get("diverged") or not record["metrics"]:
        return False
    return record["metrics"][-1]["train_loss"] < math.log(10) - LEARNS_MARGIN


def start_summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per start-grid run: ``depth``, ``init``, ``seed``, ``learns``,
    ``diverged`` (bool), ``init_loss`` (the loss on one batch before any step; large
    when the initial logits are), ``first_loss`` and ``last_loss`` (first step, last
    epoch's mean; None for a run that diverged in its first epoch), ``test_acc``,
    ``stage_std_at_init`` (each stage's output spread, 5 numbers) and
    ``spread_ratio`` (stage 5's over stage 1's: how much the signal shrank or grew)."""
    rows = []
    for r in records:
        if r["grid"] != "start":
            continue
        spread = r["signal_at_init"]["activation_std"]
        first = r["metrics"][0]["step_losses"][0] if r["metrics"] else None
        rows.append(
            dict(
                depth=r["depth"],
                init=r["init"],
                seed=r["seed"],
                learns=learns(r),
                diverged=bool(r.get("diverged")),
                init_loss=r["signal_at_init"]["loss"],
                first_loss=first,
                last_loss=r["metrics"][-1]["train_loss"] if r["metrics"] else None,
                test_acc=r.get("test_acc"),
                stage_std_at_init=spread,
                spread_ratio=spread[-1] / spread[0] if spread[0] else float("nan"),
            )
        )
    return rows
