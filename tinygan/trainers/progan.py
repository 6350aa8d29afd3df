"""``python -m tinygan.train progan [flags]``: Progressive GAN on MNIST, grown 7x7 -> 14x14 -> 28x28.

    python -m tinygan.train progan                        # 5 phases, 89,600 images (see DEFAULTS)
    python -m tinygan.train progan --preset paper         # the paper's WGAN-GP recipe, 5 x 19,712
    python -m tinygan.train progan --phase-images 40000   # every phase 40,000 images
    python -m tinygan.sample runs/progan-... --out grid.png   python -m tinygan.eval runs/progan-...

Settings, presets and flags: :mod:`.progan_flags`. Networks, fade-in and the phase schedule:
:mod:`tinygan.models.progan` (Karras et al. 2018, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation"). Training runs five phases of ``--phase-images`` images: 7x7;
14x14 faded in (alpha 0 -> 1); 14x14; 28x28 faded in; 28x28. The loop's "epochs" are these phases: a grid and a checkpoint at the end of each.

Each step draws a real batch, brought to the stage's resolution r by 2x2 average pooling; while a
stage fades in, the reals are faded the same way, x_r <- (1 - alpha) up(down(x_r)) + alpha x_r
(the paper's code), so that they look like what G can draw. One z gives the fakes; then one Adam
step of D and one of G. ``--loss wgan-gp`` (the paper's): the critic's WGAN-GP loss with the
paper's drift term,

    L_D = mean D(G(z)) - mean D(x) + lambda mean (||grad D(x_hat)|| - 1)^2 + eps_drift mean D(x)^2

(lambda = ``--gp-weight`` 10, eps_drift = ``--drift`` 0.001; the penalty is
:func:`tinygan.nn.gan_loss.gradient_penalty`, Gulrajani et al. 2017), and L_G = -mean D(G(z)).
``--loss nonsaturating`` (StyleGAN's, Karras et al. 2019): D's logistic loss with the R1 penalty
on the reals, :func:`tinygan.nn.gan_loss.r1_penalty` (Mescheder et al. 2018),

    L_D = -mean log sigmoid(D(x)) - mean log(1 - sigmoid(D(G(z)))) + gamma/2 mean ||grad D(x)||^2

(gamma = ``--r1``), and L_G = -mean log sigmoid(D(G(z))). ``--reg-every K`` computes the penalty
only every K-th step, K times as heavy (lazy regularisation, Karras et al. 2020, "Analyzing and
Improving the Image Quality of StyleGAN"): the penalty's double backward is most of a step's cost.
``--minibatch-discrimination B C`` adds Salimans et al.'s minibatch discrimination to D's head
(not in the paper; see :mod:`tinygan.models.progan`). Adam with the paper's betas 0 and 0.99 (eps
1e-8) at lr 0.012, falling linearly to 0 over the last 30% of the steps (``--decay``), where the
paper keeps 1e-3 (``--preset paper``): under the equalised learning rate every weight is stored
N(0, 1), so Adam's step of about lr moves it by about lr of its own scale; 1e-3 suits the paper's
800k images per phase, not this run's 2,800 steps of 32 digits. A moving average of G (``--ema``,
0.995 as ``train dcgan``'s; the paper's 0.999 lags too far behind so short a run) is what the
grids, ``sample`` and ``eval`` draw. ``--phase-images`` sets one length for every phase or one per
phase.
``--output tanh`` (the default) ends G in a tanh, so that D judges the pixels a picture shows;
``--output linear`` is the paper's linear output, whose overshoot beyond [-1, 1] is clipped away
only when the digits are drawn.

A run writes the shared loop's files and ``samples/phase_K_RxR_{fade,stable}.png`` (8 x 8 digits
of one fixed z at the phase's resolution, each pixel shown 28 / R times as large), after each
fade-in ``samples/fade_in_RxR.png`` (rows: 8 fixed z; columns: alpha = 0, 0.25, ..., 1 with that
moment's weights; enlarged to 28 px as the grids), and at the end ``samples/final.png`` and ``losses.png``.
``sample`` / ``eval`` draw 28x28 digits from a checkpoint once the 28x28 block has trained (during
its fade-in at the checkpoint's alpha), clipped to [-1, 1] as the grids are (a no-op under
``--output tanh``), and refuse an earlier one, naming the step to resume to.
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..checkpoint import CheckpointError
from ..creation import tensor
from ..data import BatchLoader, to_model_input
from ..models import progan
from ..nn.gan_loss import discriminator_loss, generator_loss, gradient_penalty, r1_penalty
from ..optim import Adam
from ..random import Generator
from ..viz import save_grid
from ..viz import save_curves
from .common import frozen, stream
from .image2image import lr_factor
from .labelled import descend, load_digits, set_lr
from .job import Job
from .loop import main as loop_main
from .progan_flags import DEFAULTS, RULES, add_flags, resolve_flags
from .resume import load_checkpoint_modules

N_SAMPLES = 64                          # per-phase grids: 8 x 8 digits of one fixed z
FADE_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
FADE_ROWS = 8


def downsample(x: np.ndarray, size: int) -> np.ndarray:
    """2^k x 2^k average pooling of images (N, 1, H, W) to (N, 1, size, size); H = 2^k size."""
    f = x.shape[-1] // size
    return x.reshape(x.shape[0], 1, size, f, size, f).mean(axis=(3, 5), dtype=np.float32)


def real_batch(images: np.ndarray, stage: int, alpha: float) -> np.ndarray:
    """uint8 digits (N, 28, 28) -> the stage's reals (N, 1, r, r) in [-1, 1], faded like G's output."""
    r = progan.RESOLUTIONS[stage]
    x = downsample(to_model_input(images), r)
    if alpha < 1.0:
        coarse = downsample(x, r // 2).repeat(2, axis=2).repeat(2, axis=3)
        x = (1.0 - alpha) * coarse + alpha * x
    return x.astype(np.float32)


def draw(G, z: np.ndarray, stage: int, alpha: float, batch: int = 500) -> np.ndarray:
    """G(z) at (stage, alpha) as a numpy array (N, 1, r, r), under no_grad (G has no BatchNorm)."""
    device = next(G.parameters()).device
    with no_grad():
        return np.concatenate([G(tensor(np.asarray(z[s:s + batch], np.float32), device=device),
                                 stage, alpha).to("cpu").numpy() for s in range(0, len(z), batch)])


def enlarge(images: np.ndarray, size: int = 28) -> np.ndarray:
    """(N, 1, r, r) -> (N, 1, size, size), each pixel repeated size / r times (for the grids)."""
    f = size // images.shape[-1]
    return images.repeat(f, axis=2).repeat(f, axis=3)


class ProGANJob(Job):
    """Progressive GAN on MNIST (:mod:`tinygan.models.progan`), one Adam per player."""

    model = "progan"
    DEFAULTS = DEFAULTS
    RULES = RULES
    LOSS_KEYS = {"d_loss": "D loss", "g_loss": "G loss"}
    EMA_OF = ("G",)             # --ema 0.999: the paper's moving average of G, drawn for grids / eval
    ABSENT = {"ema": 0.0, "decay": 0.0, "loss": "wgan-gp", "r1": 10.0, "reg_every": 1, "minibatch": None,
              "output": "linear"}                              # runs from before those flags
    add_flags = staticmethod(add_flags)

    @classmethod
    def given(cls, args) -> dict:
        return resolve_flags(args, super().given(args))

    def __init__(self, config: dict, args, checkpoint=None):
        self.config, self.device = config, getattr(args, "device", "cpu")
        seed, B = config["seed"], config["batch_size"]
        self.images, _, self.data = load_digits(args, checkpoint, config["n_train"], B)
        self.rngs = {name: stream(seed, name) for name in ("init", "data", "z", "penalty")}
        self.G, self.D = progan.build(config["z_dim"], config["channels"], config["mbstd_group"],
                                      generator=self.rngs["init"], minibatch=config["minibatch"],
                                      output=config["output"])
        self.G.to(self.device), self.D.to(self.device)
        opt = dict(lr=config["lr"], betas=tuple(config["betas"]), eps=1e-8)
        self.optimizers = {"G's Adam": Adam(self.G.parameters(), **opt),
                           "D's Adam": Adam(self.D.parameters(), **opt)}
        self.modules = {"G": self.G, "D": self.D}
        self.loader = BatchLoader(self.images, B, self.rngs["data"])
        self.batch_size = B
        images = config["phase_images"]
        steps = [max(1, round(n / B)) for n in (images if isinstance(images, list) else [images])]
        self.phase_steps = steps[0] if len(steps) == 1 else steps     # one length, or one per phase
        self.lengths = progan.phase_lengths(self.phase_steps)
        self.steps_per_epoch, self.total_steps = self.lengths[0], sum(self.lengths)
        self.done = 0                                   # steps taken (restored on resume)
        self.fixed_z = stream(seed, "samples").normal((N_SAMPLES, config["z_dim"]))

    def describe(self, steps: int) -> str:
        c = self.config
        lazy = f", every {c['reg_every']} steps x {c['reg_every']}" if c["reg_every"] > 1 else ""
        objective = (f"WGAN-GP (lambda {c['gp_weight']}{lazy}, drift {c['drift']})" if c["loss"] == "wgan-gp"
                     else f"non-saturating loss, R1 (gamma {c['r1']}{lazy})")
        length = (f"{progan.PHASES} phases x {self.phase_steps} steps" if len(set(self.lengths)) == 1
                  else f"{progan.PHASES} phases of {' + '.join(map(str, self.lengths))} steps")
        if steps < self.total_steps:
            length = f"{steps} steps (--max-steps; a full run is {length})"
        return (f"ProGAN 7x7 -> 14x14 -> 28x28 (channels {tuple(c['channels'])}): {self.data['n']:,} "
                f"training digits, {length} x {self.batch_size} = {steps * self.batch_size:,} images; "
                f"{objective}, Adam lr {c['lr']}"
                + (f" (falling to 0 over the last {c['decay']:.0%})" if c["decay"] else "") + ", "
                f"betas {tuple(c['betas'])}"
                + (f", minibatch discrimination {c['minibatch'][0]} x {c['minibatch'][1]}" if c["minibatch"] else "")
                + (f", EMA of G {c['ema']}" if c["ema"] else "") + f", {c['output']} output")

    def record(self) -> dict:
        return {"phase_steps": self.phase_steps, "resolutions": list(progan.RESOLUTIONS),
                **self.provenance()}

    def meta(self) -> dict:
        stage, alpha, phase = progan.schedule(self.done, self.phase_steps)
        trained = progan.schedule(max(self.done - 1, 0), self.phase_steps)[0]
        return {"data": self.data, "phase_steps": self.phase_steps, "stage": stage, "alpha": alpha,
                "phase": phase, "trained_stage": trained,
                "resolution": progan.RESOLUTIONS[trained]}

    def states(self) -> dict:
        return {"optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "loader": self.loader.state_dict(), "steps_done": self.done,
                "rng": {name: self.rngs[name].get_state() for name in ("z", "penalty")}}

    def load_states(self, states: dict) -> None:
        for k, o in self.optimizers.items():
            o.load_state_dict(states["optimizers"][k])
        self.loader.load_state_dict(states["loader"])
        for name in ("z", "penalty"):
            self.rngs[name].set_state(states["rng"][name])
        self.done = int(states["steps_done"])
        set_lr(self.optimizers.values(), self.config["lr"])

    def step(self) -> dict:
        c, dev = self.config, self.device
        set_lr(self.optimizers.values(), c["lr"] * lr_factor(self.done, self.total_steps, c["decay"]))
        stage, alpha, _ = progan.schedule(self.done, self.phase_steps)
        self.G.stage = self.D.stage = stage
        self.G.alpha = self.D.alpha = alpha
        real = tensor(real_batch(self.loader.next_batch(), stage, alpha), device=dev)
        fake = self.G(tensor(self.rngs["z"].normal((self.batch_size, c["z_dim"])), device=dev))
        real_out, fake_out = self.D(real), self.D(fake.detach())
        lazy = c["reg_every"]
        regularise = self.done % lazy == 0          # lazy regularisation: every K-th step, K times
        if c["loss"] == "wgan-gp":
            wasserstein = real_out.mean() - fake_out.mean()
            values = {"wasserstein": float(wasserstein.item())}
            drift = (real_out * real_out).mean() * c["drift"]
            penalty = (gradient_penalty(self.D, real, fake, c["gp_weight"] * lazy,
                                        generator=self.rngs["penalty"]) if regularise else None)
            loss = (drift if penalty is None else penalty + drift) - wasserstein
        else:
            values = {"d_real": float(real_out.mean().item()), "d_fake": float(fake_out.mean().item())}
            penalty = r1_penalty(self.D, real, c["r1"] * lazy) if regularise else None
            loss = discriminator_loss(real_out, fake_out, "nonsaturating")
            loss = loss if penalty is None else loss + penalty
        if penalty is not None:
            values["penalty"] = float(penalty.item())
        values["d_loss"] = descend(self.optimizers["D's Adam"], loss)
        with frozen(self.D):
            values["g_loss"] = descend(self.optimizers["G's Adam"], generator_loss(self.D(fake), c["loss"]))
        self.done += 1
        return {**values, "stage": stage, "alpha": alpha, "resolution": progan.RESOLUTIONS[stage]}

    def postfix(self, values: dict) -> str:
        r = values["resolution"]
        fade = f" alpha {values['alpha']:.2f}" if values["alpha"] < 1 else ""
        text = f"{r}x{r}{fade} D {values['d_loss']:.3f} G {values['g_loss']:.3f}"
        if "wasserstein" in values:
            text += f" W {values['wasserstein']:.3f}"
        else:
            text += f" D(x) {values['d_real']:.2f} D(G(z)) {values['d_fake']:.2f} (logits)"
        if "penalty" in values:
            text += f" {'GP' if 'wasserstein' in values else 'R1'} {values['penalty']:.3f}"
        return text

    def epoch_ends(self) -> tuple:
        """The loop's "epochs" are the phases: each ends after its own number of steps."""
        return tuple(int(n) for n in np.cumsum(self.lengths))

    def epoch_end(self, run_dir, epoch: int) -> str:
        """After phase ``epoch`` (1-based): its grid; after a fade-in also the fade-in strip."""
        phase = epoch - 1
        stage = (phase + 1) // 2
        r, kind = progan.RESOLUTIONS[stage], "fade" if phase % 2 else "stable"
        images = draw(self.drawing("G"), self.fixed_z, stage, 1.0 if kind == "stable" else self._alpha_end())
        path = save_grid(run_dir / "samples" / f"phase_{epoch}_{r}x{r}_{kind}.png", enlarge(images), nrow=8)
        if kind == "fade":
            strip = fade_strip(self.drawing("G"), self.fixed_z[:FADE_ROWS], stage)
            save_grid(run_dir / "samples" / f"fade_in_{r}x{r}.png", enlarge(strip), nrow=len(FADE_ALPHAS))
        return str(path)

    def _alpha_end(self) -> float:
        return progan.schedule(self.done - 1, self.phase_steps)[1]

    def finish(self, run_dir, metrics) -> dict:
        curves = {"D loss": metrics.series("d_loss"), "G loss": metrics.series("g_loss")}
        if self.config["loss"] == "wgan-gp":
            curves["mean D(x) - mean D(G(z))"] = metrics.series("wasserstein")
        else:
            curves["mean logit D(x)"], curves["mean logit D(G(z))"] = metrics.series("d_real"), metrics.series("d_fake")
        if curves["D loss"]:
            save_curves(run_dir / "losses.png", curves, title=f"ProGAN ({self.config['loss']}) losses",
                        xlabel="step", ylabel="value")
        stage, alpha, _ = progan.schedule(self.done, self.phase_steps)
        save_grid(run_dir / "samples" / "final.png",
                  enlarge(draw(self.drawing("G"), self.fixed_z, stage, alpha)), nrow=8)
        return {"stage": stage, "alpha": alpha}


def fade_strip(G, z: np.ndarray, stage: int) -> np.ndarray:
    """(rows x len(FADE_ALPHAS), 1, r, r): row i is G(z_i) at stage ``stage`` for alpha = 0, 0.25,
    ..., 1 (alpha 0: the previous stage's output, upsampled)."""
    columns = [draw(G, z, stage, a) for a in FADE_ALPHAS]
    return np.stack(columns, axis=1).reshape(-1, *columns[0].shape[1:])


def build_networks(config: dict) -> dict:
    """{"G": Generator} of a checkpoint's config, on the CPU (for sample / eval)."""
    return {"G": progan.Generator(config["z_dim"], config["channels"], output=config.get("output", "linear"))}


def load_generator(path):
    """(Generator set to the checkpoint's stage and alpha, the checkpoint). A checkpoint taken
    before the 28x28 block trained (its G still draws 7x7 or 14x14 digits) is a CheckpointError."""
    modules, checkpoint = load_checkpoint_modules(path, "progan", ProGANJob.RULES, build_networks, ["G"])
    G, meta = modules["G"], checkpoint.meta
    try:
        trained, stage, alpha = int(meta["trained_stage"]), int(meta["stage"]), float(meta["alpha"])
        lengths = progan.phase_lengths(meta["phase_steps"])
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"checkpoint {checkpoint.path}: no ProGAN stage in its record") from None
    if trained < progan.FINAL_STAGE:
        r = progan.RESOLUTIONS[trained]
        raise CheckpointError(
            f"checkpoint {checkpoint.path} (step {checkpoint.step}): its generator draws {r}x{r} "
            f"digits, not yet 28x28; resume the run past step {sum(lengths[:2 * progan.FINAL_STAGE - 1])} "
            f"(the end of phase {2 * progan.FINAL_STAGE - 1})")
    G.stage, G.alpha = stage, alpha
    return G, checkpoint


def load_sampler(path):
    """(sample(n, seed) -> images (n, 1, 28, 28), checkpoint meta, "mnist"). The images are
    clipped to the pixel range [-1, 1]: a linear output layer (the paper's, ``--output linear``)
    overshoots it, and a digit is what a PNG of it shows (as ``train lapgan``'s)."""
    G, checkpoint = load_generator(path)
    return (lambda n, seed: np.clip(draw(G, Generator(seed).normal((n, G.z_dim)), G.stage, G.alpha), -1.0, 1.0),
            checkpoint.meta, "mnist")


def main(argv=None) -> int:
    """``python -m tinygan.train progan [flags]``."""
    return loop_main(ProGANJob, argv, description=__doc__)
