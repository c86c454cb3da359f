"""``hdrkit train meta``: meta-train the embedded MLP's initialisation theta_init."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

train_app = typer.Typer(help="Train the models hdrkit ships.", no_args_is_help=True)


@train_app.command("meta")
def meta(
    data: Path = typer.Option(..., "--data", help="Folder of HDR panoramas (.exr/.hdr) to synthesise pairs from."),
    out: Path = typer.Option(..., "-o", "--output", help="Output initialisation (.hdrkit container, fp32)."),
    recipe: str = typer.Option("default", "--recipe", help="Training recipe (hdrkit.meta.train.RECIPES)."),
    iterations: Optional[int] = typer.Option(None, "--iterations", help="Override the recipe's outer iterations."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Stop after this many seconds."),
    log: Optional[Path] = typer.Option(None, "--log", help="Write the training log (JSON) here."),
    curve: Optional[Path] = typer.Option(None, "--curve", help="Write the training curve (PNG) here."),
    threads: int = typer.Option(1, "--threads", help="torch threads (never more than the free cores)."),
    seed: Optional[int] = typer.Option(None, "--seed"),
) -> None:
    """Meta-train theta_init on pairs synthesised from DATA (views, crops, flips, TMOs, procedural scenes)."""
    import json

    import torch

    from hdrkit.cli.common import check_output_path, replace_given, rich_progress
    from hdrkit.errors import InputError
    from hdrkit.io.atomic import atomic_write_bytes
    from hdrkit.meta import tasks
    from hdrkit.meta.plot import line_chart
    from hdrkit.meta.train import RECIPES, meta_train
    from hdrkit.codec.weights import save_theta

    if recipe not in RECIPES:
        raise InputError(f"unknown recipe {recipe!r}; choose from {sorted(RECIPES)}")
    if threads < 1:
        raise InputError("--threads must be >= 1")
    torch.set_num_threads(threads)
    check_output_path(out)
    for p in (log, curve):
        if p is not None:
            check_output_path(p, [out])
    mc = replace_given(RECIPES[recipe], iterations=iterations, time_budget=time_budget, seed=seed)
    sources = tasks.load_panoramas(data, exclude=mc.exclude)
    # validation on the held-out panoramas; on procedural scenes when the folder has none of them
    held = {}
    if mc.exclude and any((data / f"{n}{ext}").is_file() for n in mc.exclude for ext in (".exr", ".hdr")):
        held = tasks.load_panoramas(data, names=mc.exclude)
    def _save(theta, tl) -> None:  # also called at every validation: a crash keeps the last checkpoint
        save_theta(out, theta, mc.model)
        record = {
            "recipe": recipe, "config": tl.config, "seconds": tl.seconds, "iterations": tl.iterations,
            "train_loss": tl.train_loss, "val_iterations": tl.val_iterations, "val_psnr": tl.val_psnr,
            "threads": threads,
        }
        if log is not None:
            atomic_write_bytes(log, json.dumps(record, default=str).encode())
        if curve is not None and len(tl.val_iterations) > 1:
            line_chart(str(curve), [(f"held-out PQ-PSNR after {mc.val_steps} adaptation steps", tl.val_iterations,
                                     tl.val_psnr, (200, 60, 0))], f"meta-training ({recipe})", "outer iteration",
                       "dB")

    with rich_progress("synthesising pairs") as progress:
        pool = tasks.make_pool(sources, mc.pool, mc.patch, mc.tmos, mc.procedural_share, mc.seed, progress)
        val_pool = tasks.make_pool(held, mc.val_pairs, mc.patch, mc.tmos, 0.0, mc.seed + 1, progress)
        theta, tl = meta_train(mc, pool, val_pool, progress=progress,
                               checkpoint=lambda th, lg: _save(th, lg))
    _save(theta, tl)
    typer.echo(f"{out}: {len(tl.iterations)} iterations in {tl.seconds:.0f} s; held-out PQ-PSNR after "
               f"{mc.val_steps} adaptation steps {tl.val_psnr[0]:.2f} -> {tl.val_psnr[-1]:.2f} dB")


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
