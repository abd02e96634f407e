"""Checkpoints: save, check, load and export them; run folders (shipped models: ``weights``).

A checkpoint holds plain tensors, numbers and strings (settings and metrics as JSON),
so it loads with ``torch.load(..., weights_only=True)``: no pickled object ever runs.
It also holds a checksum of everything else in it (tensors, epoch, settings, metrics):
a damaged or edited file is refused, not trained on, and so is one without a checksum
unless it says it predates them (:data:`PREDATES_CHECKSUMS`). Files are written all
or nothing (:func:`atomic_write`), and only with finite weights; NaN weights are
refused when loaded too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vgg_lessons.models import VGG, build_vgg
from vgg_lessons.train._files import atomic_write, first_line
from vgg_lessons.train.config import TrainConfig

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"
#: The ``checksum`` of a file written before checksums: it is read unchecked.
PREDATES_CHECKSUMS = "none: written before checksums"


def _tensors(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, leaf)`` of a nest of dicts and lists, in a fixed order."""
    if isinstance(obj, dict):
        for key in sorted(obj, key=str):
            yield from _tensors(obj[key], f"{prefix}/{key}")
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from _tensors(item, f"{prefix}/{i}")
    else:
        yield prefix, obj


def checksum(*states: Any) -> str:
    """A CRC-32 of every tensor's bytes (and every other leaf's ``repr``) in ``states``."""
    crc = 0
    for state in states:
        for path, leaf in _tensors(state):
            crc = zlib.crc32(path.encode(), crc)
            if isinstance(leaf, torch.Tensor):
                flat = leaf.detach().cpu().contiguous().reshape(-1)
                crc = zlib.crc32(flat.view(torch.uint8).numpy().data, crc)
            else:
                crc = zlib.crc32(repr(leaf).encode(), crc)
    return f"crc32:{crc:08x}"


def file_checksum(blob: dict[str, Any]) -> str:
    """The checksum of a checkpoint: of every entry but ``checksum`` itself
    (weights, optimizer state, epoch, settings, metrics, record)."""
    return "file-" + checksum({k: v for k, v in blob.items() if k != "checksum"})


def _check_checksum(path: Path, blob: dict[str, Any]) -> None:
    """Refuse a file whose checksum is missing or does not match (ValueError, one line).

    ``file-crc32:`` covers the whole file; ``crc32:`` (files of earlier versions) its
    tensors only; :data:`PREDATES_CHECKSUMS` is accepted unchecked.
    """
    stored = blob.get("checksum")
    if stored == PREDATES_CHECKSUMS:
        return
    if stored is None:
        raise ValueError(
            f"{path} has no checksum, so damage or edits to it cannot be seen; write "
            "it again with vgg_lessons (fit or --export), or, if it predates "
            f"checksums, set its 'checksum' to {PREDATES_CHECKSUMS!r}"
        )
    if not isinstance(stored, str) or stored != (
        file_checksum(blob)
        if stored.startswith("file-")
        else checksum(blob["model"], blob.get("optimizer", {}))
    ):
        raise ValueError(
            f"{path} is damaged or was edited: its contents do not match its "
            "checksum; delete it and start again (or restore it from a copy)"
        )


def nonfinite_tensors(state: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors in ``state`` that hold a NaN or an infinity."""
    return [
        name
        for name, t in state.items()
        if t.is_floating_point() and not torch.isfinite(t).all()
    ]


def save_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    epoch: int,
    settings: dict[str, Any],
    history: list[dict[str, Any]],
) -> None:
    """Write ``path`` atomically: weights, optimizer state, ``epoch`` (done), settings, metrics.

    Raises:
        FloatingPointError: a weight or buffer is NaN or infinite (nothing is written).
    """
    state, opt_state = model.state_dict(), optimizer.state_dict()
    bad = nonfinite_tensors(state)
    if bad:
        raise FloatingPointError(
            f"{', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''} "
            "hold NaN or infinite values"
        )
    blob = dict(
        model=state,
        optimizer=opt_state,
        epoch=epoch,
        config=json.dumps(settings),
        metrics=json.dumps(history),
    )
    blob["checksum"] = file_checksum(blob)
    atomic_write(path, lambda fh: torch.save(blob, fh))


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The raw contents of a checkpoint, checked: plain tensors only, intact if it has a checksum.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: pickled objects, a damaged or empty file (one line, with what to do).
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ValueError(
            f"{path} is not a file (a folder or a device); move it away or give the "
            "checkpoint's path"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"refusing to load {path}: it is not a plain-tensor checkpoint (it may hold pickled "
            f"Python objects, which could run code when loaded, or be damaged or empty). Save "
            f"checkpoints as a state dict of tensors with JSON config. Details: {first_line(err)}"
        ) from None
    if not isinstance(blob, dict) or not isinstance(blob.get("model"), dict):
        raise ValueError(
            f"{path} holds no model state dict; expected a checkpoint written by "
            "vgg_lessons (train.fit or --export)"
        )
    _check_checksum(path, blob)
    return blob


def load_checkpoint(path: str | os.PathLike) -> tuple[VGG, dict[str, Any]]:
    """Load a checkpoint written by :func:`~vgg_lessons.train.loop.fit` or a shipped model.

    Returns:
        ``(model, info)``: the VGG (float32, CPU, eval mode) and a dict with its
        ``config`` (build_vgg arguments and training settings), ``metrics`` (per-epoch
        dicts) and whatever else the file recorded.

    Raises:
        ValueError: the file holds pickled objects, is damaged, or has no model config.
    """
    blob = read_checkpoint(path)
    info = {
        k: json_entry(Path(path), blob, k) if k in ("config", "metrics", "info") else v
        for k, v in blob.items()
        if k not in ("model", "optimizer")
    }
    config = info.get("config", {})
    model_cfg = config.get("model") if isinstance(config, dict) else None
    if not isinstance(model_cfg, dict) or not model_cfg:
        raise ValueError(
            f"{path} has no model config; expected a checkpoint from vgg_lessons.train"
        )
    bad = nonfinite_tensors(blob["model"])
    if bad:
        raise ValueError(
            f"{path} holds NaN or infinite weights ({', '.join(bad[:3])}); it is no "
            "usable model: take an earlier checkpoint or train again"
        )
    try:
        model = build_vgg(**model_cfg)
        state = {
            k: v.float() if v.is_floating_point() else v
            for k, v in blob["model"].items()
        }
        model.load_state_dict(state)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"{path}: its weights do not fit its model config ({first_line(err)}); "
            "the file is damaged or was not written by vgg_lessons"
        ) from None
    return model.eval(), info


def json_entry(path: Path, blob: dict[str, Any], key: str) -> Any:
    """Entry ``key`` of a checkpoint, a JSON text, decoded (ValueError naming the file)."""
    try:
        return json.loads(blob[key])
    except (TypeError, ValueError, KeyError):
        raise ValueError(
            f"{path}: its {key!r} entry is {'missing' if key not in blob else 'not JSON'};"
            " the file is damaged or was not written by vgg_lessons"
        ) from None


def check_resumable(path: Path, blob: dict[str, Any]) -> None:
    """Refuse a checkpoint a run cannot continue from (ValueError, one line).

    It needs optimizer state, settings (a JSON object), metrics (a JSON list, one row
    an epoch) and the epoch done (a whole number from 1): an exported model has none.
    """
    if "optimizer" not in blob or "epoch" not in blob:
        raise ValueError(
            f"{path} is an exported model or a shipped one, not a training checkpoint "
            "(no optimizer state or epoch); a run resumes only from the checkpoint.pt "
            "that fit wrote"
        )
    config, metrics, epoch = (
        json_entry(path, blob, "config"),
        json_entry(path, blob, "metrics"),
        blob["epoch"],
    )
    if not isinstance(config, dict) or not isinstance(blob["optimizer"], dict):
        raise ValueError(
            f"{path}: its config or optimizer state is not a mapping; the file is "
            "damaged: delete it and start again"
        )
    if (
        not isinstance(epoch, int)
        or not isinstance(metrics, list)
        or epoch < 1
        or [r.get("epoch") if isinstance(r, dict) else r for r in metrics]
        != list(range(1, epoch + 1))
    ):
        raise ValueError(
            f"{path}: its epoch ({epoch!r}) does not match its metrics (one row an "
            "epoch, from 1); the file is damaged: delete it and start again"
        )


def export(path_stem: Path, model: VGG, info: dict[str, Any]) -> None:
    """Write ``<stem>.pt`` (fp16 state dict + JSON config/metrics) and ``<stem>.json``.

    The model's config goes in ``config["model"]``, as in training checkpoints, so
    :func:`load_checkpoint` reads both.
    """
    state = {
        k: v.detach()
        .to("cpu", torch.float16 if v.is_floating_point() else v.dtype)
        .contiguous()
        for k, v in model.state_dict().items()
    }
    blob = dict(
        model=state,
        config=json.dumps(info["config"]),
        metrics=json.dumps(
            [
                {k: v for k, v in r.items() if k != "step_losses"}
                for r in info["metrics"]
            ]
        ),
        info=json.dumps(
            {k: v for k, v in info.items() if k not in ("config", "metrics")}
        ),
    )
    blob["checksum"] = file_checksum(blob)
    atomic_write(path_stem.with_suffix(".pt"), lambda fh: torch.save(blob, fh))
    atomic_write(
        path_stem.with_suffix(".json"), lambda fh: json.dump(info, fh, indent=1), "w"
    )


# ---- run folders ---------------------------------------------------------------------
def check_writable(path: Path, what: str) -> None:
    """Raise ValueError unless ``path`` (a folder, or the folder of a file) can be made and written.

    The nearest existing ancestor must be a folder this process may write to.
    """
    folder = Path(path)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(
            f"cannot write {what} {path}: {existing} is a file, not a folder; "
            "choose another path or move that file"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(
            f"cannot write {what} {path}: {existing} is not writable; choose "
            "another path or fix its permissions"
        )


def check_run_folder(
    out: Path, *, resume: bool, overwrite: bool
) -> dict[str, Any] | None:
    """Check a run's output folder before training; return the checkpoint to resume, if any.

    Raises:
        ValueError: the folder cannot be written, already holds a run and neither
            ``resume`` nor ``overwrite`` is set, or ``resume`` is set and there is no
            checkpoint (or a damaged one).
    """
    check_writable(out, "the run folder")
    if out.exists() and not out.is_dir():
        raise ValueError(
            f"cannot write the run folder {out}: it is a file; choose another "
            "output folder"
        )
    found = [name for name in (CHECKPOINT, METRICS) if (out / name).exists()]
    if resume:
        if CHECKPOINT not in found:
            raise ValueError(
                f"nothing to resume: no {CHECKPOINT} in {out}; leave out resume "
                "(--resume) to start a new run there"
            )
        blob = read_checkpoint(out / CHECKPOINT)
        check_resumable(out / CHECKPOINT, blob)
        return blob
    if found and not overwrite:
        raise ValueError(
            f"{out} already holds a run ({', '.join(found)}); continue it with "
            "--resume (resume=True), replace it with --overwrite (overwrite=True), "
            "or choose another output folder"
        )
    return None


def checkpoint_to_resume(
    out: Path,
    settings: dict[str, Any],
    *,
    resume: bool,
    overwrite: bool,
    ignore: tuple[str, ...] = (),
) -> dict[str, Any] | None:
    """The checkpoint in ``out`` to resume from (None for a new run), its settings checked.

    The one resume check: :func:`start_or_resume` (in ``fit``) and the command line
    (before it loads any data) both call it.

    Args:
        settings: the settings of the run about to start (``model`` and the ``training``
            group of :class:`~vgg_lessons.train.config.TrainConfig`).
        ignore: saved settings not to compare (the command line does not know
            ``train_images`` before the data is loaded).

    Raises:
        ValueError: see :func:`check_run_folder`; or the checkpoint's settings differ
            from ``settings`` (the message lists them).
    """
    blob = check_run_folder(out, resume=resume, overwrite=overwrite)
    if blob is None:
        return None
    saved = {k: v for k, v in json.loads(blob["config"]).items() if k not in ignore}
    differ = settings_differences(saved, settings)
    if differ:
        raise ValueError(
            f"cannot resume from {out / CHECKPOINT}: its settings differ "
            f"(saved, now): {differ}; use the same settings or a new output folder"
        )
    return blob


def start_or_resume(
    out: Path | None,
    settings: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    resume: bool,
    overwrite: bool,
) -> tuple[int, list[dict[str, Any]]]:
    """``(epochs done, their metrics)``: restored from ``out``'s checkpoint when resuming
    (weights and optimizer state loaded in place), else ``(0, [])``.

    An earlier run in ``out`` is replaced only with ``overwrite``, and only when the new
    run writes its first checkpoint (its files are kept until then: a new run that
    diverges or is stopped in its first epoch leaves the earlier one as it was).

    Raises:
        ValueError: see :func:`checkpoint_to_resume`.
    """
    if out is None:
        return 0, []
    blob = checkpoint_to_resume(out, settings, resume=resume, overwrite=overwrite)
    if blob is None:
        return 0, []
    try:
        model.load_state_dict(blob["model"])
        optimizer.load_state_dict(blob["optimizer"])
    except (ValueError, RuntimeError, KeyError) as err:
        raise ValueError(
            f"cannot resume from {out / CHECKPOINT}: its weights or optimizer state do "
            f"not fit the model ({first_line(err)}); delete it or use another folder"
        ) from None
    return blob["epoch"], json.loads(blob["metrics"])


def settings_differences(
    saved: dict[str, Any], now: dict[str, Any]
) -> dict[str, tuple]:
    """``{name: (saved, now)}`` for every setting that differs (compared as JSON values).

    A setting the checkpoint does not name (one added to TrainConfig after it was
    written) does not differ when it is now at its default: the old run had that
    behaviour."""
    saved, now = json.loads(json.dumps(saved)), json.loads(json.dumps(now))
    defaults = json.loads(json.dumps(dataclasses.asdict(TrainConfig())))
    return {
        k: (saved.get(k), now.get(k))
        for k in sorted(set(saved) | set(now))
        if saved.get(k) != now.get(k)
        and not (k not in saved and k in defaults and now.get(k) == defaults[k])
    }
