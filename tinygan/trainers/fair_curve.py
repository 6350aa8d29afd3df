"""The accuracy / demographic-parity trade-off over ``train fair`` runs with different adversary
weights: ``python -m tinygan.trainers.fair_curve RUN... --out curve.png`` reads each run's
``summary.json``, prints a markdown table (one row per alpha, means over the runs that share it,
+- the standard deviation when there are several seeds) and draws test accuracy against the
parity gap, each point labelled with its alpha; alpha = 0 is the unconstrained baseline.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

KEYS = ("test_acc", "dp_gap", "adv_acc_test", "probe_acc")


def collect(runs) -> dict:
    """{alpha: {key: [values over runs]}} from the runs' summary.json files."""
    table = {}
    for run in runs:
        path = Path(run) / "summary.json"
        try:
            s = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a finished `train fair` run ({exc})") from None
        if "adv_weight" not in s:
            raise ValueError(f"{path}: not a `train fair` summary (no adv_weight)")
        row = table.setdefault(float(s["adv_weight"]), {k: [] for k in KEYS})
        for k in KEYS:
            if k in s:
                row[k].append(float(s[k]))
    return dict(sorted(table.items()))


def _cell(values) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def markdown(table: dict) -> str:
    lines = ["| adversary weight alpha | runs | test accuracy | parity gap | game adversary's accuracy on a | fresh probe's accuracy on a |",
             "|---|---|---|---|---|---|"]
    for alpha, row in table.items():
        lines.append(f"| {alpha:g}{' (unconstrained)' if alpha == 0 else ''} | {len(row['test_acc'])} | "
                     f"{_cell(row['test_acc'])} | {_cell(row['dp_gap'])} | {_cell(row['adv_acc_test'])} | "
                     f"{_cell(row['probe_acc'])} |")
    return "\n".join(lines)


def save_curve(path, table: dict) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    gaps = [np.mean(r["dp_gap"]) for r in table.values()]
    accs = [np.mean(r["test_acc"]) for r in table.values()]
    ax.plot(gaps, accs, "o-", color="tab:blue")
    for alpha, g, a in zip(table, gaps, accs):
        ax.annotate(f"α={alpha:g}", (g, a), textcoords="offset points", xytext=(4, -10), fontsize=8)
    if 0.0 in table:
        ax.plot([gaps[0]], [accs[0]], "s", color="tab:red", label="unconstrained (α=0)")
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("demographic-parity gap |P(ŷ=1|a=1) - P(ŷ=1|a=0)|")
    ax.set_ylabel("held-out task accuracy")
    ax.set_title("adversarially fair representation: trade-off", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tinygan.trainers.fair_curve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", help="run folders of `train fair`")
    p.add_argument("--out", default="fair_tradeoff.png")
    args = p.parse_args(argv)
    try:
        table = collect(args.runs)
    except ValueError as exc:
        print(f"tinygan.trainers.fair_curve: {exc}", file=sys.stderr)
        return 1
    print(markdown(table))
    print(save_curve(args.out, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
