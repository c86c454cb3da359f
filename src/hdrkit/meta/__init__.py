"""Meta-learning for the embedded MLP: per-image transfer with OHEM (Algorithm 2), meta-training of theta_init
(Algorithm 1 first/second order with ``torch.func``, Reptile, naive, none), training-pair synthesis."""

from hdrkit.meta.adapt import AdaptConfig, AdaptInfo, adapt
from hdrkit.meta.weights import load_theta, save_theta, shipped_path

__all__ = ["AdaptConfig", "AdaptInfo", "adapt", "load_theta", "save_theta", "shipped_path"]
