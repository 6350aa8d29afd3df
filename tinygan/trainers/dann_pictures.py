"""Pictures of ``train dann``: source and target features on their first two principal components.

PCA here: stack the source and target features F (n, k), centre them, and project on the two
leading right singular vectors of the centred matrix (the directions of largest variance of the
two domains together). Domain-invariant features put the two clouds on top of each other; the
paper (Ganin & Lempitsky) shows the same with t-SNE.

``python -m tinygan.trainers.dann_pictures BEFORE_RUN AFTER_RUN --out pca.png`` draws two runs'
``features_pca.npz`` side by side (source-only run first, DANN run second).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def pca2(fs: np.ndarray, ft: np.ndarray) -> tuple:
    """(source (n_s, 2), target (n_t, 2), explained-variance fractions (2,)) of the joint PCA."""
    f = np.concatenate([fs, ft]).astype(np.float64)
    f -= f.mean(0)
    _, s, vt = np.linalg.svd(f, full_matrices=False)
    z = f @ vt[:2].T
    return z[:len(fs)], z[len(fs):], (s[:2] ** 2) / (s ** 2).sum()


def _panel(ax, zs, zt, var, title):
    ax.scatter(zs[:, 0], zs[:, 1], s=4, alpha=0.5, c="tab:blue", label="source: MNIST")
    ax.scatter(zt[:, 0], zt[:, 1], s=4, alpha=0.5, c="tab:red", label="target: UCI digits")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(f"PC1 ({100 * var[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC2 ({100 * var[1]:.0f}%)")
    ax.legend(fontsize=7, markerscale=3, loc="best")


def save_feature_pca(path, npz_path, fs, ft, ls, lt, title: str = "") -> Path:
    """One panel: source (blue) and target (red) features on the joint first two PCs; the
    projections, labels, variance fractions and title also go to ``npz_path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    zs, zt, var = pca2(fs, ft)
    np.savez(npz_path, source=zs.astype(np.float32), target=zt.astype(np.float32), var=var,
             source_labels=np.asarray(ls), target_labels=np.asarray(lt), title=np.asarray(title))
    fig, ax = plt.subplots(figsize=(4.5, 4.2), dpi=100)
    _panel(ax, zs, zt, var, title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def save_pca_pair(path, before: Path, after: Path) -> Path:
    """Two panels from two runs' ``features_pca.npz`` (before = source-only, after = DANN)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), dpi=100)
    for ax, run in zip(axes, (before, after)):
        with np.load(Path(run) / "features_pca.npz", allow_pickle=False) as f:
            _panel(ax, f["source"], f["target"], f["var"], str(f["title"]))
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tinygan.trainers.dann_pictures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", help="run folder of a source-only run")
    p.add_argument("after", help="run folder of a DANN run")
    p.add_argument("--out", default="dann_pca.png")
    args = p.parse_args(argv)
    for run in (args.before, args.after):
        if not (Path(run) / "features_pca.npz").is_file():
            print(f"tinygan.trainers.dann_pictures: {run} has no features_pca.npz (not a finished "
                  "`train dann` run)", file=sys.stderr)
            return 1
    print(save_pca_pair(args.out, Path(args.before), Path(args.after)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
