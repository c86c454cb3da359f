"""The command line shared by the ``python -m hdrkit.…_train`` trainers (gcm, temporal-clues, kpn-mfi).

Each trainer adds its own options to :func:`trainer_parser` and calls :func:`parse_trainer_args`, which sets the
torch thread count (the trainer's process is its own: a ``python -m`` entry point, not library code) and returns a
timestamped console :data:`~hdrkit.progress.ProgressFn`."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Tuple

from hdrkit.progress import ProgressFn, console_progress


def trainer_parser(doc: str, recipes: Iterable[str], default: str) -> argparse.ArgumentParser:
    """``--recipe --data -o/--output --log --curve --threads``: the options every trainer has."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--recipe", default=default, choices=sorted(recipes))
    ap.add_argument("--data", required=True, help="folder holding hdr/ and hdr_extra/")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--log")
    ap.add_argument("--curve")
    ap.add_argument("--threads", type=int, default=1)
    return ap


def parse_trainer_args(ap: argparse.ArgumentParser, argv: Optional[Sequence[str]] = None
                       ) -> Tuple[argparse.Namespace, ProgressFn]:
    """Parse ``argv``, set ``torch.set_num_threads(--threads)``, return ``(args, console progress)``."""
    import torch

    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    return a, console_progress()


def train_recipe(recipes: Mapping[str, Any], recipe: str, data: str, out: str, log_path: Optional[str],
                 train: Callable, save_weights: Callable, progress: Optional[ProgressFn] = None,
                 **overrides) -> Tuple[Any, Any, dict]:
    """The video trainers' ``run``: ``recipes[recipe]`` with the given (non-``None``) ``overrides``, trained on the
    training panoramas (:func:`hdrkit.data.split.training_files`) by ``train(cfg, files, progress) → (model, log)``;
    the model (its ``info["recipe"]`` set) written by ``save_weights(out, model)``, the JSON ``log`` to
    ``log_path`` (atomic).  Returns ``(cfg, model, log)``."""
    import json

    from hdrkit.data.split import training_files
    from hdrkit.io.atomic import atomic_write_bytes

    cfg = replace(recipes[recipe], **{k: v for k, v in overrides.items() if v is not None})
    model, log = train(cfg, training_files(data), progress)
    model.info["recipe"] = recipe
    save_weights(out, model)
    if log_path:
        atomic_write_bytes(log_path, json.dumps(log).encode())
    return cfg, model, log
