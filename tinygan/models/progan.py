"""Progressive GAN for 28 x 28 MNIST (Karras, Aila, Laine & Lehtinen 2018, "Progressive Growing of
GANs for Improved Quality, Stability, and Variation"), grown 7 x 7 -> 14 x 14 -> 28 x 28.

Stage s = 0, 1, 2 works at resolution r_s = 7 * 2^s with C_s channels (``channels``, fewer at the
higher resolutions as in the paper's Table 2), lrelu =
LeakyReLU(0.2), PN = :class:`~tinygan.nn.PixelNorm`, every conv / linear an equalised-learning-
rate layer (:mod:`tinygan.nn.progressive`; 3x3 convs padded 1)::

    G: z (N, z_dim) -> PN -> linear -> (N, C_0, 7, 7) -> lrelu -> PN -> conv3 -> lrelu -> PN  h_0
       block_s (s = 1, 2): upsample x2 (nearest) -> conv3 C_{s-1} -> C_s -> lrelu -> PN
                           -> conv3 C_s -> C_s -> lrelu -> PN                  h_s (N, C_s, r_s, r_s)
       to_rgb_s: conv1 C_s -> 1, gain 1                                            (N, 1, r_s, r_s)
       output: linear (the paper's), or tanh (``output="tanh"``) after the fade-in blend below
    D: from_rgb_s: conv1 1 -> C_s -> lrelu                                        (N, C_s, r_s, r_s)
       block_s (s = 2, 1): conv3 C_s -> C_s -> lrelu -> conv3 C_s -> C_{s-1} -> lrelu -> avgpool 2
       head: MinibatchStdDev -> conv3 C_0 + 1 -> C_0 -> lrelu -> flatten -> linear 49 C_0 -> C_0
             -> lrelu -> linear C_0 -> 1 (gain 1)                                 (N,) critic value
             (``minibatch`` = (B, C): minibatch discrimination after the flatten, 49 C_0 + B
             features into the linear layer)

Fade-in (section 2 and Figure 2 of the paper): while stage s is faded in, alpha goes 0 -> 1 and

    G_s,alpha(z) = (1 - alpha) up(to_rgb_{s-1}(h_{s-1})) + alpha to_rgb_s(block_s(h_{s-1}))
    D_s,alpha(x) = head(blocks_{s-1..1}((1 - alpha) from_rgb_{s-1}(down(x))
                                        + alpha block_s(from_rgb_s(x))))

with up = nearest-neighbour x2 (:class:`~tinygan.nn.Upsample`) and down = 2x2 average pooling
(:class:`~tinygan.nn.AvgPool2d`), both linear operators whose adjoint is the other's transpose.
At alpha = 0 the grown networks are exactly the old ones (G's output upsampled, D's input
downsampled); at alpha = 1 the old path is gone. The networks hold every stage's layers from the
start; ``stage`` and ``alpha`` (attributes, or forward arguments) pick the path. The trainer sets
them from the step (:func:`schedule`), so a checkpoint needs nothing else to resume.

The paper's G ends in a linear layer; its pixels overshoot [-1, 1] (the background a little
below -1), which D judges but a picture of the digit cannot show. ``output="tanh"`` bounds them
as the DCGAN's G does. The tanh is elementwise, so it commutes with the nearest upsampling and the
fade-in at alpha = 0 still equals the old network.
"""
from __future__ import annotations

from .. import nn
from ..nn.progressive import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm

RESOLUTIONS = (7, 14, 28)
FINAL_STAGE = len(RESOLUTIONS) - 1
SLOPE = 0.2                  # LeakyReLU slope of both networks (the paper's)
PHASES = 2 * FINAL_STAGE + 1  # stable 7x7, then (fade-in, stable) for 14x14 and for 28x28
CHANNELS = (64, 32, 16)      # C_s at 7x7, 14x14, 28x28
OUTPUTS = ("linear", "tanh")  # G's output (module docstring)


def schedule(step: int, phase_steps) -> tuple:
    """(stage, alpha, phase) of training step ``step`` (0-based). ``phase_steps``: the length of
    every phase (an int) or of each of the PHASES phases (a sequence). Phase 0 trains stage 0;
    phase 2s - 1 fades stage s in, alpha = i / n at its i-th step of n (0 at the first,
    1 - 1/n at the last); phase 2s trains stage s at alpha = 1. Past the end: the last phase."""
    lengths = phase_lengths(phase_steps)
    phase, start = 0, 0
    while phase < PHASES - 1 and step >= start + lengths[phase]:
        start += lengths[phase]
        phase += 1
    stage = (phase + 1) // 2
    alpha = (step - start) / lengths[phase] if phase % 2 else 1.0
    return stage, min(alpha, 1.0), phase


def phase_lengths(phase_steps) -> tuple:
    """The PHASES phase lengths (steps) of ``phase_steps``: one int for all, or one per phase."""
    if isinstance(phase_steps, (int, float)):
        return (int(phase_steps),) * PHASES
    lengths = tuple(int(n) for n in phase_steps)
    if len(lengths) != PHASES or min(lengths) < 1:
        raise ValueError(f"progan: {PHASES} positive phase lengths expected, got {lengths}")
    return lengths


def _check_stage(stage, alpha, who: str) -> None:
    if stage not in range(FINAL_STAGE + 1):
        raise ValueError(f"{who}: stage must be 0..{FINAL_STAGE}, got {stage}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{who}: alpha must lie in [0, 1], got {alpha}")


def _check_channels(channels) -> tuple:
    channels = tuple(int(c) for c in channels)
    if len(channels) != len(RESOLUTIONS) or min(channels) < 1:
        raise ValueError(f"progan: channels must be {len(RESOLUTIONS)} positive counts (one per "
                         f"resolution {RESOLUTIONS}), got {channels}")
    return channels


def _blend(old, new, alpha: float):
    """(1 - alpha) old + alpha new; exactly ``old`` at alpha 0 and ``new`` at alpha 1."""
    if alpha >= 1.0:
        return new
    if alpha <= 0.0:
        return old
    return old * (1.0 - alpha) + new * alpha


def _conv_act(cin, cout, generator, norm: bool):
    layers = [EqualizedConv2d(cin, cout, 3, padding=1, generator=generator), nn.LeakyReLU(SLOPE)]
    return layers + [PixelNorm()] if norm else layers


class Generator(nn.Module):
    """z (N, z_dim) -> images (N, 1, r, r), r = RESOLUTIONS[stage] (module docstring)."""

    def __init__(self, z_dim: int = 128, channels=CHANNELS, generator=None, output: str = "linear"):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"progan Generator: output must be one of {OUTPUTS}, got {output!r}")
        self.z_dim, self.channels, self.output = int(z_dim), _check_channels(channels), output
        self.stage, self.alpha = FINAL_STAGE, 1.0
        C, r = self.channels, RESOLUTIONS[0]
        self.input_norm = PixelNorm()
        self.fc = EqualizedLinear(self.z_dim, C[0] * r * r, generator=generator)
        self.base = nn.Sequential(nn.Unflatten(1, (C[0], r, r)), nn.LeakyReLU(SLOPE), PixelNorm(),
                                  *_conv_act(C[0], C[0], generator, norm=True))
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                          *_conv_act(C[s - 1], C[s], generator, True),
                          *_conv_act(C[s], C[s], generator, True))
            for s in range(1, FINAL_STAGE + 1)])
        self.to_rgb = nn.ModuleList([EqualizedConv2d(c, 1, 1, gain=1.0, generator=generator)
                                     for c in C])
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, z, stage=None, alpha=None):
        stage = self.stage if stage is None else stage
        alpha = self.alpha if alpha is None else float(alpha)
        _check_stage(stage, alpha, "progan Generator")
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"progan Generator: expected z (N, {self.z_dim}), got {tuple(z.shape)}")
        h = self.base(self.fc(self.input_norm(z)))
        for block in self.blocks[:max(stage - 1, 0)]:
            h = block(h)
        if stage == 0:
            out = self.to_rgb[0](h)
        else:
            out = self.to_rgb[stage](self.blocks[stage - 1](h))
            if alpha < 1.0:
                out = _blend(self.up(self.to_rgb[stage - 1](h)), out, alpha)
        return out.tanh() if self.output == "tanh" else out

    def extra_repr(self):
        return f"z_dim={self.z_dim}, channels={self.channels}, output={self.output!r}"


class Discriminator(nn.Module):
    """images (N, 1, r, r), r = RESOLUTIONS[stage] -> critic values (N,) (module docstring)."""

    def __init__(self, channels=CHANNELS, group_size: int = 4, generator=None, minibatch=None):
        super().__init__()
        self.channels = C = _check_channels(channels)
        self.stage, self.alpha = FINAL_STAGE, 1.0
        r = RESOLUTIONS[0]
        self.from_rgb = nn.ModuleList([
            nn.Sequential(EqualizedConv2d(1, c, 1, generator=generator), nn.LeakyReLU(SLOPE))
            for c in C])
        self.blocks = nn.ModuleList([
            nn.Sequential(*_conv_act(C[s], C[s], generator, False),
                          *_conv_act(C[s], C[s - 1], generator, False), nn.AvgPool2d(2))
            for s in range(1, FINAL_STAGE + 1)])
        features = C[0] * r * r
        mbd = [nn.MinibatchDiscrimination(features, *minibatch, generator=generator)] if minibatch else []
        self.head = nn.Sequential(
            MinibatchStdDev(group_size), *_conv_act(C[0] + 1, C[0], generator, False), nn.Flatten(),
            *mbd, EqualizedLinear(features + (minibatch[0] if minibatch else 0), C[0], generator=generator),
            nn.LeakyReLU(SLOPE), EqualizedLinear(C[0], 1, gain=1.0, generator=generator))
        self.down = nn.AvgPool2d(2)

    def forward(self, x, stage=None, alpha=None):
        stage = self.stage if stage is None else stage
        alpha = self.alpha if alpha is None else float(alpha)
        _check_stage(stage, alpha, "progan Discriminator")
        r = RESOLUTIONS[stage]
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, r, r):
            raise ValueError(f"progan Discriminator at stage {stage}: expected images (N, 1, {r}, {r}), "
                             f"got {tuple(x.shape)}")
        h = self.from_rgb[stage](x)
        if stage > 0:
            h = self.blocks[stage - 1](h)
            if alpha < 1.0:
                h = _blend(self.from_rgb[stage - 1](self.down(x)), h, alpha)
            for s in range(stage - 1, 0, -1):
                h = self.blocks[s - 1](h)
        return self.head(h).reshape(-1)


def build(z_dim: int = 128, channels=CHANNELS, group_size: int = 4, generator=None,
          minibatch=None, output: str = "linear") -> tuple:
    """(Generator, Discriminator), weights drawn from ``generator`` (G's first); ``minibatch``
    = (B, C): D's head has minibatch discrimination of B kernels of C dims on its flattened
    features (Salimans et al. 2016; not in the paper), None: not; ``output``: G's, one of OUTPUTS."""
    G = Generator(z_dim, channels, generator=generator, output=output)
    return G, Discriminator(channels, group_size, generator=generator, minibatch=minibatch)
