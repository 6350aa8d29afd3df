"""``python -m tinygan.train MODEL``: the training entry points.

Models: ``dcgan`` (the main job: DCGAN on MNIST). It is not built yet -- it lands with the DCGAN
issue; this entry point already exists so the README's command is final.
"""
from __future__ import annotations

import argparse
import sys

MODELS = {"dcgan": "DCGAN on MNIST (seed 002's architecture)"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygan.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=sorted(MODELS), help="what to train")
    args, _rest = parser.parse_known_args(argv)
    print(f"tinygan.train {args.model}: {MODELS[args.model]} is not built yet in this version "
          "of tinygan (it lands with the DCGAN issue).", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
