r"""Why GANs fail, as three pictures (``python -m tinygan.demo parallel-lines | graphical |
vanishing-gradient``), each with the numbers it is drawn from printed.

* **parallel-lines** (Yale CPSC 663's notes; Arjovsky et al. 2017, Example 1): P is uniform on the
  segment x = 0, 0 <= y <= 1 and Q the same segment moved to x = theta. In closed form
  KL(P || Q) = +inf and JS(P, Q) = log 2 for every theta != 0, W(P, Q) = |theta|: only the
  Earth Mover's distance says how far apart the lines are. The same from samples (histograms for
  KL and JS, the exact assignment for W), and from trained networks: a GAN discriminator's
  (max_D V + log 4) / 2 estimates JS, stuck at log 2, and its gradient in theta vanishes; a
  WGAN-GP critic's mean C(P) - mean C(Q) recovers |theta| with a gradient of size ~1.
* **graphical** (Goodfellow et al. 2014; the Korean GAN lecture's "graphical explanation"):
  p_real = N(0, 1), and G only tunes the mean mu of p_fake = N(mu, 1). max_D V(D, G) =
  -log 4 + 2 JS(p_real || p_fake) as a function of mu (numerical integration), with the
  trajectory of a real alternating training run (D(x) = sigmoid(w x + b), the family that holds
  D* exactly, since log p/q is linear in x) drawn on it, and D* = p / (p + q) against the trained D.
* **vanishing-gradient** (Goodfellow et al. 2014, section 3): for D(G(z)) = sigmoid(a), the
  minimax loss log(1 - sigmoid(a)) has d/da = -sigmoid(a), which vanishes when D rejects the fakes
  (a -> -inf), while the non-saturating -log sigmoid(a) has d/da = -(1 - sigmoid(a)) -> -1;
  autograd against both closed forms; then G's gradient norm during real ``train gan`` runs on
  ring-8 with each loss.
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np

from . import nn, optim
from .autograd import grad
from .creation import tensor
from .metrics import emd, js_divergence, kl_divergence
from .nn import gan_loss
from .ops import cat, sigmoid
from .random import Generator
from .trainers import gan
from .viz import _figure, _save

THETAS = (-1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0)


# ----- parallel lines ----------------------------------------------------------------------------
def lines(theta: float, n: int, rng) -> np.ndarray:
    """n points (n, 2) uniform on the segment x = theta, 0 <= y <= 1 (float32)."""
    return np.stack([np.full(n, theta), rng.uniform(0.0, 1.0, n)], 1).astype(np.float32)


def sample_divergences(theta: float, n: int = 500, seed: int = 0) -> dict:
    """KL and JS of 2-D histograms (bins 0.05 wide) and the exact EMD of n + n samples."""
    rng = np.random.default_rng(seed)
    p, q = lines(0.0, n, rng), lines(theta, n, rng)
    edges = (np.linspace(-1.525, 1.525, 62), np.linspace(0.0, 1.0, 11))
    hp = np.histogram2d(p[:, 0], p[:, 1], edges)[0]
    hq = np.histogram2d(q[:, 0], q[:, 1], edges)[0]
    return {"kl": kl_divergence(hp, hq, normalize=True), "js": js_divergence(hp, hq, normalize=True),
            "w": emd(p, q)}


def _critic(seed: int):
    return nn.Sequential(nn.Linear(2, 64, generator=Generator(seed)), nn.LeakyReLU(0.2),
                         nn.Linear(64, 64, generator=Generator(seed + 1)), nn.LeakyReLU(0.2),
                         nn.Linear(64, 1, generator=Generator(seed + 2)))


def trained_estimates(theta: float, steps: int = 300, seed: int = 0) -> dict:
    """Train a GAN discriminator (BCE) and a WGAN-GP critic to separate P from Q at ``theta``;
    returns their estimates (JS from max V, W from the critic gap) and d/dtheta of G's losses
    at the trained networks: log(1 - D(Q)) (the minimax G of Goodfellow et al.) and -C(Q)."""
    rng, out = np.random.default_rng(seed), {}
    for kind in ("nonsaturating", "wgan-gp"):
        D = _critic(seed)
        opt = optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
        penalty_rng = Generator(seed)
        for _ in range(steps):
            real, fake = tensor(lines(0.0, 256, rng)), tensor(lines(theta, 256, rng))
            loss = gan_loss.discriminator_loss(D(real), D(fake), kind)
            if kind == "wgan-gp":
                loss = loss + gan_loss.gradient_penalty(D, real, fake, 10.0, penalty_rng)
            opt.zero_grad()
            loss.backward()
            opt.step()
        real, t = tensor(lines(0.0, 2000, rng)), tensor(np.array(theta, np.float32), requires_grad=True)
        y = tensor(rng.uniform(0.0, 1.0, (2000, 1)).astype(np.float32))
        fake = cat([tensor(np.zeros((2000, 1), np.float32)) + t, y], 1)   # x = theta: d/dtheta flows
        real_out, fake_out = D(real), D(fake)
        g_kind = "minimax" if kind == "nonsaturating" else kind
        (g,) = grad(gan_loss.generator_loss(fake_out, g_kind), t)
        if kind == "wgan-gp":
            out["w_critic"] = float(real_out.mean().item() - fake_out.mean().item())
            out["grad_critic"] = float(g.item())
        else:
            v = -gan_loss.discriminator_loss(real_out, fake_out).item()       # V(D, G)
            out["js_discriminator"] = (v + math.log(4.0)) / 2.0
            out["grad_discriminator"] = float(g.item())
    return out


def parallel_lines(out: Path, plots: bool = True, steps: int = 300, log=print) -> dict:
    """The table and the picture of the parallel-lines example (module docstring)."""
    rows = []
    log("theta | closed form: KL   JS     W   | samples: KL   JS     W    | trained: JS (D)  grad_theta"
        "  W (critic)  grad_theta")
    for theta in THETAS:
        s, t = sample_divergences(theta), trained_estimates(theta, steps)
        closed = {"kl": 0.0 if theta == 0 else math.inf, "js": 0.0 if theta == 0 else math.log(2),
                  "w": abs(theta)}
        rows.append({"theta": theta, "closed": closed, "samples": s, "trained": t})
        log(f"{theta:5.2f} | {closed['kl']:6.3f} {closed['js']:.3f} {closed['w']:.3f} | "
            f"{s['kl']:6.3f} {s['js']:.3f} {s['w']:.3f} | {t['js_discriminator']:.3f}  "
            f"{t['grad_discriminator']:+.2e}   {t['w_critic']:+.3f}   {t['grad_critic']:+.3f}")
    result = {"rows": rows, "files": []}
    if plots:
        figure = _figure(11.0, 4.0)
        th = np.array(THETAS)
        fine = np.linspace(-1, 1, 201)
        ax = figure.add_subplot(1, 2, 1)
        ax.plot(fine, np.where(fine == 0, 0, math.log(2)), "k-", label="JS, closed form (log 2 off 0)")
        ax.plot(fine, np.abs(fine), "b-", label="W = |theta|, closed form")
        ax.plot(th, [r["samples"]["js"] for r in rows], "ko", label="JS from histograms")
        ax.plot(th, [r["samples"]["w"] for r in rows], "bs", label="W from samples (exact EMD)")
        ax.plot(th, [r["trained"]["js_discriminator"] for r in rows], "r^", label="(max V + log 4)/2, trained D")
        ax.plot(th, [r["trained"]["w_critic"] for r in rows], "gv", label="WGAN-GP critic gap")
        ax.set(xlabel="theta", ylabel="distance", title="P on x = 0, Q on x = theta (KL = inf off 0)")
        ax.legend(fontsize=7)
        ax = figure.add_subplot(1, 2, 2)
        ax.plot(th, [r["trained"]["grad_discriminator"] for r in rows], "r^-",
                label="d/dtheta log(1 - D(Q)), trained D")
        ax.plot(th, [r["trained"]["grad_critic"] for r in rows], "gv-", label="d/dtheta -C(Q), WGAN-GP critic")
        ax.set(xlabel="theta", ylabel="G's gradient", title="the gradient G gets from each")
        ax.legend(fontsize=7)
        result["files"].append(str(_save(figure, Path(out) / "parallel_lines.png")))
    return result


# ----- the graphical explanation -------------------------------------------------------------------
def _normal_pdf(x, mu):
    return np.exp(-0.5 * (x - mu) ** 2) / math.sqrt(2 * math.pi)


def max_v(mu: float) -> float:
    """max_D V(D, G) = -log 4 + 2 JS(N(0, 1) || N(mu, 1)), the JS by the trapezoid rule."""
    x = np.linspace(-12.0 + min(mu, 0), 12.0 + max(mu, 0), 20001)
    p, q = _normal_pdf(x, 0.0), _normal_pdf(x, mu)
    m = 0.5 * (p + q)
    f = 0.5 * p * np.log(np.where(p > 0, p / m, 1)) + 0.5 * q * np.log(np.where(q > 0, q / m, 1))
    return -math.log(4.0) + 2.0 * float(np.trapezoid(f, x))


def graphical(out: Path, plots: bool = True, iters: int = 150, mu0: float = 3.0, k: int = 5,
              seed: int = 0, log=print) -> dict:
    """Alternating training of D(x) = sigmoid(w x + b) and G(z) = z + mu (module docstring)."""
    rng = np.random.default_rng(seed)
    D = nn.Linear(1, 1, generator=Generator(seed))
    mu = tensor(np.array([mu0], np.float32), requires_grad=True)
    d_opt, g_opt = optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.999)), optim.Adam([mu], lr=0.05)
    trajectory, every = [], max(1, iters // 6)
    for it in range(iters + 1):
        for _ in range(k):
            real = tensor(rng.standard_normal((512, 1)).astype(np.float32))
            fake = tensor(rng.standard_normal((512, 1)).astype(np.float32)) + mu.detach()
            loss = gan_loss.discriminator_loss(D(real), D(fake))
            d_opt.zero_grad()
            loss.backward()
            d_opt.step()
        m = float(mu.item())
        row = {"iter": it, "mu": m, "v": -float(loss.item()), "max_v": max_v(m)}
        if it % every == 0:          # D against D* = p / (p + q) at x = 0, mu / 2, mu
            xs = np.array([0.0, m / 2, m])
            p, q = _normal_pdf(xs, 0.0), _normal_pdf(xs, m)
            row["x"], row["d_star"] = xs.tolist(), (p / (p + q)).tolist()
            row["d"] = sigmoid(D(tensor(xs.reshape(-1, 1).astype(np.float32)))).numpy().ravel().tolist()
            log(f"iteration {it:4d}: mu = {m:+.3f}, V(D, G) = {row['v']:+.4f}, max_D V = -log 4 + 2 JS = "
                f"{row['max_v']:+.4f}; at x = 0, mu/2, mu: D* = {np.round(row['d_star'], 3).tolist()}, "
                f"trained D = {np.round(row['d'], 3).tolist()}")
        trajectory.append(row)
        if it < iters:
            fake = tensor(rng.standard_normal((512, 1)).astype(np.float32)) + mu
            g_opt.zero_grad()
            gan_loss.generator_loss(D(fake), "nonsaturating").backward()
            g_opt.step()
    final_mu = trajectory[-1]["mu"]
    log(f"-log 4 = {-math.log(4):.4f}: the value of the game at p_fake = p_real, where D* = 1/2")
    result = {"trajectory": trajectory, "files": []}
    if plots:
        figure = _figure(11.0, 4.0)
        ax = figure.add_subplot(1, 2, 1)
        grid = np.linspace(-1.0, max(4.0, mu0 + 1), 200)
        ax.plot(grid, [max_v(m) for m in grid], "k-", label="max_D V = -log 4 + 2 JS")
        ax.plot([r["mu"] for r in trajectory], [r["max_v"] for r in trajectory], "r.-", ms=3,
                label="training trajectory (mu_t, max_D V)")
        ax.plot([r["mu"] for r in trajectory], [r["v"] for r in trajectory], "b.", ms=2, alpha=0.5,
                label="V(D_t, G_t) of the trained D")
        ax.axhline(-math.log(4), color="gray", ls=":", label="-log 4")
        ax.set(xlabel="mean of p_fake (mu)", ylabel="V", title="G tunes only its mean; p_real = N(0, 1)")
        ax.legend(fontsize=7)
        ax = figure.add_subplot(1, 2, 2)
        x = np.linspace(-4, 4 + mu0, 300)
        q0 = _normal_pdf(x, mu0)
        ax.plot(x, _normal_pdf(x, 0), "k-", label="p_real")
        ax.plot(x, q0, "r-", label=f"p_fake at the start (mu = {mu0:g})")
        ax.plot(x, _normal_pdf(x, 0) / (_normal_pdf(x, 0) + q0), "b--", label="D* = p / (p + q) at the start")
        ax.plot(x, _normal_pdf(x, final_mu), "r:", label=f"p_fake at the end (mu = {final_mu:.2f})")
        ax.set(xlabel="x", title="the optimal discriminator")
        ax.legend(fontsize=7)
        result["files"].append(str(_save(figure, Path(out) / "graphical.png")))
    return result


# ----- vanishing gradient ------------------------------------------------------------------------
def saturation_curves(n: int = 201) -> dict:
    """d/da of both G losses by autograd on a in [-8, 8], and their largest error against the
    closed forms -sigmoid(a) (minimax) and -(1 - sigmoid(a)) (non-saturating)."""
    a = tensor(np.linspace(-8.0, 8.0, n), requires_grad=True)
    curves = {}
    for kind, closed in (("minimax", lambda s: -s), ("nonsaturating", lambda s: -(1 - s))):
        (g,) = grad(gan_loss.generator_loss(a, kind) * n, a)        # the loss is a mean: * n
        s = 1.0 / (1.0 + np.exp(-a.numpy()))
        curves[kind] = {"d_fake": s, "grad": g.numpy(), "error": float(np.abs(g.numpy() - closed(s)).max())}
    return curves


def vanishing_gradient(out: Path, plots: bool = True, steps: int = 300, log=print) -> dict:
    """The two losses' slopes and G's gradient norm in ``train gan`` runs (ring-8) per loss."""
    curves = saturation_curves()
    for kind, c in curves.items():
        i = int(np.argmin(np.abs(c["d_fake"] - 0.01)))
        log(f"{kind:13s}: d/da at D(G(z)) = {c['d_fake'][i]:.3f}: {c['grad'][i]:+.4f}; "
            f"autograd vs closed form, largest error {c['error']:.1e}")
    norms = {}
    with tempfile.TemporaryDirectory() as tmp:
        for loss in gan_loss.LOSSES:
            config = gan.resolve_config(gan.make_parser("").parse_args(
                ["--loss", loss, "--steps", str(steps), "--every", str(steps)]))
            gan.train(config, Path(tmp) / loss, progress=False, keep=1, pictures=False)
            rows = [json.loads(line) for line in (Path(tmp) / loss / "metrics.jsonl").read_text().splitlines()]
            norms[loss] = [r["g_grad_norm"] for r in rows]
            early = norms[loss][: max(1, steps // 5)]
            log(f"train gan --loss {loss:13s}: G's gradient norm, median over the first {len(early)} "
                f"steps {np.median(early):.2e}, over all {steps}: {np.median(norms[loss]):.2e}")
    result = {"curves": {k: {"error": c["error"]} for k, c in curves.items()}, "g_grad_norms": norms,
              "files": []}
    if plots:
        figure = _figure(11.0, 4.0)
        ax = figure.add_subplot(1, 2, 1)
        for kind, c in curves.items():
            ax.plot(c["d_fake"], np.abs(c["grad"]), label=f"|d/da| {kind}")
        ax.set(xlabel="D(G(z)) = sigmoid(a)", ylabel="|d loss / d a|", yscale="log",
               title="minimax saturates where D rejects the fakes")
        ax.legend(fontsize=8)
        ax = figure.add_subplot(1, 2, 2)
        for loss, values in norms.items():
            ax.plot(np.arange(1, len(values) + 1), values, label=loss, lw=1)
        ax.set(xlabel="generator step", ylabel="||grad of G's loss||", yscale="log",
               title=f"G's gradient norm, train gan on ring-8 ({steps} steps)")
        ax.legend(fontsize=7)
        result["files"].append(str(_save(figure, Path(out) / "vanishing_gradient.png")))
    return result

