"""Training on several processes: the same command under ``torchrun``.

``torchrun --nproc_per_node N -m vgg_lessons.train ...`` starts N copies of the command
line; each finds ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in its environment and
:func:`setup` joins them into one process group (gloo on CPU, NCCL on CUDA, one GPU per
process). Then :func:`vgg_lessons.train.loop.fit` trains a DistributedDataParallel model:

- every rank draws the same shuffle and augmentation of the same *global* batch
  (``batch_size`` images) and trains on its contiguous share (``batch_size / N``), so a
  global batch, the learning rate and the schedule mean what they mean in one process;
  an image's crop and (alternating) flip follow from the seed, the epoch and its index
  in the whole training set, never from the rank;
- every rank whitens the first convolution (``whiten_first_conv``) from the whole
  training set, and DistributedDataParallel then starts all of them from rank 0's
  weights;
- DistributedDataParallel averages the gradients, and batch norm is synchronised
  (statistics over the global batch): ``nn.SyncBatchNorm`` on CUDA, and on CPU
  :class:`CrossRankBatchNorm2d`, the same arithmetic through a differentiable
  all-reduce (PyTorch's SyncBatchNorm runs on GPUs only);
- so N processes take the steps of one process on the same global batch, up to the
  order of floating-point sums (tests/test_distributed.py checks it in float64: in
  float32 that rounding can tip a max-pool window whose two largest values nearly tie,
  and from then on the runs differ as two seeds do);
- dropout (the ImageNet head only; the command line trains the CIFAR head) draws its
  masks on every rank from the same seed, so it is the one draw not of the global batch;
- testing is split over the ranks and the sums are added; rank 0 alone writes
  checkpoints, ``metrics.json``, the metrics record and the export; ``--resume``
  continues on any number of ranks (the checkpoint is the plain model's).

If a rank dies, torchrun stops the others; each prints which epoch's checkpoint is
kept and the command to continue with ``--resume``. Without ``WORLD_SIZE`` (or with 1)
nothing here does anything.
"""

from __future__ import annotations

import datetime
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import distributed as dist
from torch import nn


@dataclass(frozen=True)
class Context:
    """This process's place in the group: ``rank`` of ``world_size``, on ``device``."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and prints."""
        return self.rank == 0


_CONTEXT: Context | None = None


def launched() -> bool:
    """Whether this process is one of several that ``torchrun`` started."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def context() -> Context | None:
    """The group this process belongs to (None outside ``torchrun``, or before :func:`setup`)."""
    return _CONTEXT


def setup(device: torch.device, timeout_s: float = 120.0) -> Context | None:
    """Join the process group ``torchrun`` describes; None when not launched by it.

    On CUDA each process takes the GPU ``LOCAL_RANK`` and the backend is NCCL; elsewhere
    gloo. ``timeout_s`` bounds how long a rank waits for a dead partner.

    Raises:
        ValueError: a CUDA device asked for with fewer GPUs than local processes.
    """
    global _CONTEXT
    if not launched():
        return None
    if _CONTEXT is not None:
        return _CONTEXT
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ValueError(
                f"process {local} on this machine needs cuda:{local}, but there are "
                f"{torch.cuda.device_count()} GPU(s); use --nproc_per_node "
                f"{torch.cuda.device_count()} or fewer"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    _CONTEXT = Context(rank, world, local, device)
    return _CONTEXT


def teardown() -> None:
    """Leave the process group (after training)."""
    global _CONTEXT
    if _CONTEXT is not None and dist.is_initialized():
        dist.destroy_process_group()
    _CONTEXT = None


def check_batch(batch_size: int, ctx: Context | None) -> None:
    """Raises ValueError unless the global batch splits evenly over the ranks."""
    if ctx is not None and batch_size % ctx.world_size:
        raise ValueError(
            f"batch_size {batch_size} does not split over {ctx.world_size} processes; "
            f"use a multiple of {ctx.world_size} (it is the global batch)"
        )


class CrossRankBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the batch on all ranks together.

    The per-channel sums and sums of squares go through a differentiable all-reduce, so
    gradients also flow through the global mean and variance, as in ``nn.SyncBatchNorm``
    (which PyTorch runs on GPUs only). Outside a process group it is BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        if not (
            self.training
            and dist.is_available()
            and dist.is_initialized()
            and dist.get_world_size() > 1
        ):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        # statistics in float32 at least (bf16 activations are promoted; fp64 stays)
        xf = x.to(torch.promote_types(x.dtype, torch.float32))
        count = torch.full(
            (1,), xf.numel() / xf.shape[1], dtype=xf.dtype, device=x.device
        )
        packed = all_reduce(
            torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)), count])
        )
        c = x.shape[1]
        n = packed[-1]
        mean = packed[:c] / n
        var = (packed[c : 2 * c] / n - mean * mean).clamp_min(
            0
        )  # biased, as BN normalises
        if self.track_running_stats:
            assert (
                self.running_mean is not None
                and self.running_var is not None
                and self.num_batches_tracked is not None
            )  # track_running_stats makes all three
            with torch.no_grad():
                m = self.momentum if self.momentum is not None else 0.1
                self.num_batches_tracked += 1
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1), alpha=m)
        y = (xf - mean[None, :, None, None]) * torch.rsqrt(var + self.eps)[
            None, :, None, None
        ]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y.to(x.dtype)


def _same_state(bn: nn.Module, kind: type) -> nn.Module:
    """A ``kind`` batch norm holding ``bn``'s very parameters and buffers (the same
    tensors, so an optimizer made before the swap still updates them)."""
    new = kind(bn.num_features, bn.eps, bn.momentum, bn.affine, bn.track_running_stats)
    for name, tensor in list(bn.named_parameters(recurse=False)):
        setattr(new, name, tensor)
    for name, buffer in list(bn.named_buffers(recurse=False)):
        setattr(new, name, buffer)
    new.train(bn.training)
    return new


def sync_batch_norm(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` with every BatchNorm2d synchronised across ranks (in place where possible):
    ``nn.SyncBatchNorm`` on CUDA, :class:`CrossRankBatchNorm2d` elsewhere. The state dict
    keeps its keys, so checkpoints load into the plain model."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for module in list(model.modules()):
        for name, child in module.named_children():
            if type(child) is nn.BatchNorm2d:
                setattr(module, name, _same_state(child, CrossRankBatchNorm2d))
    return model


def plain_batch_norm(model: nn.Module) -> nn.Module:
    """Undo :func:`sync_batch_norm` (in place): plain BatchNorm2d with the same state."""
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, (CrossRankBatchNorm2d, nn.SyncBatchNorm)):
                setattr(module, name, _same_state(child, nn.BatchNorm2d))
    return model


def wrap(model: nn.Module, ctx: Context | None) -> nn.Module:
    """The module to train: DistributedDataParallel around ``model`` (whose batch norm
    :func:`sync_batch_norm` has synchronised), or ``model`` itself outside a group. DDP
    starts every rank from rank 0's weights."""
    if ctx is None:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids, broadcast_buffers=False)


def shard(
    x: torch.Tensor, y: torch.Tensor, ctx: Context | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's contiguous share of a global batch ``(B, ...)``: rows ``r*B/N .. (r+1)*B/N``."""
    if ctx is None:
        return x, y
    share = len(x) // ctx.world_size
    rows = slice(ctx.rank * share, (ctx.rank + 1) * share)
    return x[rows], y[rows]


def sum_over_ranks(values: torch.Tensor, ctx: Context | None) -> torch.Tensor:
    """``values`` summed over the ranks (a copy; itself outside a group)."""
    if ctx is None:
        return values
    values = values.clone()
    dist.all_reduce(values)
    return values


def evaluate_split(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, ctx: Context
) -> dict[str, Any]:
    """Test on all ranks together: each takes every N-th image; loss and accuracy over all."""
    from vgg_lessons.train.metrics import evaluate

    part = slice(ctx.rank, None, ctx.world_size)
    result = evaluate(model, images[part], labels[part])
    n = len(labels[part])
    sums = torch.tensor([result["loss"] * n, result["acc"] * n, n], dtype=torch.float64)
    sums = sum_over_ranks(sums.to(ctx.device), ctx).cpu()
    return dict(loss=(sums[0] / sums[2]).item(), acc=(sums[1] / sums[2]).item())


def barrier(ctx: Context | None) -> None:
    if ctx is not None:
        dist.barrier()


def stop_message(
    out_dir: str | os.PathLike | None, argv: list[str] | None = None
) -> str:
    """What a rank says when the run stops before its end: where the checkpoint is and
    how to continue."""
    from vgg_lessons.train.checkpoints import CHECKPOINT

    where = "no output folder, so nothing to resume"
    if out_dir is not None:
        path = Path(out_dir) / CHECKPOINT
        if path.exists():
            try:
                epoch = torch.load(path, weights_only=True, map_location="cpu")["epoch"]
                where = f"the checkpoint of epoch {epoch} is kept in {path}"
            except Exception:  # noqa: BLE001 (a message must not fail)
                where = f"the last checkpoint is kept in {path}"
        else:
            where = f"no epoch finished, so {path} was not written"
    args = list(sys.argv[1:] if argv is None else argv)
    again = (
        " ".join(a for a in args if a not in ("--resume", "--overwrite")) + " --resume"
    )
    return (
        f"the distributed run stopped before its end (a process failed or was killed); "
        f"{where}; continue with: torchrun --nproc_per_node N -m vgg_lessons.train {again}"
    )


def on_termination(out_dir: str | os.PathLike | None, ctx: Context | None) -> None:
    """When torchrun stops this rank (SIGTERM, after another rank died), print
    :func:`stop_message` once (from the lowest surviving rank) and exit with status 1."""
    if ctx is None:
        return

    def handler(signum, frame):  # noqa: ARG001
        print(f"rank {ctx.rank}: {stop_message(out_dir)}", file=sys.stderr, flush=True)
        os._exit(1)

    signal.signal(signal.SIGTERM, handler)
