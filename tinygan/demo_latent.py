"""``python -m tinygan.demo latent RUN``: walks and arithmetic in a trained generator's latent
space (Radford et al., "Unsupervised Representation Learning with Deep Convolutional GANs";
CMU 11-695's "GAN II" notes), on a ``train dcgan`` or ``train cgan`` checkpoint, as one PNG.

The generator's *input* is v = z for a DCGAN and v = [z ; y] (y a class vector) for a cGAN.

* Interpolation: G((1 - t) v_a + t v_b) for t = 0, 1/9, ..., 1 (one row per pair). For a cGAN,
  first rows with the class fixed and z moving (style), then rows with z fixed and y moving
  from one class's one-hot vector to another's (the digit morphs).
* Class-vector arithmetic: the mean input of the digits of class a, minus that of class b, plus
  that of class c: v = mean_a - mean_b + mean_c, drawn with small Gaussian jitter on z
  (std 0.25, as Radford et al. did around their averaged vectors). A DCGAN has no labels, so
  a digit's class is what the project's LeNet reads in G(z) (confident readings only, p > 0.9);
  a cGAN's is the class it was asked for. Row: G(mean_a), G(mean_b), G(mean_c), a blank, then
  six draws of G(v); the LeNet reading of those six is printed.
"""
from __future__ import annotations

import numpy as np

from .checkpoint import Checkpoint
from .metrics.lenet import lenet_probs
from .random import Generator
from .viz import save_grid
from .trainers.cgan import generate as cgan_generate
from .trainers.cgan import load_generator as load_cgan
from .trainers.samplers import generate as dcgan_generate
from .trainers.samplers import load_generator as load_dcgan
from .trainers.samplers import model_kind

STEPS = 10                       # images per interpolation row (the grid is 10 wide)
JITTER, DRAWS = 0.25, 6          # the arithmetic rows: six draws of G(v + noise on z)
POOL = 2000                      # digits drawn to find each class's mean input
CONFIDENT = 0.9
DEFAULT_ARITHMETIC = ("7-1+4", "9-4+3", "8-3+2")


def parse_triple(text: str) -> tuple:
    """"a-b+c" (digits 0..9) -> (a, b, c); ValueError naming --arithmetic otherwise."""
    t = str(text).replace(" ", "")
    ok = len(t) == 5 and t[1] == "-" and t[3] == "+" and all(ch.isdigit() for ch in t[::2])
    if not ok:
        raise ValueError(f"--arithmetic {text!r}: expected a-b+c with digits 0-9, e.g. 7-1+4")
    return int(t[0]), int(t[2]), int(t[4])


class LatentModel:
    """A generator behind one interface: ``draw(v)`` images of inputs v (N, width)."""

    def __init__(self, path):
        self.kind = model_kind(Checkpoint(path, modules=["G"]).meta)
        if self.kind == "dcgan":
            self.G, self.checkpoint = load_dcgan(path)
            self.classes = 0
        elif self.kind == "cgan":
            self.G, self.checkpoint = load_cgan(path)
            self.classes = self.G.num_classes
        else:
            raise ValueError(f"tinygan.demo latent: {path} is a checkpoint of `train {self.kind}`; "
                             "latent arithmetic needs one of `train dcgan` or `train cgan`")
        self.z_dim = self.G.z_dim

    def draw(self, v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, np.float32)
        if self.kind == "dcgan":
            return np.concatenate([dcgan_generate(self.G, v[s:s + 500]) for s in range(0, len(v), 500)])
        return cgan_generate(self.G, v[:, :self.z_dim], v[:, self.z_dim:])

    def inputs(self, z, labels=None):
        if self.kind == "dcgan":
            return z
        return np.concatenate([z, np.eye(self.classes, dtype=np.float32)[labels]], axis=1)


def lerp_rows(va, vb, steps: int = STEPS) -> np.ndarray:
    """(pairs * steps, width): row i goes from va[i] to vb[i] in ``steps`` equal steps."""
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    return ((1 - t) * va[:, None] + t * vb[:, None]).reshape(-1, va.shape[1])


def class_means(model: LatentModel, rng: Generator) -> dict:
    """class -> (mean input (width,), how many digits it averages)."""
    z = rng.normal((POOL, model.z_dim))
    if model.kind == "cgan":
        labels = np.arange(POOL) % model.classes
        v = model.inputs(z, labels)
        keep = np.ones(POOL, bool)
    else:
        v = z
        p = lenet_probs(model.draw(v))
        labels, keep = p.argmax(1), p.max(1) > CONFIDENT
    return {c: (v[keep & (labels == c)].mean(0), int((keep & (labels == c)).sum()))
            for c in range(10) if (keep & (labels == c)).any()}


def latent_demo(path, out, seed: int = 0, arithmetic=DEFAULT_ARITHMETIC, pairs: int = 4, log=print) -> dict:
    """Write the PNG ``out``; returns what each row shows and the LeNet readings."""
    model = LatentModel(path)
    rng = Generator(seed)
    blank = -np.ones((1, 1, 28, 28), np.float32)
    rows, legend = [], []
    za, zb = rng.normal((pairs, model.z_dim)), rng.normal((pairs, model.z_dim))
    if model.kind == "dcgan":
        rows.append(model.draw(lerp_rows(za, zb)))
        legend += [f"row {i + 1}: z_a -> z_b" for i in range(pairs)]
    else:
        classes = np.arange(pairs) * 2 % 10
        rows.append(model.draw(lerp_rows(model.inputs(za, classes), model.inputs(zb, classes))))
        legend += [f"row {i + 1}: class {c}, z_a -> z_b" for i, c in enumerate(classes)]
        starts, ends = (np.arange(pairs) * 3 + 1) % 10, (np.arange(pairs) * 3 + 7) % 10
        rows.append(model.draw(lerp_rows(model.inputs(za, starts), model.inputs(za, ends))))
        legend += [f"row {pairs + i + 1}: z fixed, y: {a} -> {b}" for i, (a, b) in enumerate(zip(starts, ends))]
    rows.append(np.repeat(blank, STEPS, 0))
    means = class_means(model, rng)
    results = []
    for text in arithmetic:
        a, b, c = parse_triple(text)
        missing = [k for k in (a, b, c) if k not in means]
        if missing:
            log(f"{text}: skipped, no confident digit of class {missing} among {POOL} draws")
            continue
        v = means[a][0] - means[b][0] + means[c][0]
        draws = np.repeat(v[None], DRAWS, 0)
        draws[:, :model.z_dim] += JITTER * rng.normal((DRAWS, model.z_dim))
        ends = model.draw(np.stack([means[a][0], means[b][0], means[c][0]]))
        images = model.draw(draws)
        read = lenet_probs(images).argmax(1).tolist()
        rows.append(np.concatenate([ends, blank, images]))
        results.append({"arithmetic": text, "averaged": [means[k][1] for k in (a, b, c)], "lenet_reads": read})
        legend.append(f"row {len(legend) + 2}: mean({a}) - mean({b}) + mean({c}) -> LeNet reads {read}")
    grid = save_grid(out, np.concatenate(rows), nrow=STEPS)
    log(f"{model.kind} checkpoint {model.checkpoint.path} (step {model.checkpoint.step}):")
    for line in legend:
        log("  " + line)
    log(f"wrote {grid}")
    return {"model": model.kind, "file": str(grid), "rows": legend, "arithmetic": results}
