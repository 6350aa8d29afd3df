"""Teaching demos: ``python -m tinygan.demo transpose_conv [--out DIR] [--iters N] [--no-plots]``
``python -m tinygan.demo graph [--out DIR]`` (the autograd graph of an expression), and
``python -m tinygan.demo latent RUN [--out PNG]`` (latent-space walks and arithmetic on a trained
DCGAN or cGAN: :mod:`tinygan.demo_latent`).

transpose_conv (Ryu's lecture, "transpose convolution"): a convolution is a matrix A, and the transpose
convolution is exactly A^T. It prints the lecture's two 1-D conv matrices symbolically, checks that
A^T equals the matrix of ConvTranspose, then solves the least-squares deblurring problem

    minimize_x 1/2 ||conv(x) - y||^2   by   x^{k+1} = x^k - alpha_k transpose_conv(conv(x^k) - y)

on a 1-D step signal and on a 2-D image, with alpha = 1/||A||^2 from power iteration. Backprop
through F.conv1d gives exactly A^T g: it prints that equality too.

parallel-lines, graphical, vanishing-gradient: why GANs fail, from the lecture notes (KL / JS / W on
two parallel lines; max_D V = -log 4 + 2 JS with a training trajectory; the minimax loss's vanishing
gradient): :mod:`tinygan.demo_failures`.

graph: the autograd graphs of two small expressions (a tanh layer and a conv + LeakyReLU), every
node with its shape, value and gradient, every edge with its VJP rule (tinygan/viz_graph.py), as
PNG and Graphviz dot files.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from . import demo_failures, demo_latent, linops, viz, viz_graph
from .autograd import grad
from .checkpoint import CheckpointError
from .cli import CLIError, check_backend_env, fail, output_dir, output_file, positive_int
from .creation import tensor
from .nn import functional as F

TRANSPOSE_CONV_PICTURES = """\
pictures written to --out:
  A_stride1.png, AT_stride1.png  the 7x7 matrix A of Conv1d(kernel (k1,k2,k3), stride 1, padding 1)
                                 and its transpose A^T = the matrix of ConvTranspose1d
  A_stride2.png, AT_stride2.png  the same for stride 2, padding 0: A is 3x7, A^T is 7x3
  residuals.png                  ||A x^k - y|| against iteration k (log scale), every problem
  signal_1d.png                  1-D: original step signal, its blurred observation y, recovery x^k
  image_2d.png                   2-D: original image, blurred y (5x5 Gaussian, stride 1, 'same'),
                                 recovery x^k; stride 2: observed y (half size), recovery x^k
                                 (the minimum-norm solution: note the checkerboard of A^T)
"""

SYMBOLS = {1.0: "k1", 2.0: "k2", 3.0: "k3"}  # the kernel is built as k = (1, 2, 3)


def symbolic(matrix) -> np.ndarray:
    """Entries of a conv matrix built with k = (1, 2, 3) written back as "k1", "k2", "k3", "0"."""
    return np.vectorize(lambda v: SYMBOLS.get(float(v), "0" if v == 0 else f"{v:g}"),
                        otypes=[object])(matrix)


def format_matrix(name: str, matrix) -> str:
    table = symbolic(matrix)
    rows = ["  " + " ".join(f"{s:>3}" for s in row) for row in table]
    return f"{name} ({matrix.shape[0]}x{matrix.shape[1]}):\n" + "\n".join(rows)


def gaussian_kernel(size: int, sigma: float, ndim: int) -> np.ndarray:
    """A normalised Gaussian blur kernel (size, ) or (size, size), entries summing to 1."""
    t = np.arange(size) - (size - 1) / 2
    g = np.exp(-t**2 / (2 * sigma**2))
    kernel = g if ndim == 1 else np.outer(g, g)
    return kernel / kernel.sum()


def step_signal(n: int) -> np.ndarray:
    """A piecewise-constant signal with jumps up and down (hard to deblur at the edges)."""
    x = np.zeros(n)
    x[n // 8: n // 3] = 1.0
    x[n // 3: n // 2] = -0.5
    x[5 * n // 8: 7 * n // 8] = 0.75
    return x


def shapes_image(size: int) -> np.ndarray:
    """A synthetic test image: a ring, a filled square and a diagonal bar on a dark background."""
    v, u = np.mgrid[0:size, 0:size] / size
    ring = np.abs(np.hypot(u - 0.32, v - 0.32) - 0.18) < 0.05
    square = (np.abs(u - 0.72) < 0.14) & (np.abs(v - 0.3) < 0.14)
    bar = (np.abs((u - 0.5) - (v - 0.72)) < 0.05) & (np.abs(u - 0.5) < 0.3) & (v > 0.55)
    return np.maximum.reduce([ring * 1.0, square * 0.6, bar * 0.85])


def operator_norm_squared(A: linops.LinearOperator, iters: int = 50, seed: int = 0) -> float:
    """||A||^2 = largest eigenvalue of A^T A by power iteration (each step: conv, conv_transpose)."""
    b = np.random.default_rng(seed).standard_normal(A.in_shape)
    estimate = 0.0
    for _ in range(iters):
        b /= np.linalg.norm(b)
        ATAb = A.adjoint(A.apply(b))
        estimate = float(np.vdot(b, ATAb))  # Rayleigh quotient, <= ||A||^2, increasing
        b = ATAb
    return estimate


def least_squares(A: linops.LinearOperator, y, iters: int):
    """Gradient descent x^{k+1} = x^k - alpha transpose_conv(conv(x^k) - y) from x^0 = 0.

    alpha = 1/||A||^2 (power iteration): the gradient A^T (A x - y) is Lipschitz with constant
    ||A||^2, so every step below 2/||A||^2 decreases 1/2 ||A x - y||^2.
    Returns (x, [||A x^k - y|| for k = 0..iters]).
    """
    alpha = 1.0 / operator_norm_squared(A)
    x = np.zeros(A.in_shape)
    residuals = []
    for _ in range(iters):
        r = A.apply(x) - y
        residuals.append(float(np.linalg.norm(r)))
        x -= alpha * A.adjoint(r)
    residuals.append(float(np.linalg.norm(A.apply(x) - y)))
    return x, residuals


def lecture_matrices(out: Path | None, log, files: list) -> dict:
    """The two 1-D examples of Ryu's lecture: A, A^T, and A^T against ConvTranspose's own matrix.

    Pictures go to ``out`` (none when None); their paths are appended to ``files``.
    """
    k = np.array([1.0, 2.0, 3.0]).reshape(1, 1, 3)
    results = {}
    for name, stride, padding in (("stride1", 1, 1), ("stride2", 2, 0)):
        A = linops.Conv(k, (1, 1, 7), stride=stride, padding=padding)
        # Built on its own, not as A.T: ConvTranspose1d(k, stride, padding) sized to n = 7.
        B = linops.ConvTranspose(k, A.out_shape, stride=stride, padding=padding, output_size=7)
        dense, conv_t = A.to_dense(), B.to_dense()
        same = bool(np.array_equal(dense.T, conv_t))
        log(f"\nConv1d(kernel (k1,k2,k3), stride {stride}, padding {padding}) on n = 7:  y = A x")
        log(format_matrix("A", dense))
        log(format_matrix("A^T", dense.T))
        log(f"A^T == matrix of ConvTranspose1d(stride {stride}, padding {padding}, "
            f"output_size 7): {same}")
        backprop = backprop_is_adjoint(A, k, stride, padding, log)
        results[name] = {"A": dense, "AT": dense.T, "conv_transpose": conv_t,
                         "transpose_equals_conv_transpose": same, "backprop": backprop}
        if out is not None:
            size = f"{dense.shape[0]}x{dense.shape[1]}"
            files.append(viz.save_matrix(
                out / f"A_{name}.png", dense, cell_labels=symbolic(dense),
                title=f"A: conv, stride {stride}, padding {padding} ({size})",
                xlabel="input index", ylabel="output index"))
            files.append(viz.save_matrix(
                out / f"AT_{name}.png", dense.T, cell_labels=symbolic(dense.T),
                title=f"A^T = conv_transpose, stride {stride}",
                xlabel="input index", ylabel="output index"))
    return results


def backprop_is_adjoint(A: linops.Conv, k, stride: int, padding: int, log) -> dict:
    """Backprop through F.conv1d with cotangent g, against A.T(g) and the matrix A^T g."""
    g = np.arange(1.0, A.out_shape[-1] + 1).reshape(A.out_shape)        # g = (1, 2, 3, ...)
    x = tensor(np.zeros(A.in_shape), requires_grad=True)
    (gx,) = grad(F.conv1d(x, tensor(k), stride=stride, padding=padding), [x], grad_outputs=tensor(g))
    backprop, adjoint, dense = gx.numpy(), A.T(g), (A.to_dense().T @ g.ravel()).reshape(A.in_shape)
    equal = bool(np.allclose(backprop, adjoint, rtol=1e-12, atol=0) and np.allclose(adjoint, dense, rtol=1e-12, atol=0))
    log(f"backprop: tinygan.grad(F.conv1d(x, k), x, g) with g = {g.ravel().astype(int).tolist()}:")
    log(f"  {np.round(backprop.ravel(), 12).tolist()}  (in units of k1 = 1, k2 = 2, k3 = 3)")
    log(f"  == linops.Conv(k).T(g) == A^T @ g: {equal}")
    return {"g": g, "grad": backprop, "adjoint": adjoint, "dense": dense, "equal": equal}


def transpose_conv(out: Path, iters: int, plots: bool = True, log=print) -> dict:
    """Run the transpose-convolution demo; returns matrices, residual histories and files."""
    start = time.perf_counter()
    out = Path(out)
    files = []
    results = {"matrices": lecture_matrices(out if plots else None, log, files), "residuals": {}}

    problems = {}
    x1 = step_signal(96)
    k1 = gaussian_kernel(7, 1.5, ndim=1).reshape(1, 1, 7)
    problems["1-D, stride 1"] = (linops.Conv(k1, (1, 1, 96), padding="same"), x1[None, None])
    x2 = shapes_image(64)[None, None]
    k2 = gaussian_kernel(5, 1.0, ndim=2).reshape(1, 1, 5, 5)
    problems["2-D, stride 1"] = (linops.Conv(k2, x2.shape, padding="same"), x2)
    problems["2-D, stride 2"] = (linops.Conv(k2, x2.shape, stride=2, padding=2), x2)

    log(f"\nLeast squares  x^(k+1) = x^k - alpha transpose_conv(conv(x^k) - y),  {iters} steps:")
    recovered = {}
    for name, (A, x_true) in problems.items():
        y = A.apply(x_true)
        x, residuals = least_squares(A, y, iters)
        recovered[name] = (y, x)
        results["residuals"][name] = residuals
        log(f"  {name:14s} {A!r}\n  {'':14s} ||Ax-y||: {residuals[0]:.3e} -> {residuals[-1]:.3e} "
            f"(x{residuals[-1] / residuals[0]:.1e}); ||x-x_true||/||x_true|| = "
            f"{np.linalg.norm(x - x_true) / np.linalg.norm(x_true):.3f}")

    if plots:
        files.append(viz.save_curves(
            out / "residuals.png", results["residuals"], logy=True,
            title="gradient descent on 1/2 ||conv(x) - y||^2", xlabel="iteration k",
            ylabel="||A x^k - y||"))
        y1, xr1 = recovered["1-D, stride 1"]
        files.append(viz.save_curves(
            out / "signal_1d.png",
            {"original x": x1, "blurred y = A x": y1.ravel(), f"recovered x^{iters}": xr1.ravel()},
            title="1-D deblurring", xlabel="index"))
        (y2, xr2), (y3, xr3) = recovered["2-D, stride 1"], recovered["2-D, stride 2"]
        files.append(viz.save_image_grid(
            out / "image_2d.png", [x2[0, 0], y2[0, 0], xr2[0, 0], y3[0, 0], xr3[0, 0]],
            titles=["original", "blurred y (stride 1)", f"x^{iters} (stride 1)",
                    "observed y (stride 2)", f"x^{iters} (stride 2)"],
            vmin=0.0, vmax=1.0))
    results["files"] = [str(p) for p in files]
    results["seconds"] = time.perf_counter() - start
    log(f"\n{len(results['files'])} pictures in {out}/ ({results['seconds']:.1f} s)")
    return results


def graph_examples() -> dict:
    """Two small expressions, each ``(output, {name: tensor})``: a tanh layer and a conv."""
    f64 = "float64"
    x = tensor([[1.0, -2.0]], dtype=f64, requires_grad=True)
    W = tensor([[0.5, -1.0, 0.25], [1.5, 0.5, -0.5]], dtype=f64, requires_grad=True)
    b = tensor([0.1, -0.2, 0.3], dtype=f64, requires_grad=True)
    h = (x @ W + b).tanh()
    loss = (h * h).sum()
    layer = (loss, {"x": x, "W": W, "b": b, "h": h, "loss": loss})
    xc = tensor(np.arange(9.0).reshape(1, 1, 3, 3) / 4 - 1, requires_grad=True)
    w = tensor([[[[1.0, -1.0], [0.5, 2.0]]]], dtype=f64, requires_grad=True)
    y = F.conv2d(xc, w)
    out = F.leaky_relu(y, 0.2).sum()
    conv = (out, {"x": xc, "w": w, "y": y, "loss": out})
    return {"tanh_layer": layer, "conv": conv}


def graph(out: Path, plots: bool = True, log=print) -> dict:
    """Trace, print and draw the autograd graphs of :func:`graph_examples`."""
    results, files, examples = {}, [], graph_examples()
    titles = {"tanh_layer": "loss = sum(h * h),  h = tanh(x @ W + b)",
              "conv": "loss = sum(leaky_relu(conv2d(x, w), 0.2))"}
    for name, (output, names) in examples.items():
        g = viz_graph.trace(output, names)
        log(f"\n{titles[name]}")
        for node in g.nodes.values():
            log("  " + viz_graph.node_text(node).replace("\n", "\n    "))
        for e in g.edges:
            if e.rule:
                log(f"  {viz_graph.node_title(g.nodes[e.src])} -> "
                    f"{viz_graph.node_title(g.nodes[e.dst])}: backward sends {e.rule}")
        results[name] = g
        if plots:
            files.append(viz_graph.draw(g, Path(out) / f"graph_{name}.png", titles[name]))
            dot = Path(out) / f"graph_{name}.dot"
            dot.write_text(viz_graph.to_dot(g))
            files.append(dot)
    # The conv example's gradients are the adjoints of its linear operators.
    x, w, y = (examples["conv"][1][k] for k in ("x", "w", "y"))
    gy = results["conv"].nodes[id(y._node)].grad
    x_is_adjoint = bool(np.allclose(results["conv"].nodes[id(x)].grad,
                                    linops.Conv(w.numpy(), x.shape).T(gy), rtol=1e-12, atol=0))
    log(f"\nconv: grad at x == linops.Conv(w).T(grad at y): {x_is_adjoint}")
    results["files"] = [str(p) for p in files]
    results["conv_grad_is_adjoint"] = x_is_adjoint
    if files:
        log(f"{len(files)} files in {out}/")
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tinygan.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("transpose_conv", epilog=TRANSPOSE_CONV_PICTURES,
                               formatter_class=argparse.RawDescriptionHelpFormatter,
                               help="conv as a matrix A, transpose conv as A^T, least squares",
                               description="Conv as a matrix A; transpose convolution as A^T; "
                                           "deblurring by gradient descent with both.")
    demo.add_argument("--out", type=Path, default=Path("demo_out/transpose_conv"),
                      help="folder for the PNG pictures (default: %(default)s)")
    demo.add_argument("--iters", type=positive_int, default=500,
                      help="gradient-descent steps per problem (default: %(default)s)")
    demo.add_argument("--no-plots", action="store_true", help="print only, write no pictures")
    latent = commands.add_parser("latent", help="interpolation and class-vector arithmetic in a "
                                 "trained DCGAN's or cGAN's latent space, as one PNG",
                                 description=demo_latent.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    latent.add_argument("run", help="run folder, checkpoints folder or checkpoint of train dcgan / cgan")
    latent.add_argument("--out", type=Path, default=Path("latent.png"), help="PNG (default: %(default)s)")
    latent.add_argument("--seed", type=int, default=0, help="seed of the z drawn (default 0)")
    latent.add_argument("--pairs", type=positive_int, default=4, help="interpolation rows (default 4)")
    latent.add_argument("--arithmetic", nargs="+", metavar="A-B+C", default=list(demo_latent.DEFAULT_ARITHMETIC),
                        help="class triples: mean(A) - mean(B) + mean(C) (default: %(default)s)")
    demo = commands.add_parser("graph", help="the autograd graph of a small expression as a PNG",
                               description="Draws the autograd graphs of two small expressions: "
                                           "nodes with shapes, values and gradients, edges with "
                                           "their VJP rules (PNG, and Graphviz .dot).")
    demo.add_argument("--out", type=Path, default=Path("demo_out/graph"),
                      help="folder for graph_*.png and graph_*.dot (default: %(default)s)")
    demo.add_argument("--no-plots", action="store_true", help="print only, write no files")
    for name, text in FAILURE_DEMOS.items():
        demo = commands.add_parser(name, help=text, description=demo_failures.__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
        demo.add_argument("--out", type=Path, default=Path("demo_out") / name,
                          help="folder for the PNG (default: %(default)s)")
        demo.add_argument("--steps", type=positive_int, help="training steps (default: "
                          "300 per network for parallel-lines and per run for vanishing-gradient, "
                          "150 generator iterations for graphical)")
        demo.add_argument("--no-plots", action="store_true", help="print only, write no picture")
    return parser


FAILURE_DEMOS = {
    "parallel-lines": "KL, JS and W on two parallel lines; a WGAN critic vs a GAN discriminator",
    "graphical": "max_D V = -log 4 + 2 JS against G's mean, with a training trajectory",
    "vanishing-gradient": "the minimax loss's vanishing gradient, and G's gradient norm per loss",
}


def main(argv=None) -> dict | int:
    """Run a demo; returns its results, or an exit status (1) when --out cannot be written."""
    args = build_parser().parse_args(argv)
    if args.command == "latent":
        try:
            check_backend_env()
            output_file(args.out, "--out")
            for text in args.arithmetic:
                demo_latent.parse_triple(text)
            return demo_latent.latent_demo(args.run, args.out, args.seed, args.arithmetic, args.pairs)
        except (CLIError, CheckpointError, ValueError) as exc:
            return fail("tinygan.demo latent", exc)
    try:
        check_backend_env()
        if not args.no_plots:
            output_dir(args.out, "--out")
    except CLIError as exc:
        return fail("tinygan.demo", exc)
    if args.command == "transpose_conv":
        return transpose_conv(args.out, args.iters, plots=not args.no_plots)
    if args.command == "graph":
        return graph(args.out, plots=not args.no_plots)
    if args.command in FAILURE_DEMOS:
        run = {"parallel-lines": demo_failures.parallel_lines, "graphical": demo_failures.graphical,
               "vanishing-gradient": demo_failures.vanishing_gradient}[args.command]
        kwargs = {} if args.steps is None else {"iters" if args.command == "graphical" else "steps": args.steps}
        result = run(args.out, plots=not args.no_plots, **kwargs)
        if result["files"]:
            print("picture: " + ", ".join(result["files"]))
        return result
    raise AssertionError(args.command)  # argparse rejects unknown commands first


if __name__ == "__main__":
    result = main(sys.argv[1:])
    sys.exit(result if isinstance(result, int) else 0)
