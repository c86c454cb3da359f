"""Coverage-guided fuzzing of one hdrkit target with atheris (libFuzzer).

    nice -n 10 python fuzz/run_atheris.py TARGET [--collect escapes.jsonl] [libFuzzer flags...]
    e.g. nice -n 10 python fuzz/run_atheris.py read_png -max_total_time=600 -rss_limit_mb=1024 -timeout=2

Targets: ``python fuzz/run_atheris.py --list``.  Seeds are written to ``fuzz/corpus/TARGET`` (made by
``targets.seeds``); libFuzzer keeps the inputs that add coverage there.  Without ``--collect`` the first escape
(an exception that is not an ``HdrkitError``) stops the run with its input saved as ``crash-*``; with
``--collect FILE`` escapes are recorded (one JSON line per distinct type and location, with the input in hex)
and fuzzing goes on.  Inputs slower than 2 s are recorded as ``slow``.  ``fuzz/out/TARGET.json`` is rewritten
every 1000 executions (libFuzzer ends the process without Python's exit handlers) with the executions,
escapes, slow inputs, the slowest input's seconds and the process's peak RSS (``baseline_rss_mb`` is the RSS
before the first input: imports, seeds).
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

with atheris.instrument_imports(include=["hdrkit"]):
    import targets  # noqa: E402  (imports hdrkit lazily inside the targets; instrumented below too)
    import hdrkit.codec.adapters  # noqa: F401
    import hdrkit.codec.container  # noqa: F401
    import hdrkit.codec.gainmap  # noqa: F401
    import hdrkit.codec.ultrahdr  # noqa: F401
    import hdrkit.io.exr  # noqa: F401
    import hdrkit.io.limits  # noqa: F401
    import hdrkit.io.pfm  # noqa: F401
    import hdrkit.io.png  # noqa: F401
    import hdrkit.io.radiance  # noqa: F401
    import hdrkit.io.read  # noqa: F401
    import hdrkit.tonemap.lut  # noqa: F401


def main() -> None:
    args = sys.argv[1:]
    if not args or args[0] == "--list":
        print("\n".join(targets.TARGETS))
        return
    name = args.pop(0)
    collect = None
    if args[:1] == ["--collect"]:
        collect = Path(args[1])
        args = args[2:]
    corpus = HERE / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    for k, seed in enumerate(targets.seeds(name)):
        (corpus / f"seed-{k}").write_bytes(seed)
    from hdrkit.errors import HdrkitError

    stats = {"target": name, "executions": 0, "escapes": 0, "distinct_escapes": 0, "slow": 0,
             "max_seconds": 0.0,
             "baseline_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    t0 = time.time()
    seen: set = set()
    out = HERE / "out"
    out.mkdir(exist_ok=True)

    def report() -> None:
        stats["seconds"] = round(time.time() - t0, 1)
        stats["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        stats["exec_per_s"] = round(stats["executions"] / max(stats["seconds"], 1e-9), 1)
        (out / f"{name}.json").write_text(json.dumps(stats) + "\n")

    atexit.register(report)

    def one_input(data: bytes) -> None:
        stats["executions"] += 1
        if stats["executions"] % 1000 == 0:
            report()
        t = time.perf_counter()
        try:
            targets.TARGETS[name](data)
        except HdrkitError:
            pass
        except Exception as exc:  # noqa: BLE001 - an escape: recorded or re-raised for libFuzzer
            if collect is None:
                raise
            stats["escapes"] += 1
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            key = (type(exc).__name__, tb.filename, tb.lineno)
            if key not in seen:
                seen.add(key)
                stats["distinct_escapes"] += 1
                with open(collect, "a") as fh:
                    fh.write(json.dumps({"target": name, "type": key[0], "where": f"{tb.filename}:{tb.lineno}",
                                         "message": str(exc)[:200], "input": data[:4096].hex()}) + "\n")
        dt = time.perf_counter() - t
        stats["max_seconds"] = max(stats["max_seconds"], round(dt, 3))
        if dt > 2.0:
            stats["slow"] += 1
            if collect is not None:
                with open(collect, "a") as fh:
                    fh.write(json.dumps({"target": name, "type": "slow", "seconds": dt,
                                         "input": data[:4096].hex()}) + "\n")

    atheris.Setup([sys.argv[0], *args, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
