"""Meta-learning of the embedded MLP's initialisation: meta-training of theta_init (Algorithm 1 first/second
order with ``torch.func``, Reptile, naive, none), MAML helpers and training-pair synthesis.

The per-image fitting (Algorithm 2) and the weight files live in :mod:`hdrkit.codec` (``codec.adapt``,
``codec.weights``); this package never imports :mod:`hdrkit.codec`.
"""
