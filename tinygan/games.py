"""The bilinear game min_x max_y x*y: the smallest minimax problem, and every scheme's behaviour on it.

CMU 11-695's "GAN II" notes use it to show why GAN training oscillates: G updates x with
gradient y, D updates y with gradient -x, and the pair rotates around the equilibrium (0, 0) instead of
reaching it. ``python -m tinygan.train bilinear`` runs every scheme of
:mod:`tinygan.optim.minimax` from (1, 1) with step 0.1 for 2000 steps, prints each final distance
to (0, 0) and saves a picture of the trajectories.

What the linear algebra predicts (z = (x, y), SGD steps, α = 0.1) and what the run shows::

    scheme                  |z| per step                        after 2000 steps
    simultaneous            x sqrt(1 + α^2)     spirals out     ~3e4
    alternating             det 1: closed orbit (bounded)       ~1.4 (x^2 + y^2 + α x y is conserved)
    alternating, N_dis = 5  det 1, trace 2 - 5α^2: bounded      ~1.9
    extragradient           x sqrt(1 - α^2 + α^4)  spirals in   ~7e-5
    optimistic              x ~0.995            spirals in      ~6e-5
    TTUR (α_G = α/2, α_D = 2α), alternating: bounded orbit      ~1.5
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import optim
from .cli import CLIError, check_backend_env, fail, finite_float, output_dir, positive_float, positive_int
from .nn import Parameter

SCHEME_NAMES = ("simultaneous", "alternating", "alternating_n_dis5", "extragradient", "optimistic",
                "ttur")
LABELS = {"simultaneous": "simultaneous GDA", "alternating": "alternating GDA",
          "alternating_n_dis5": "alternating, N_dis = 5", "extragradient": "extragradient",
          "optimistic": "optimistic GDA", "ttur": "TTUR (lr_G = lr/2, lr_D = 2 lr)"}


def bilinear_loss(x, y):
    """L(x, y) = x * y: x is the min player, y the max player; equilibrium (0, 0)."""
    return x * y


def make_scheme(name: str, x, y, lr: float = 0.1, optimizer: str = "sgd"):
    """The scheme ``name`` over one base optimizer per player (``"sgd"`` or ``"adam"``)."""
    base = {"sgd": optim.SGD, "adam": optim.Adam}[optimizer]
    ox, oy = base([x], lr=lr), base([y], lr=lr)
    if name == "simultaneous":
        return optim.SimultaneousGDA(ox, oy)
    if name == "alternating":
        return optim.AlternatingGDA(ox, oy)
    if name == "alternating_n_dis5":
        return optim.AlternatingMultiAscent(ox, oy, n_dis=5)
    if name == "extragradient":
        return optim.Extragradient(ox, oy)
    if name == "optimistic":
        return optim.OptimisticGDA(ox, oy)
    if name == "ttur":
        return optim.TTUR(ox, oy, min_lr=lr / 2, max_lr=2 * lr)
    raise ValueError(f"unknown scheme {name!r}; choose from {SCHEME_NAMES}")


def run_bilinear(name: str, steps: int = 2000, lr: float = 0.1, start=(1.0, 1.0),
                 optimizer: str = "sgd") -> np.ndarray:
    """Trajectory (steps + 1, 2) of (x, y) under scheme ``name``, float64, from ``start``."""
    x = Parameter(np.array(start[0], dtype=np.float64))
    y = Parameter(np.array(start[1], dtype=np.float64))
    scheme = make_scheme(name, x, y, lr, optimizer)
    path = np.empty((steps + 1, 2))
    path[0] = start
    loss = lambda: bilinear_loss(x, y)  # noqa: E731
    for k in range(steps):
        scheme.step(loss)
        path[k + 1] = (float(x.data), float(y.data))
    return path


def distance(path: np.ndarray) -> np.ndarray:
    """Distance of each iterate to the equilibrium (0, 0)."""
    return np.hypot(path[:, 0], path[:, 1])


def save_trajectories(path, paths: dict, title: str = ""):
    """One panel per scheme (x-y plane, own scale) plus the distances on a log scale."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy, as in viz.py: only when saved
    from matplotlib.figure import Figure
    n = len(paths) + 1
    cols = 4
    rows = -(-n // cols)
    fig = Figure(figsize=(3.4 * cols, 3.2 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    for i, (name, p) in enumerate(paths.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.plot(p[:, 0], p[:, 1], lw=0.7)
        ax.plot(*p[0], "go", ms=4, label="start")
        ax.plot(*p[-1], "rx", ms=6, label="end")
        ax.plot(0, 0, "k*", ms=8, label="equilibrium")
        ax.set_title(f"{LABELS.get(name, name)}\n|z| = {distance(p)[-1]:.3g}", fontsize=9)
        ax.set_xlabel("x (min player)", fontsize=8)
        ax.set_ylabel("y (max player)", fontsize=8)
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(True, alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7)
    ax = fig.add_subplot(rows, cols, len(paths) + 1)
    for name, p in paths.items():
        ax.plot(distance(p), lw=1, label=LABELS.get(name, name))
    ax.set_yscale("log")
    ax.set(title="distance to (0, 0)", xlabel="step")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6)
    if title:
        fig.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tinygan.train bilinear",
                                description="Every minimax scheme on min_x max_y x*y.")
    p.add_argument("--steps", type=positive_int, default=2000)
    p.add_argument("--lr", type=positive_float, default=0.1, help="step size (TTUR: lr/2 for x, 2 lr for y)")
    p.add_argument("--start", type=finite_float, nargs=2, default=(1.0, 1.0), metavar=("X0", "Y0"))
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd",
                   help="base optimizer of each player")
    p.add_argument("--schemes", nargs="+", choices=SCHEME_NAMES, default=list(SCHEME_NAMES))
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default runs/bilinear-<time>/)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    return p


def main(argv=None) -> dict | int:
    """Run the schemes, print the final distances, save ``trajectories.png`` and
    ``distances.json`` in the output folder; returns ``{scheme: final distance}`` (an exit
    status, 1, when the output folder cannot be written)."""
    args = build_parser().parse_args(argv)
    out = args.out or Path("runs") / time.strftime("bilinear-%Y%m%d-%H%M%S")
    try:
        check_backend_env()
        output_dir(out, "--out")
    except CLIError as exc:
        return fail("tinygan.train bilinear", exc)
    paths = {name: run_bilinear(name, args.steps, args.lr, tuple(args.start), args.optimizer)
             for name in args.schemes}
    finals = {name: float(distance(p)[-1]) for name, p in paths.items()}
    print(f"min_x max_y x*y from {tuple(args.start)}, step {args.lr}, {args.steps} steps, "
          f"base optimizer {args.optimizer}")
    print(f"{'scheme':<34} {'final |(x, y)|':>15} {'max |(x, y)|':>14}")
    for name, p in paths.items():
        print(f"{LABELS[name]:<34} {finals[name]:>15.4g} {distance(p).max():>14.4g}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "distances.json").write_text(json.dumps(
        {"steps": args.steps, "lr": args.lr, "start": list(args.start), "optimizer": args.optimizer,
         "final_distance": finals}, indent=2) + "\n")
    if not args.no_plot:
        png = save_trajectories(out / "trajectories.png", paths,
                                f"min_x max_y xy, step {args.lr}, {args.steps} steps")
        print(f"saved {png}")
    return finals


if __name__ == "__main__":
    result = main()
    sys.exit(result if isinstance(result, int) else 0)
