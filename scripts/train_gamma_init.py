"""Meta-train the shipped initialisation of the gamma-map codec family (hdrkit.meta.gamma, Reptile) on the
training panoramas (../shared/data/hdr, never the held-out ../shared/data/hdr_extra), procedural scenes and
chromatic noise, and write it as an fp32 hdrkit container.

    OMP_NUM_THREADS=1 python scripts/train_gamma_init.py ../shared/data/hdr src/hdrkit/assets/models/gamma_init.hdrkit
"""

import sys
import time

from hdrkit.codec.weights import save_theta
from hdrkit.meta.gamma import GammaMetaConfig, make_tasks, meta_train_gamma
from hdrkit.meta.tasks import load_panoramas
from hdrkit.models.gammanet import GammaConfig


def main(data: str, out: str, iterations: str = "1500", method: str = "reptile", *extra: str) -> None:
    """``extra``: ``key=value`` overrides of :class:`GammaMetaConfig` (e.g. ``eps0=0.3 inner_steps=60``)."""
    t0 = time.perf_counter()
    kw = {k: type(getattr(GammaMetaConfig, k))(v) for k, v in (e.split("=", 1) for e in extra)}
    mc = GammaMetaConfig(iterations=int(iterations), method=method, **kw)
    sources = load_panoramas(data, exclude=("preview_landscape", "preview_studio"))
    tasks = make_tasks(sources, mc)
    print(f"{len(tasks)} tasks from {sorted(sources)} in {time.perf_counter() - t0:.0f} s", flush=True)
    theta, losses = meta_train_gamma(tasks, GammaConfig(), mc)
    k = max(1, len(losses) // 10)
    print("inner loss by tenth:", " ".join(f"{sum(losses[i:i + k]) / len(losses[i:i + k]):.2e}"
                                           for i in range(0, len(losses), k)))
    save_theta(out, theta, GammaConfig())
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
