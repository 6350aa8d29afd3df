r"""``python -m tinygan.eval RUN_OR_CHECKPOINT``: the metrics that apply to a trained generator.

``RUN_OR_CHECKPOINT`` is a run folder (its newest checkpoint), a ``checkpoints/`` folder or one
checkpoint (``step_*.json`` / ``.npz``) of ``python -m tinygan.train gan`` or ``... dcgan``.
The generator alone is loaded -- its moving average ``G_ema`` when the run kept one (``--ema``) --;
it draws ``--n`` samples (default 2,500) from a seeded z.

2-D mixtures (``gan --data ring|grid``), against the known mixture:
  mode coverage (modes captured, % high quality within 3 std, reverse KL of the mode histogram;
  :mod:`tinygan.metrics.coverage`), MMD^2 (unbiased, Gaussian kernel, median-heuristic bandwidth
  and a few fixed ones) and the exact Earth Mover's distance (optimal assignment) between the
  generated points and as many fresh real points.
MNIST (``gan --data mnist``, ``dcgan`` and the other digit generators), against the test split:
  LeNet-FID, the LeNet Inception-Score analog, the predicted-class ("mode") histogram with its
  KL to uniform, the fraction LeNet reads confidently (a class at p >= 0.9: a rough proxy of
  "readable"; :mod:`tinygan.metrics.lenet`), and the Parzen-window log-likelihood of the test
  digits (Goodfellow et al. 2014: pixels in [0, 1], window on ``--parzen-n`` = 10,000 samples, σ
  chosen on a random half of the test split, the mean ± standard error reported on the other
  half; :mod:`tinygan.metrics.parzen`). The FID / IS / histogram of
  real training digits in place of the generator are the ``reference`` (what a perfect
  generator would score).

Writes ``eval.json`` and ``eval.md`` (a markdown table) into the run folder, or ``--out``, for
the run's newest checkpoint; an older checkpoint's figures go to ``eval_step_NNNNNNN.json`` /
``.md`` beside them, so evaluating an intermediate checkpoint never replaces the final one's.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from .checkpoint import CheckpointError, list_checkpoints, resolve
from .cli import CLIError, check_backend_env, fail, output_dir
from .data import MNISTFormatError, load_mnist, to_model_input
from .data.toy import get_mixture
from .metrics import emd, mmd2
from .metrics.lenet import (confident_fraction, lenet_fid, lenet_inception_score, load_lenet,
                            mode_histogram)
from .metrics.parzen import parzen_estimate
from .trainers.samplers import load_sampler, model_kind  # noqa: F401 (API)

MMD_SIGMAS = (0.05, 0.2, 1.0)


# ----- loading --------------------------------------------------------------------------------
def report_stem(path) -> str:
    """``eval`` for the newest checkpoint of its folder, ``eval_<checkpoint stem>`` otherwise."""
    ckpt = resolve(path)
    newest = list_checkpoints(ckpt.parent)
    return "eval" if newest and newest[-1] == ckpt else f"eval_{ckpt.stem}"


def run_folder(path) -> Path:
    """The run folder a path belongs to (where eval.json goes)."""
    ckpt = resolve(path)
    return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent


# ----- metrics --------------------------------------------------------------------------------
def evaluate_toy(samples: np.ndarray, mixture, seed: int = 0, reference: bool = True) -> dict:
    """Coverage, MMD^2 and EMD of 2-D ``samples`` against ``mixture`` (fresh real points, as many).

    Two finite samples of one mixture are not at EMD 0: the mode counts differ by multinomial noise
    (~sqrt(N/K) per mode) and that mass must travel between modes (1.53 apart on ring-8), so
    ``reference`` also reports EMD and MMD^2 between two real samples of the same size."""
    samples = np.asarray(samples, np.float64)
    real = mixture.sample(len(samples), np.random.default_rng([seed, 7]), dtype=np.float64)
    sigmas = mmd2(samples, real, ["median", *MMD_SIGMAS])
    out = {"coverage": mixture.coverage(samples),
           "mmd2": {"median": float(sigmas[0]), **{str(s): float(v) for s, v in zip(MMD_SIGMAS, sigmas[1:])}},
           "emd": emd(samples, real), "num_samples": len(samples)}
    if reference:   # two real samples of this size are not at distance 0: the sampling-noise floor
        other = mixture.sample(len(samples), np.random.default_rng([seed, 8]), dtype=np.float64)
        out["reference"] = {"emd": emd(other, real), "mmd2_median": float(mmd2(other, real)),
                            "what": "a second real sample in place of the generator"}
    return out


def _mnist_block(images, test, model) -> dict:
    is_mean, is_std = lenet_inception_score(images, model=model)
    return {"lenet_fid": lenet_fid(images, test, model=model), "inception_score": is_mean,
            "inception_score_std": is_std, "modes": mode_histogram(images, model=model),
            "lenet_confident": confident_fraction(images, 0.9, model=model)}


def evaluate_mnist(images: np.ndarray, data_dir=None, seed: int = 0, parzen: bool = True,
                   reference: bool = True, parzen_images=None) -> dict:
    """LeNet-FID and IS analog against the test split, the mode histogram and the Parzen
    log-likelihood of ``images`` ((N, 784) or (N, 1, 28, 28) in [-1, 1]); the Parzen window is
    fitted to ``parzen_images`` when given (Goodfellow et al. used 10,000 samples)."""
    images = np.asarray(images, np.float32).reshape(len(images), 1, 28, 28)
    test = to_model_input(load_mnist("test", data_dir, verbose=False).images)
    train = to_model_input(load_mnist("train", data_dir, verbose=False).images)
    model = load_lenet()
    out = {**_mnist_block(images, test, model), "num_samples": len(images), "num_test": len(test),
           "lenet_test_accuracy": model.meta.get("test_accuracy")}
    rng = np.random.default_rng([seed, 11])
    # Parzen: σ is chosen on one half of the test split (digits G never trained on) and the
    # log-likelihood reported on the other half
    half = rng.permutation(len(test))
    valid, held_out = test[half[:len(test) // 2]], test[half[len(test) // 2:]]
    flat01 = lambda a: (a.reshape(len(a), -1).astype(np.float64) + 1.0) / 2.0  # noqa: E731
    keys = ("mean", "stderr", "sigma", "num_samples", "num_test")
    fit = images if parzen_images is None else np.asarray(parzen_images, np.float32)
    if parzen:
        p = parzen_estimate(flat01(fit), flat01(valid), flat01(held_out))
        out["parzen"] = {k: p[k] for k in keys}
    if reference:
        real = train[rng.choice(len(train), min(len(images), len(train)), replace=False)]
        out["reference"] = {**_mnist_block(real, test, model), "num_samples": len(real),
                            "what": "real training digits in place of the generator"}
        if parzen:
            window = train[rng.permutation(len(train))[:min(len(fit), len(train))]]
            p = parzen_estimate(flat01(window), flat01(valid), flat01(held_out))
            out["reference"]["parzen"] = {k: p[k] for k in keys}
    return out


def evaluate(path, n: int = 2500, seed: int = 0, parzen: bool = True, parzen_n: int = 10_000) -> dict:
    """Every metric that applies to the run or checkpoint at ``path`` (module docstring)."""
    start = time.perf_counter()
    sample, meta, data = load_sampler(path)
    samples = sample(n, 10_000 + seed)
    result = {"checkpoint": str(resolve(path)), "model": model_kind(meta), "data": data,
              "step": meta.get("step"), "seed": seed,
              "ema": any(m.endswith("_ema") for m in meta.get("modules", ()))}   # G's moving average
    if data in ("ring", "grid"):
        result["metrics"] = evaluate_toy(samples, get_mixture(data), seed)
    elif data == "mnist":
        extra = sample(parzen_n, 20_000 + seed) if parzen and parzen_n != n else None
        result["metrics"] = evaluate_mnist(samples, meta.get("config", {}).get("data_dir"), seed, parzen,
                                           parzen_images=extra)
    else:
        raise ValueError(f"tinygan.eval: no metrics for data {data!r}")
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


# ----- report ---------------------------------------------------------------------------------
def _f(x, digits=4):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def to_markdown(result: dict) -> str:
    """The result as a markdown table (one row per metric)."""
    m = result["metrics"]
    head = (f"# tinygan.eval: {result['model']} on {result['data']}\n\n"
            f"Checkpoint `{result['checkpoint']}` (step {result['step']}), {m['num_samples']} samples, "
            f"seed {result['seed']}{'; generator: its moving average (--ema)' if result.get('ema') else ''}.\n\n")
    if result["data"] in ("ring", "grid"):
        c = m["coverage"]
        rows = [("modes captured", f"{c['modes_captured']} / {c['num_modes']}", "a good sample is nearest to it"),
                ("high quality", f"{100 * c['high_quality']:.1f}%",
                 f"within {c['threshold']:g} std ({c['std']:g}) of its mode"),
                ("reverse KL of the mode histogram", _f(c["reverse_kl"]), "nats; 0 = even, log K = one mode"),
                ("MMD^2 (median bandwidth)", _f(m["mmd2"]["median"]), "unbiased, Gaussian kernel"),
                *[(f"MMD^2 (sigma {s})", _f(m["mmd2"][str(s)]), "") for s in MMD_SIGMAS],
                ("EMD / W1", _f(m["emd"]), "exact optimal assignment vs as many real points")]
        if "reference" in m:
            r = m["reference"]
            rows += [("reference: EMD, real vs real", _f(r["emd"]), "the sampling-noise floor"),
                     ("reference: MMD^2 (median), real vs real", _f(r["mmd2_median"]), "")]
        table = "| metric | value | note |\n|---|---|---|\n"
        return head + table + "".join(f"| {a} | {b} | {c} |\n" for a, b, c in rows)
    ref = m.get("reference")
    rows = [("LeNet-FID vs test split", _f(m["lenet_fid"]), _f(ref["lenet_fid"]) if ref else ""),
            ("LeNet IS analog", f"{m['inception_score']:.3f} ± {m['inception_score_std']:.3f}",
             f"{ref['inception_score']:.3f}" if ref else ""),
            ("LeNet-confident (a class at p >= 0.9)", f"{100 * m['lenet_confident']:.1f}%",
             f"{100 * ref['lenet_confident']:.1f}%" if ref else ""),
            ("classes present", str(m["modes"]["classes_present"]), str(ref["modes"]["classes_present"]) if ref else ""),
            ("mode histogram", " ".join(map(str, m["modes"]["counts"])),
             " ".join(map(str, ref["modes"]["counts"])) if ref else ""),
            ("KL(mode histogram || uniform)", _f(m["modes"]["kl_to_uniform"]),
             _f(ref["modes"]["kl_to_uniform"]) if ref else "")]
    if "parzen" in m:
        p = m["parzen"]
        rp = ref.get("parzen") if ref else None
        rows.append((f"Parzen log-likelihood (nats, {p['num_samples']} samples)",
                     f"{p['mean']:.1f} ± {p['stderr']:.1f} (σ = {p['sigma']:.3g})",
                     f"{rp['mean']:.1f} ± {rp['stderr']:.1f} (σ = {rp['sigma']:.3g}, {rp['num_samples']} digits)"
                     if rp else ""))
    table = "| metric | generator | real digits (reference) |\n|---|---|---|\n"
    note = (f"\nLeNet test accuracy {m.get('lenet_test_accuracy')}; {m['num_test']} test digits. "
            "LeNet-FID / IS use tinygan's small MNIST LeNet, not Inception: compare runs with each other only.\n")
    return head + table + "".join(f"| {a} | {b} | {c} |\n" for a, b, c in rows) + note


def _json_safe(obj):
    """NaN / inf -> None, so eval.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tinygan.eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", metavar="RUN_OR_CHECKPOINT")
    parser.add_argument("--n", type=int, default=2500, help="generated samples (default 2500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of z and of the reference draws")
    parser.add_argument("--no-parzen", action="store_true", help="skip the Parzen estimate (MNIST)")
    parser.add_argument("--parzen-n", type=int, default=10_000,
                        help="samples the Parzen window is fitted to (default 10000, as the paper; >= 2)")
    parser.add_argument("--out", help="folder for eval.json / eval.md (default: the run folder)")
    args = parser.parse_args(argv)
    if args.n < 2:
        parser.error("--n must be >= 2")
    if args.parzen_n < 2:
        parser.error(f"--parzen-n must be >= 2 (samples for the Parzen window), got {args.parzen_n}")
    try:
        check_backend_env()
        # the output folder first: a bad --out must not cost the whole evaluation
        out = output_dir(args.out, "--out") if args.out else output_dir(run_folder(args.path), "the run folder")
        result = evaluate(args.path, args.n, args.seed, parzen=not args.no_parzen,
                          parzen_n=args.parzen_n)
        text = to_markdown(result)
        stem = report_stem(args.path)
        (out / f"{stem}.json").write_text(json.dumps(_json_safe(result), indent=2, allow_nan=False) + "\n")
        (out / f"{stem}.md").write_text(text)
    except (CheckpointError, CLIError, MNISTFormatError, ValueError, FileNotFoundError) as exc:
        return fail("tinygan.eval", exc)
    except OSError as exc:
        return fail("tinygan.eval", f"cannot write eval.json / eval.md: {exc}")
    except MemoryError as exc:
        return fail("tinygan.eval", f"out of memory for --n {args.n} / --parzen-n {args.parzen_n} "
                                    f"samples ({exc}): ask for fewer")
    print(text)
    print(f"wrote {out / (stem + '.json')} and {out / (stem + '.md')} ({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
