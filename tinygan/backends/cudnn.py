"""``tinygan.backends.cudnn``: torch.backends.cudnn's flags, accepted and ignored.

tinygan never calls cuDNN (its GPU kernels are its own, csrc/cuda and tinygan/kernels), so setting
``benchmark``, ``deterministic``, ``enabled`` or ``allow_tf32`` changes nothing. Defaults are torch's.
This module is not a kernel backend: the registry (backends/__init__.py) never lists it.
"""
benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available() -> bool:
    """False: tinygan uses no cuDNN."""
    return False
