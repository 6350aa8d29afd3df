"""Drawing from a trained generator, whatever trainer made it: ``load_sampler(path)`` for
``python -m tinygan.eval`` and ``python -m tinygan.sample``, and :func:`generate` (G(z) without
touching G's BatchNorm statistics).

Each other trainer, the module ``tinygan/trainers/<model>.py`` named by the checkpoint's record
(``"model"``: cgan, sgan, pix2pix, cyclegan, dann, fair ...), provides its own
``load_sampler(path) -> (sample(n, seed) -> numpy array, checkpoint meta, data name)``: images
(n, 1, 28, 28) in [-1, 1] for "mnist", points (n, 2) for the 2-D mixtures.
"""
from __future__ import annotations

import importlib
import importlib.util

import numpy as np

from ..autograd import no_grad
from ..checkpoint import Checkpoint, CheckpointError
from ..creation import tensor
from ..models import dcgan
from ..optim.ema import SUFFIX as EMA_SUFFIX
from ..random import Generator
from .averaging import averaged_name
from .gan import DATASETS, load_run
from .gan_pictures import generate as gan_generate


def generate(G, z: np.ndarray, train_mode_bn: bool = True) -> np.ndarray:
    """G(z) as a numpy array, under no_grad, leaving G's BatchNorm running statistics and its
    mode untouched. ``train_mode_bn``: normalise with the batch's statistics (as in training)."""

    was_training = G.training
    buffers = [(b, b.data.copy()) for b in G.buffers()]
    G.train(train_mode_bn)
    try:
        with no_grad():
            out = G(tensor(z.astype(np.float32), device=_device_of(G)))
        return np.asarray(out.to("cpu").numpy())
    finally:
        for b, saved in buffers:           # a training-mode forward updates running stats
            b.data[...] = saved
        G.train(was_training)


def _device_of(module) -> str:
    return next(module.parameters()).device


def load_generator(path):
    """(DCGAN Generator on the CPU with the checkpoint's weights -- its moving average ``G_ema``
    when it has one (``--ema``) --, the checkpoint's JSON record)."""
    ckpt = Checkpoint(path, modules=["G", "G" + EMA_SUFFIX])
    config = ckpt.meta.get("config", {})
    if ckpt.meta.get("model", "dcgan") != "dcgan":
        raise CheckpointError(f"{ckpt.path} is a checkpoint of `train {ckpt.meta['model']}`, not of "
                              "`train dcgan` (evaluate it with python -m tinygan.eval)")
    try:
        G = dcgan.Generator(config.get("arch", "tf"), config.get("z_dim", dcgan.Z_DIM),
                            codes=config.get("info_codes") or 0, ngf=config.get("ngf", dcgan.NGF),
                            kernel=config.get("g_kernel"))
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {ckpt.path}: cannot build its generator ({exc})") from None
    ckpt.load_module(averaged_name(ckpt.meta, "G"), G)   # G_ema under --ema; refuses non-finite
                                                         # weights: no black grid
    return G, ckpt


def model_kind(meta: dict) -> str:
    """"gan" or "dcgan" from a checkpoint's JSON record."""
    config = meta.get("config", {})
    kind = meta.get("model") or config.get("model")
    if kind:
        return str(kind)
    return "dcgan" if "arch" in config else "unknown"


def load_sampler(path):
    """(sample(n, seed) -> numpy array, checkpoint meta, data name) for a run or checkpoint.
    A checkpoint with NaN / Inf weights is a CheckpointError (its metrics would be meaningless)."""
    meta = Checkpoint(path, modules=["G"]).meta
    kind = model_kind(meta)
    if kind == "gan":
        config = meta.get("config", {})
        if config.get("data") not in DATASETS:
            raise CheckpointError(f"checkpoint {path}: unknown data {config.get('data')!r} in its config")
        try:
            G, ckpt = load_run(path)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {path}: cannot rebuild its generator from its "
                                  f"config ({type(exc).__name__}: {exc})") from None
        return (lambda n, seed: gan_generate(G, n, seed)), ckpt.meta, ckpt.meta["config"]["data"]
    if kind == "dcgan":
        G, ckpt = load_generator(path)

        def sample(n, seed):
            z = Generator(seed).normal((n, G.z_dim))
            return np.concatenate([generate(G, z[s:s + 500]) for s in range(0, n, 500)])
        return sample, ckpt.meta, "mnist"
    # every other trainer is the module trainers/<model>.py and brings its own load_sampler
    found = kind.isidentifier() and importlib.util.find_spec(f"{__package__}.{kind}") is not None
    module = importlib.import_module(f"{__package__}.{kind}") if found else None
    if module is not None and hasattr(module, "load_sampler"):
        return module.load_sampler(path)
    raise ValueError(f"tinygan.eval: cannot tell which model wrote {path} (record model {kind!r})")


