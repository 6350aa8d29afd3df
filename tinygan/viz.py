"""Pictures: matrices as heat maps, curves, image grids, written straight to PNG files.

matplotlib is imported inside the functions (``import tinygan`` stays fast) and only through its
object-oriented API with the Agg canvas, so saving a picture never touches pyplot's global state
or needs a display.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def save_matrix(path, matrix, title: str = "", cell_labels=None, xlabel: str = "",
                ylabel: str = "") -> Path:
    """Heat map of a 2-D ``matrix`` with a colorbar; returns the path.

    ``cell_labels`` (same shape, strings such as "k1"; "" for none) are written into the cells, so a
    conv matrix can be read symbolically. Colours are centred on 0 (white) when entries have both
    signs.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    figure = _figure(min(12.0, 1.6 + 0.55 * cols), min(12.0, 1.2 + 0.5 * rows))
    ax = figure.add_subplot()
    limit = float(np.abs(matrix).max()) or 1.0
    if matrix.min() < 0:
        image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
    else:
        image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=limit)
    figure.colorbar(image, ax=ax, shrink=0.8)
    if max(rows, cols) <= 32:  # index ticks only while they stay readable
        ax.set_xticks(range(cols))
        ax.set_yticks(range(rows))
    if cell_labels is not None:
        for (i, j), label in np.ndenumerate(np.asarray(cell_labels, dtype=object)):
            if label:
                dark = abs(matrix[i, j]) > 0.6 * limit
                ax.text(j, i, label, ha="center", va="center", fontsize=9,
                        color="white" if dark else "black")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return _save(figure, path)


def save_curves(path, curves: dict, title: str = "", xlabel: str = "", ylabel: str = "",
                logy: bool = False) -> Path:
    """Line plot of ``{label: values}`` (x = index) on one axis; ``logy`` for residual decay."""
    figure = _figure(6.4, 4.2)
    ax = figure.add_subplot()
    for label, values in curves.items():
        ax.plot(np.asarray(values, dtype=np.float64), label=label)
    if logy:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, alpha=0.3)
    if len(curves) > 1:
        ax.legend()
    return _save(figure, path)


def _as_images(images) -> list:
    """A list of 2-D (gray) or (H, W, 3) arrays from a list or an (N,H,W) / (N,C,H,W) array."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    return [np.asarray(image, dtype=np.float64) for image in images]


def save_image_grid(path, images, titles=None, ncols: int | None = None, title: str = "",
                    cmap: str = "gray", vmin: float | None = None,
                    vmax: float | None = None) -> Path:
    """Images side by side in a grid (``ncols`` per row), each with an optional title.

    Gray images share the colour range [vmin, vmax] when given (values outside are clipped, so
    brightness is comparable across panels); otherwise each is scaled to its own min/max.
    """
    images = _as_images(images)
    ncols = ncols or min(len(images), 8)
    nrows = math.ceil(len(images) / ncols)
    figure = _figure(2.2 * ncols, 2.3 * nrows + (0.3 if title else 0))
    for k, image in enumerate(images):
        ax = figure.add_subplot(nrows, ncols, k + 1)
        ax.imshow(image, cmap=cmap if image.ndim == 2 else None, vmin=vmin, vmax=vmax)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def save_grid(path, images, nrow: int | None = None, scale: int = 2, pad: int = 2) -> Path:
    """Tile images (N, 1, H, W) or (N, H, W) with values in [-1, 1] into one gray PNG:
    ``nrow`` per row (default ~sqrt N), each pixel ``scale`` x ``scale``, ``pad`` pixels of gap."""
    from PIL import Image

    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"save_grid: expected images (N, 1, H, W) or (N, H, W), got {images.shape}")
    n, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    canvas = np.zeros((rows * (h + pad) + pad, nrow * (w + pad) + pad), dtype=np.uint8)
    pixels = np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)
    for k in range(n):
        r, c = divmod(k, nrow)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        canvas[top:top + h, left:left + w] = pixels[k]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(canvas, mode="L")
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    image.save(path)
    return path
