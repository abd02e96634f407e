"""The command line, ``python -m vgg_lessons.train``: train a VGG on CIFAR-10.

Its options are generated from :class:`~vgg_lessons.train.config.TrainConfig` (help text
from the fields' metadata) and its defaults are that config's, the shipped model's
recipe, so the command with no options retrains it (into ``runs/vgg11_bn``). Three
options belong to the command alone (:class:`CommandOptions`): ``--threads``,
``--export`` and ``--save-metrics``. Everything is checked before any data is loaded: a
bad option, device or output
folder costs one line of error, not a trained epoch. A finished run can write a
metrics record (``--save-metrics``) and an exported model (``--export``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from vgg_lessons.inputs import CLASSES
from vgg_lessons.models import VGG, build_vgg
from vgg_lessons.train import distributed
from vgg_lessons.train._files import LOCK, atomic_write, run_folder_lock
from vgg_lessons.train.checkpoints import (
    CHECKPOINT,
    METRICS,
    check_writable,
    checkpoint_to_resume,
    export,
)
from vgg_lessons.train.config import (
    TrainConfig,
    setting_kind,
    setting_problem,
)
from vgg_lessons.train.data import load_cifar10
from vgg_lessons.train.loop import (
    TrainingDiverged,
    fit,
    resolve_device,
    seed_everything,
)
from vgg_lessons.train.metrics import evaluate, per_class_accuracy

PROG = "python -m vgg_lessons.train"
#: The most torch CPU threads ``--threads`` accepts (torch fails beyond a C int).
MAX_THREADS = 1024
#: Where the command writes its run when not told (``--out-dir``).
DEFAULT_OUT_DIR = "runs/vgg11_bn"


@dataclasses.dataclass(frozen=True)
class CommandOptions:
    """The options of the command alone, not settings of the run that ``fit`` takes.

    Attributes:
        threads: torch CPU threads (None: torch's default).
        export: write ``STEM.pt`` (fp16 weights) and ``STEM.json`` after a finished run.
        save_metrics: write the run's record (config, command, metrics) to this JSON file.
    """

    threads: int | None = None
    export: str | None = None
    save_metrics: str | None = None


_COMMAND_HELP = {
    "threads": "torch CPU threads",
    "export": "write STEM.pt (fp16 weights) and STEM.json (config, metrics, "
    "per-class accuracy)",
    "save_metrics": "write the run's config, command, per-epoch metrics and test "
    "results to this JSON file",
}
_GROUPS = {
    "model": "the model",
    "training": "training (a run resumes only with the same)",
    "run": "data, output and machine",
}


def _parse_setting(name: str) -> Callable[[str], Any]:
    """An argparse type for setting ``name``: its kind, then its checks (quoting the text typed)."""
    kind = setting_kind(name)

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a {'whole number' if kind is int else 'number'}"
            ) from None
        problem = setting_problem(name, value, shown=text)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def _positive_threads(text: str) -> int:
    """The argparse type of ``--threads``: a whole number, 1 to :data:`MAX_THREADS`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is too small: it must be at least 1")
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(
            f"{text} is too large: it must be below {MAX_THREADS + 1}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    """One option per :class:`TrainConfig` field (its defaults), then :class:`CommandOptions`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train a VGG on CIFAR-10 (uint8 tensors on the device, SGD).",
        epilog="With no options this trains the shipped model's recipe (its card: "
        "vgg_lessons/assets/vgg11_bn_cifar10.md), about 10 minutes on 2 CPU cores.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    groups = {key: parser.add_argument_group(title) for key, title in _GROUPS.items()}
    defaults = TrainConfig(out_dir=DEFAULT_OUT_DIR)
    for f in dataclasses.fields(TrainConfig):
        options: dict[str, Any] = dict(
            default=getattr(defaults, f.name), help=f.metadata["help"]
        )
        if setting_kind(f.name) is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif "choices" in f.metadata:
            options["choices"] = f.metadata["choices"]
        elif setting_kind(f.name) is not str:
            options["type"] = _parse_setting(f.name)
        groups[f.metadata["group"]].add_argument(
            "--" + f.name.replace("_", "-"), **options
        )
    run = groups["run"]
    run.add_argument("--threads", type=_positive_threads, help=_COMMAND_HELP["threads"])
    for name in ("export", "save_metrics"):
        run.add_argument("--" + name.replace("_", "-"), help=_COMMAND_HELP[name])
    return parser


def parse_command(
    argv: list[str], parser: argparse.ArgumentParser | None = None
) -> tuple[TrainConfig, CommandOptions]:
    """The run's settings and the command's own options from the words ``argv``.

    Raises:
        ValueError: a bad combination of settings (see :class:`TrainConfig`).
    """
    args = vars((parser or build_parser()).parse_args(argv))
    own = {f.name: args.pop(f.name) for f in dataclasses.fields(CommandOptions)}
    return TrainConfig(**args), CommandOptions(**own)


def _model_config(config: TrainConfig) -> dict[str, Any]:
    return dict(
        arch=config.arch,
        bn=None if config.bn == "none" else config.bn,
        head="cifar",
        width=config.width,
    )


def _run_folder(config: TrainConfig, settings: dict[str, Any]) -> dict[str, Any] | None:
    """:func:`checkpoint_to_resume` of ``--out-dir``, its OS errors as ValueError; a link
    to nowhere refused (the folder would be made at its target, or fail)."""
    out = Path(str(config.out_dir))
    if out.is_symlink() and not out.exists():
        raise ValueError(
            f"--out-dir {out} is a link to {os.readlink(out)}, which does not "
            "exist; make that folder or choose another --out-dir"
        )
    try:
        return checkpoint_to_resume(
            out,
            settings,
            resume=config.resume,
            overwrite=config.overwrite,
            ignore=("train_images",),
        )
    except OSError as err:  # a name too long, a loop of links ...
        raise ValueError(
            f"cannot use --out-dir {out}: {err.strerror or err}; choose another folder"
        ) from None


def check_before_data(
    config: TrainConfig, options: CommandOptions | None = None
) -> torch.device:
    """Check everything that can be checked without the data; return the device.

    Also sets torch's CPU threads (``--threads``) and says when a run is resumed.

    Raises:
        ValueError: an unknown architecture or width, a missing device, an output path
            that cannot be written, a run folder that holds a run (without ``--resume``
            or ``--overwrite``), or a checkpoint that cannot be resumed.
    """
    options = options or CommandOptions()
    if options.threads:
        torch.set_num_threads(options.threads)
    device = resolve_device(config.device)
    if config.train_size is not None and config.batch_size > config.train_size:
        raise ValueError(
            f"--batch-size {config.batch_size} exceeds --train-size "
            f"{config.train_size}; lower the batch size or use more images"
        )
    try:
        with torch.device("meta"):
            planned = build_vgg(**_model_config(config)).config
    except (ValueError, OverflowError, RuntimeError) as err:
        raise ValueError(
            f"--arch {config.arch} --bn {config.bn} --width {config.width}: {err}"
        ) from None
    for option in ("export", "save_metrics"):
        if getattr(options, option):
            check_writable(
                Path(getattr(options, option)).parent, f"--{option.replace('_', '-')}"
            )
    if config.out_dir is not None:
        out = Path(config.out_dir)
        blob = _run_folder(config, dict(model=planned, **config.training_settings()))
        if blob is not None:
            print(
                f"resuming {out}: epochs 1-{blob['epoch']} are done (resumed runs are bit-exact "
                "on CPU with the same --threads)"
            )
    return device


def _record(
    config: TrainConfig,
    options: CommandOptions,
    model: VGG,
    history: list[dict],
    earlier: list[dict],
    argv: list[str],
    wall: float,
    device: torch.device,
    diverged: str | None,
) -> dict:
    """The run's metrics record: its command, config, per-epoch metrics, times and machine."""
    return dict(
        command=f"{PROG} {shlex.join(argv)}",
        config=json.loads(
            json.dumps(
                dict(
                    model=model.config,
                    **dataclasses.asdict(config),
                    **dataclasses.asdict(options),
                )
            )
        ),
        metrics=history,
        epochs=len(history),
        resumed_after_epoch=len(earlier),
        diverged=diverged,
        wall_seconds=wall,
        train_seconds=sum(r["seconds"] for r in history),
        device=str(device),
        threads=torch.get_num_threads(),
        cpu=platform.processor() or platform.machine(),
        torch=torch.__version__,
    )


def _test_results(
    model: VGG, test_data: tuple[torch.Tensor, torch.Tensor]
) -> dict[str, Any]:
    ev = evaluate(model, *test_data)
    tta = evaluate(model, *test_data, flip_tta=True)
    return dict(
        test_acc=ev["acc"],
        test_loss=ev["loss"],
        test_acc_flip_tta=tta["acc"],
        test_acc_per_class=per_class_accuracy(test_data[1], ev["predictions"], CLASSES),
    )


def check_output_paths(config: TrainConfig, options: CommandOptions) -> None:
    """Refuse empty paths and any two of the run's files that are one file.

    The run writes ``checkpoint.pt``, ``metrics.json`` and ``.lock`` in ``--out-dir``,
    ``STEM.pt`` and ``STEM.json`` for ``--export STEM`` and the ``--save-metrics``
    file: one of them pointed at another would replace it.

    Raises:
        ValueError: an empty path, a folder where a file is asked for, or a clash.
    """
    written: dict[Path, str] = {}
    if config.out_dir is not None:
        if not config.out_dir.strip():
            raise ValueError("--out-dir '' is empty; give a folder such as runs/vgg11")
        for name in (CHECKPOINT, METRICS, LOCK):
            written[Path(config.out_dir, name)] = f"the run's {name} in --out-dir"
    files = []
    if options.export is not None:
        stem = Path(options.export)
        if (
            not options.export.strip()
            or stem.name in ("", ".", "..")
            or (options.export.endswith(("/", os.sep)))
        ):
            raise ValueError(
                f"--export {options.export!r} names no file; give a file stem such as "
                "runs/vgg11_bn (it writes STEM.pt and STEM.json)"
            )
        files += [(stem.with_suffix(s), "--export") for s in (".pt", ".json")]
    if options.save_metrics is not None:
        files.append((Path(options.save_metrics), "--save-metrics"))
        if not options.save_metrics.strip() or Path(options.save_metrics).is_dir():
            raise ValueError(
                f"--save-metrics {options.save_metrics!r} is not a file path; give one "
                "such as runs/vgg11_bn.json"
            )
    for path, option in files:
        key = path.resolve()
        same = [what for p, what in written.items() if p.resolve() == key]
        if same:
            raise ValueError(
                f"{option} {path} is {same[0]}: the run would replace it; choose "
                "another path"
            )
        written[path] = f"the file {option} writes"


def _cpu_features() -> str:
    """The CPU's matrix features that decide fp32 and bf16 speed, in words (Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = set(text.split("flags", 1)[1].split("\n", 1)[0].split())
    except (OSError, IndexError):
        return "features unknown"
    named = [
        name
        for flag, name in (
            ("avx2", "AVX2"),
            ("avx512f", "AVX-512"),
            ("avx512_bf16", "AVX-512 BF16"),
            ("amx_tile", "AMX"),
        )
        if flag in flags
    ]
    missing = (
        "no AVX-512"
        if "avx512f" not in flags
        else "no AMX"
        if "amx_tile" not in flags
        else ""
    )
    return ", ".join(named + ([missing] if missing else [])) or "no AVX2"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """``python -m vgg_lessons.train``: train a VGG on CIFAR-10 from the command line.

    The run folder is locked (``.lock``, with this process's id) from the checks to
    the end: a second run into it is refused. Ctrl-C ends the command with status 130
    and a line saying where the last good checkpoint is and how to resume.

    Returns:
        The run's per-epoch metrics. Exits with status 2 (and one line) for a bad option
        or output folder, 1 for missing data or a diverged run.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    t_start = time.perf_counter()
    with contextlib.ExitStack() as held:
        try:
            config, options = parse_command(argv, parser)
            check_output_paths(config, options)
            device = check_before_data(config, options)
            ctx = distributed.setup(device)  # under torchrun: join the other processes
            if config.out_dir is not None and (ctx is None or ctx.is_main):
                held.enter_context(run_folder_lock(Path(config.out_dir)))
        except ValueError as err:
            parser.error(str(err))
        except OSError as err:  # the run folder could not be made or locked
            parser.error(f"cannot use --out-dir {config.out_dir}: {_os_error(err)}")
        if ctx is not None:
            device = ctx.device
            distributed.on_termination(config.out_dir, ctx)
        return _train(parser, config, options, device, argv, t_start, ctx)


def _where_saved(config: TrainConfig, argv: list[str], done: list[dict]) -> str:
    """Where the last good checkpoint is and how to go on (Ctrl-C, a failed write)."""
    if config.out_dir is None:
        return "nothing was saved (no --out-dir)"
    if not done and not config.resume:
        return "no checkpoint of this run was written yet"
    again = [a for a in argv if a != "--overwrite"]
    again += [] if "--resume" in again else ["--resume"]
    epoch = f"epoch {done[-1]['epoch']}" if done else "the one resumed from"
    return (
        f"the last good checkpoint ({epoch}) is "
        f"{Path(config.out_dir) / CHECKPOINT}; continue with: {PROG} {shlex.join(again)}"
    )


def _os_error(err: OSError) -> str:
    """A failed write in one line: what it says and the file it names."""
    where = f" ({err.filename})" if err.filename else ""
    return f"{err.strerror or err}{where}"


def _write_outputs(
    options: CommandOptions, model: VGG, info: dict[str, Any], finished: bool
) -> None:
    """Write the metrics record (``--save-metrics``) and, for a finished run, the export."""
    if options.save_metrics:
        atomic_write(
            Path(options.save_metrics), lambda fh: json.dump(info, fh, indent=1), "w"
        )
        print(f"wrote {options.save_metrics}")
    if options.export and finished:
        export(Path(options.export), model, info)
        print(f"exported {Path(options.export).with_suffix('.pt')} and .json")


def _train(
    parser: argparse.ArgumentParser,
    config: TrainConfig,
    options: CommandOptions,
    device: torch.device,
    argv: list[str],
    t_start: float,
    ctx: Any = None,
) -> list[dict[str, Any]]:
    """Load the data, train, report and write the record and export (see :func:`main`).

    ``ctx`` is the torchrun context (:func:`distributed.setup`) or None: under torchrun
    every rank trains and rank 0 alone tests, reports and writes.
    """
    cpu_start = time.process_time()
    try:
        train_data, test_data = (
            load_cifar10(split, config.data_root) for split in ("train", "test")
        )
    except (ValueError, OSError) as err:
        parser.exit(1, f"{PROG}: error: {err}\n")
    seed_everything(config.seed)
    model = build_vgg(**_model_config(config))
    diverged: str | None = None
    this_run: list[dict[str, Any]] = []  # the epochs this command trains (not resumed)
    try:
        history = fit(
            model,
            train_data,
            test_data,
            config,
            device=str(device),
            callback=this_run.append,
        )
    except (
        TrainingDiverged
    ) as err:  # keep what was learnt about the run: it is a result too
        diverged, history = str(err), err.history
        print(f"stopped: {diverged}", file=sys.stderr)
    except KeyboardInterrupt:
        parser.exit(130, f"interrupted: {_where_saved(config, argv, this_run)}\n")
    except ValueError as err:  # what only the data shows (its size, a changed set)
        parser.error(str(err))
    except OSError as err:  # a checkpoint that could not be written: a full disk
        kept = _where_saved(config, argv, this_run)
        parser.exit(1, f"{PROG}: error: {_os_error(err)}; {kept}\n")
    except RuntimeError as err:  # a partner process died (gloo and NCCL raise these)
        if ctx is None:
            raise
        print(
            f"rank {ctx.rank}: {err}\n{distributed.stop_message(config.out_dir, argv)}",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(1) from None
    if ctx is not None and not ctx.is_main:  # rank 0 tests, writes and reports
        distributed.teardown()
        if diverged is not None:
            raise SystemExit(1)
        return history
    # A resumed run's wall time counts the earlier command's epochs too (by their epoch
    # times; its data loading is not known), so the record stays the cost of the whole run.
    earlier = history[: len(history) - len(this_run)]
    wall = time.perf_counter() - t_start + sum(r["seconds"] for r in earlier)
    info = _record(
        config, options, model, history, earlier, argv, wall, device, diverged
    )
    info["cpu_seconds"] = time.process_time() - cpu_start  # this command's, all threads
    info["cpu_features"] = _cpu_features()
    if ctx is not None:
        info["processes"] = ctx.world_size
    if diverged is None:
        info.update(_test_results(model, test_data))
        resumed = (
            f" (epochs 1-{len(earlier)} by an earlier command, counted by their epoch "
            f"times)"
            if earlier
            else ""
        )
        print(
            f"test accuracy {info['test_acc']:.4f} ({info['test_acc_flip_tta']:.4f} with flip "
            f"averaging) after {len(history)} epochs; {wall:.0f} s wall time on {device}{resumed}"
        )
    try:
        _write_outputs(options, model, info, diverged is None)
    except OSError as err:
        parser.exit(1, f"{PROG}: error: {_os_error(err)}\n")
    distributed.teardown()
    if diverged is not None:
        raise SystemExit(1)
    return history
