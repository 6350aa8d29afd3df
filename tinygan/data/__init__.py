"""Datasets and loaders: MNIST (IDX reader, cache, download, shipped 5,000-digit subset) and a
seeded, resumable batch iterator. ``python -m tinygan.data mnist --download`` fills the cache."""
from .loader import BatchLoader  # noqa: F401
from .mnist import (MNIST, DownloadError, MNISTFormatError, cache_dir, download,  # noqa: F401
                    load_mnist, read_idx, to_model_input, write_idx)
