"""``python -m tinygan.data mnist [--download] [--dest DIR] [--timeout S]``

Without ``--download``: say where MNIST would be read from. With it: fetch the four IDX ``.gz``
files from the mirrors, check their SHA-256, and store them in the cache (``$TINYGAN_DATA`` or
``~/.cache/tinygan``, sub-folder ``mnist/``). Offline it fails within ``--timeout`` seconds with a
message saying what to do instead.
"""
from __future__ import annotations

import argparse
import sys

from . import mnist

DATASETS = ("mnist",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygan.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("--download", action="store_true", help="fetch the full dataset into the cache")
    parser.add_argument("--dest", default=None, help="folder to download into (default: the cache)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per network attempt")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(f"--timeout must be > 0, got {args.timeout}")
    if args.download:
        try:
            dest = mnist.download(args.dest, timeout=args.timeout)
        except mnist.DownloadError as exc:
            print(f"tinygan.data: {exc}", file=sys.stderr)
            return 1
        print(f"MNIST is in {dest} (SHA-256 checked)")
    try:
        data = mnist.load_mnist("train", data_dir=args.dest if args.download else None, verbose=True)
    except (mnist.MNISTFormatError, OSError) as exc:
        where = args.dest if args.download and args.dest else mnist.cache_dir() / "mnist"
        print(f"tinygan.data: {exc} (delete the damaged file, or fetch it again into {where} with "
              "python -m tinygan.data mnist --download)", file=sys.stderr)
        return 1
    return 0 if len(data) else 1


if __name__ == "__main__":
    sys.exit(main())
