"""The batch driver: plan against the manifest, run the remaining items on Ray Data, record every result.

Local by default (a private Ray instance sized to the machine: ``workers × threads ≤ cores``, loopback only, no
dashboard, no usage stats, worker logs not forwarded), or an existing cluster with ``address``.  The Dataset
holds file paths only; each worker is a Ray Data actor (:class:`hdrkit.batch.worker.BatchWorker`) that loads
the op's models once.  Ray restarts an actor whose process dies and retries its item (``max_task_retries``);
the driver alone writes the manifest, as each result streams back.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from hdrkit.batch import storage
from hdrkit.batch.items import Item
from hdrkit.batch.manifest import MANIFEST_NAME, Manifest
from hdrkit.batch.ops import Op
from hdrkit.batch.worker import input_hash, process
from hdrkit.errors import HdrkitError, InputError
from hdrkit.progress import ProgressFn, report

#: Attempts of one item whose worker process dies (a crash, SIGKILL, the OOM killer) before it is failed.
MAX_TASK_RETRIES = 3
RAY_INSTALL_HINT = "hdrkit batch needs Ray: pip install 'hdrkit[ray]'"


@dataclass
class PlanEntry:
    item: Item
    output: str
    action: str  # "run", "skip" (done with the same inputs and options) or "fail" (cannot run)
    reason: str


@dataclass
class BatchReport:
    planned: list[PlanEntry]
    run_id: int = 0
    ran: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    startup_seconds: float = 0.0
    workers: int = 0
    threads: int = 1
    address: str = "local"
    failures: list[tuple[str, str]] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    #: (wall-clock time an item finished on its worker, its seconds of work), in arrival order
    finished: list[tuple[float, float]] = field(default_factory=list)

    @property
    def items_per_second(self) -> float:
        busy = self.seconds - self.startup_seconds
        return self.ran / busy if self.ran and busy > 0 else 0.0


def options_hash(op: Op) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(op.options(), sort_keys=True, default=str).encode()).hexdigest()


def _current_input_hash(manifest: Manifest, inputs: tuple[str, ...]) -> Optional[str]:
    digests = []
    for p in inputs:
        st = storage.stat(p)
        if st is None:
            return None
        d = manifest.known_digest(str(p), st[0], st[1])
        if d is None:  # size or mtime changed: hash the content (a `touch` alone does not redo the item)
            d = storage.digest(p)
            manifest.remember_file(str(p), st[0], st[1], d)
        digests.append(d)
    return input_hash(digests)


def plan(op: Op, items: list[Item], out_dir: str | Path, manifest: Manifest) -> list[PlanEntry]:
    """What a run would do with each item, given the manifest and the files on disk."""
    records, opt = manifest.items(), options_hash(op)
    entries = []
    for it in items:
        out = storage.join(out_dir, op.output_name(it.name))
        rec = records.get(it.name)
        if it.error is not None:
            entries.append(PlanEntry(it, out, "fail", it.error))
        elif rec is None:
            entries.append(PlanEntry(it, out, "run", "new"))
        elif rec.status != "done":
            entries.append(PlanEntry(it, out, "run", "failed before" if rec.status == "failed" else rec.status))
        elif rec.options_hash != opt:
            entries.append(PlanEntry(it, out, "run", "options changed"))
        elif (storage.stat(out) or (None,))[0] != rec.output_size:
            entries.append(PlanEntry(it, out, "run", "output missing or changed"))
        elif _current_input_hash(manifest, it.inputs) != rec.input_hash:
            entries.append(PlanEntry(it, out, "run", "input changed"))
        else:
            entries.append(PlanEntry(it, out, "skip", "done"))
    return entries


def remove_partial_outputs(outputs: list[str]) -> int:
    """Delete temporary files that ``hdrkit.io.atomic`` left for these (local) outputs when a process was
    killed.  (Remote outputs are uploaded whole or under a temporary name: nothing partial to clean.)"""
    removed = 0
    by_folder: dict[Path, list[Path]] = {}
    for o in map(Path, (o for o in outputs if not storage.is_uri(o))):
        by_folder.setdefault(o.parent, []).append(o)
    for folder, outs in by_folder.items():
        if not folder.is_dir():
            continue
        pats = [re.compile(rf"^\.{re.escape(o.stem)}\.[A-Za-z0-9_]{{8}}\.tmp{re.escape(o.suffix)}$") for o in outs]
        for p in folder.iterdir():
            if p.name.startswith(".") and ".tmp" in p.name and any(r.match(p.name) for r in pats):
                try:
                    p.unlink()
                    removed += 1
                except OSError:
                    pass
    return removed


def local_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def import_ray():
    """``ray`` and ``ray.data``, or an ``InputError`` saying how to install them."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InputError(RAY_INSTALL_HINT) from None
    return ray


def _start_ray(ray, address: Optional[str], cpus: int) -> None:
    """``ray.init`` (a private local instance, or joining ``address``); a failure is one line."""
    from hdrkit.batch.worker import one_line

    where = f"at {address}" if address else "locally"
    for attempt in (1, 2):
        try:
            with warnings.catch_warnings():  # e.g. Ray Client's connection warning: the error below says it
                warnings.simplefilter("ignore")
                _init_ray(ray, address, cpus)
            return
        except (KeyboardInterrupt, InputError):
            raise
        except (ray.exceptions.RayError, RuntimeError, ValueError, OSError) as exc:  # no cluster at the
            # address, a client that cannot connect (ConnectionError/TimeoutError are OSErrors), ...
            raise HdrkitError(f"Ray could not start {where}: {one_line(exc)}") from None
        except Exception as exc:
            # Ray raises a bare Exception when its local node does not register within 30 s (overloaded machine)
            if type(exc) is not Exception or "timed out during startup" not in str(exc):
                raise
            if ray.is_initialized():
                ray.shutdown()
            if attempt == 2 or address is not None:
                raise HdrkitError(f"Ray could not start {where}: {one_line(exc)}") from None


def _init_ray(ray, address: Optional[str], cpus: int) -> None:
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
                  configure_logging=True, ignore_reinit_error=False)
    if address is None:
        ray.init(num_cpus=cpus, num_gpus=0, object_store_memory=256 * 1024 * 1024,
                 _node_ip_address="127.0.0.1", **kwargs)
    else:
        ray.init(address=address, **kwargs)


def _quiet_ray_data(ray) -> None:
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.enable_operator_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.enable_auto_log_stats = False
    ctx.verbose_stats_logs = False
    for name in ("ray", "ray.data", "ray.data._internal"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _execute(ray, op: Op, entries: list[PlanEntry], workers: int, threads: int):
    """Yield the result rows of ``entries`` as they finish (Ray Data, one actor per worker)."""
    from hdrkit.batch.worker import BatchWorker

    rows = [{"name": e.item.name, "inputs": json.dumps(list(e.item.inputs)), "output": str(e.output)}
            for e in entries]
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    with warnings.catch_warnings():  # finite retries can only be given as ray_remote_args (deprecated name)
        warnings.simplefilter("ignore")
        ds = ds.map_batches(BatchWorker, fn_constructor_kwargs={"op": op, "threads": threads}, batch_size=1,
                            concurrency=max(1, min(workers, len(rows))), num_cpus=threads, batch_format="numpy",
                            max_restarts=-1, max_task_retries=MAX_TASK_RETRIES)
    for r in ds.iter_rows():
        yield json.loads(r["row"])


def run_batch(op: Op, items: list[Item], out_dir: str | Path, *, address: Optional[str] = None,
              workers: Optional[int] = None, threads: int = 1, resume: bool = False, overwrite: bool = False,
              dry_run: bool = False,
              manifest_path: str | Path | None = None, command: str = "", backend: str = "ray",
              progress: Optional[ProgressFn] = None,
              on_start: Optional[Callable[[BatchReport], None]] = None) -> BatchReport:
    """Process ``items`` with ``op`` into ``out_dir``; see the module docstring.

    ``resume``: continue a batch in ``out_dir`` (without it, a folder holding a manifest or any of the outputs
    is refused); ``overwrite``: redo every item, done or not.  ``backend="loop"`` runs the same per-item code in this process, one item after the other (the baseline
    of ``hdrkit bench batch``).  ``progress(done, total, description)`` is called after each item.
    Raises ``InputError`` for a bad setup; a bad item is a failed entry of the report, never an exception.
    """
    op.check()
    if threads < 1:
        raise InputError("--threads must be >= 1")
    remote = storage.is_uri(out_dir)
    out_dir = str(out_dir) if remote else Path(out_dir)
    if remote and manifest_path is None:
        raise InputError(f"a remote output folder ({out_dir}) needs --manifest PATH (a local file)")
    if not storage.is_folder(out_dir):
        if not remote and (out_dir.exists() or not out_dir.parent.is_dir()):
            raise InputError(f"output folder {out_dir} cannot be created (is its parent a folder?)")
        if not dry_run:
            storage.make_folder(out_dir)
    mpath = Path(manifest_path) if manifest_path is not None else out_dir / MANIFEST_NAME
    if dry_run and not mpath.exists():
        mpath = Path(":memory:")
    with Manifest(mpath) as manifest:
        entries = plan(op, items, out_dir, manifest)
        if overwrite:
            entries = [PlanEntry(e.item, e.output, "run", "overwrite") if e.action == "skip" else e for e in entries]
        rep = BatchReport(planned=entries, threads=threads, address=address or "local")
        rep.skipped = sum(e.action == "skip" for e in entries)
        todo = [e for e in entries if e.action == "run"]
        if dry_run:
            return rep
        if not resume and not overwrite:
            earlier = manifest.count()
            existing = [storage.name(e.output) for e in entries if storage.stat(e.output) is not None]
            if earlier or existing:
                what = (f"a batch manifest with {earlier} items" if earlier
                        else f"{len(existing)} of the outputs (e.g. {existing[0]})")
                raise InputError(f"{out_dir} already holds {what}; add --resume to continue (done items are "
                                 f"skipped) or choose another -o")
        for e in entries:
            if e.action == "run":
                remove_partial_outputs([e.output])
        rep.run_id = manifest.start_run(op.name, options_hash(op), command, len(todo))
        opt = options_hash(op)
        t0 = time.perf_counter()
        total = len(entries)

        def record(row: dict) -> None:
            e = by_name[row["name"]]
            manifest.record(name=row["name"], op=op.name, inputs=row["inputs"], output=str(e.output),
                            status=row["status"], input_hash=row["input_hash"], options_hash=opt,
                            error=row["error"], seconds=row["seconds"], output_size=row["output_size"],
                            run_id=rep.run_id, worker=row.get("worker", ""), result=row.get("result", {}),
                            files=row.get("files", []))
            rep.ran += 1
            rep.finished.append((row.get("finished", time.time()), row.get("seconds", 0.0)))
            if row["status"] == "done":
                rep.done += 1
                rep.results[row["name"]] = row.get("result", {})
            else:
                rep.failed += 1
                rep.failures.append((row["name"], row["error"] or "failed"))
            report(progress, rep.skipped + rep.done + rep.failed, total, f"{row['name']}: {row['status']}")

        by_name = {e.item.name: e for e in entries}
        status = "interrupted"
        ray = None
        try:
            for e in entries:
                if e.action == "fail":
                    manifest.record(name=e.item.name, op=op.name, inputs=list(e.item.inputs), output=str(e.output),
                                    status="failed", input_hash="", options_hash=opt, error=e.reason, seconds=0.0,
                                    output_size=None, run_id=rep.run_id, worker="", result={}, files=[])
                    rep.failed += 1
                    rep.failures.append((e.item.name, e.reason))
            if todo and backend == "loop":
                op.setup()  # threads: whatever the calling process set
                rep.workers, rep.address = 1, "loop"
                rep.startup_seconds = time.perf_counter() - t0
                report(progress, rep.skipped + rep.failed, total, "started")
                if on_start is not None:
                    on_start(rep)
                for e in todo:
                    record(process(op, e.item.name, list(e.item.inputs), str(e.output)))
            elif todo:
                ray = import_ray()
                if address is None:
                    cores = local_cores()
                    n = workers if workers is not None else max(1, cores // threads)
                    if n < 1:
                        raise InputError("--workers must be >= 1")
                    if n * threads > cores:
                        raise InputError(f"{n} workers × {threads} threads would oversubscribe the {cores} cores "
                                         f"of this machine; lower --workers or --threads")
                    _start_ray(ray, None, n * threads)
                else:
                    _start_ray(ray, address, 0)
                    cpus = int(ray.cluster_resources().get("CPU", 1))
                    n = workers if workers is not None else max(1, cpus // threads)
                _quiet_ray_data(ray)
                rep.workers = min(n, len(todo))
                rep.startup_seconds = time.perf_counter() - t0
                report(progress, rep.skipped + rep.failed, total, "started")
                if on_start is not None:
                    on_start(rep)
                _run_on_ray(ray, op, todo, rep.workers, threads, record)
            status = "finished"
        except KeyboardInterrupt:
            raise
        except BaseException:
            status = "error"
            raise
        finally:
            rep.seconds = time.perf_counter() - t0
            if ray is not None and ray.is_initialized():
                ray.shutdown()
            remove_partial_outputs([e.output for e in todo])
            manifest.finish_run(rep.run_id, status, rep.done, rep.failed, rep.skipped)
    return rep


def _run_on_ray(ray, op: Op, todo: list[PlanEntry], workers: int, threads: int, record) -> None:
    """Run ``todo``; if Ray gives up on the job (a worker died more than ``MAX_TASK_RETRIES`` times on one
    item), run what is left again, and once a pass makes no progress, one item at a time so that only the
    item that kills its worker is failed."""
    remaining = {e.item.name: e for e in todo}
    isolate = False
    while remaining:
        batches = [[e] for e in remaining.values()] if isolate else [list(remaining.values())]
        progress_made = False
        for batch in batches:
            try:
                for row in _execute(ray, op, batch, workers, threads):
                    if remaining.pop(row["name"], None) is not None:
                        record(row)
                        progress_made = True
            except (KeyboardInterrupt, InputError):
                raise
            except Exception as exc:  # Ray gave up (worker deaths beyond the retries)
                if isolate:
                    from hdrkit.batch.worker import one_line

                    e = batch[0]
                    remaining.pop(e.item.name, None)
                    record({"name": e.item.name, "inputs": list(e.item.inputs), "status": "failed",
                            "error": f"the worker process died {MAX_TASK_RETRIES + 1} times on this item "
                                     f"({one_line(exc)[:200]})", "input_hash": "", "seconds": 0.0,
                            "output_size": None})
        if not progress_made:
            isolate = True
