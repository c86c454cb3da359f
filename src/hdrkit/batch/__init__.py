"""Batch jobs on Ray (Ray Data): ``hdrkit batch encode|decode|expand|eval|tonemap`` over folders or lists.

    from hdrkit.batch import EncodeOp, discover, run_batch
    items = discover("encode", "pairs/")
    report = run_batch(EncodeOp(steps=50), items, "out/", workers=2, resume=True)

File paths (not pixels) travel in the Dataset; each worker loads the op's models once; every output is written
atomically under a deterministic name; the driver keeps a SQLite manifest (status, input content hash, options
hash) so a rerun skips what is done and redoes what changed.  Ray is optional (``pip install 'hdrkit[ray]'``)
and imported only when a job runs.  See docs/BATCH.md.
"""

from hdrkit.batch.items import Item, discover, read_list
from hdrkit.batch.manifest import MANIFEST_NAME, Manifest
from hdrkit.batch.ops import OPS, DecodeOp, EncodeOp, EvalOp, ExpandOp, Op, TonemapOp
from hdrkit.batch.run import BatchReport, PlanEntry, plan, run_batch

__all__ = ["Item", "discover", "read_list", "Manifest", "MANIFEST_NAME", "OPS", "Op", "EncodeOp", "DecodeOp",
           "ExpandOp", "EvalOp", "TonemapOp", "BatchReport", "PlanEntry", "plan", "run_batch"]
