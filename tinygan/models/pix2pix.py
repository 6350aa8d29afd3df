"""pix2pix (Isola, Zhu, Zhou, Efros, "Image-to-Image Translation with Conditional Adversarial
Networks", 2017; Ryu's lecture notes): a U-Net generator and a PatchGAN discriminator.

U-Net (the paper's "U-Net-256" scaled to 28 x 28 digits; ``depth`` halvings, ``ngf`` filters)::

    e1 = Conv(x)                                   4x4, stride 2, pad 1     (N, ngf, H/2, W/2)
    e2 = BN(Conv(LeakyReLU(e1)))                   ...                      (N, 2 ngf, H/4, W/4)
    ...
    ed = Conv(LeakyReLU(e_{d-1}))                  the bottleneck: no norm (the paper's innermost)
    u  = BN(ConvT(ReLU(ed)))  [Dropout 0.5]        4x4, stride 2, pad 1, output_size = e_{d-1}'s
    u  = BN(ConvT(ReLU(cat(e_{d-1}, u)))) [Dropout]  ... every decoder layer sees its mirror's
    y  = tanh(ConvT(ReLU(cat(e1, u))))             (N, out_channels, H, W)

Skips are *concatenated* (channels add up), not summed. A stride-2 conv halves a size rounding
down (7 -> 3), so each transposed conv is given the size of the encoder map it mirrors
(``output_size``, which picks PyTorch's ``output_padding``): odd sizes round-trip (28 -> 14 -> 7
-> 3 -> 1 -> 3 -> 7 -> 14 -> 28; 27 -> 13 -> 6 -> 3 -> 1 -> 3 -> 6 -> 13 -> 27).
Dropout (p = 0.5) follows the first ``n_dropout`` decoder layers and is *always on*, in eval
mode too: it is the generator's only randomness (the paper drops z, which G learned to ignore).
BatchNorm never tracks running statistics: it normalises with the batch in hand, at test time too
(the paper: "we apply batch normalization using the statistics of the test batch").

PatchGAN discriminator (the paper's "NLayerDiscriminator"): ``n_layers`` stride-2 4x4 convs, one
stride-1 4x4 conv, one 4x4 conv to a single channel: a map of logits, each judging one patch of
``receptive_field(n_layers)`` pixels (16 x 16 for n_layers = 1, the paper's "16x16 PatchGAN";
34 for n_layers = 2; 70 for n_layers = 3, its default on 256 x 256 photos). For pix2pix it sees the
pair (input, output) stacked as channels; CycleGAN's uses it on single images with InstanceNorm.

Losses (the paper's eq. 4): G minimises BCE(D(x, G(x)), 1) + lambda * ||y - G(x)||_1 (lambda 100,
the L1 a per-pixel mean); D minimises [BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)] / 2 -- halved "to
slow down the rate at which D learns relative to G". Init: N(0, 0.02) weights, zero biases,
BatchNorm gamma ~ N(1, 0.02) (the paper's, after DCGAN).
"""
from __future__ import annotations

from .. import nn
from ..nn import init
from ..ops import binary_cross_entropy_with_logits, cat, l1_loss

L1_WEIGHT = 100.0


def init_weights(module, generator=None):
    """N(0, 0.02) conv / transposed-conv weights, zero biases, BatchNorm gamma ~ N(1, 0.02)."""
    init.dcgan_init_(module, generator)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is not None:
            init.zeros_(m.bias)
    return module


def _bn(channels, dtype):
    return nn.BatchNorm2d(channels, track_running_stats=False, dtype=dtype)


class UNetGenerator(nn.Module):
    """x (N, in_channels, H, W) -> (N, out_channels, H, W) in [-1, 1]; H, W >= 2**depth.

    Encoder widths ngf * min(2**i, max_mult) for i < depth; ``self.down[i]`` / ``self.up[i]`` are
    the i-th encoder / decoder steps (``self.up[0]`` makes the output)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, ngf: int = 32, depth: int = 4,
                 max_mult: int = 4, n_dropout: int = 3, p: float = 0.5, dtype=None,
                 generator=None, dropout_generator=None):
        super().__init__()
        if depth < 1:
            raise ValueError(f"UNetGenerator: depth must be >= 1, got {depth}")
        self.in_channels, self.out_channels, self.depth = int(in_channels), int(out_channels), int(depth)
        width = [ngf * min(2 ** i, max_mult) for i in range(depth)]
        kw = dict(kernel_size=4, stride=2, padding=1, dtype=dtype)
        downs, norms_d = [], []
        for i in range(depth):
            c_in = in_channels if i == 0 else width[i - 1]
            norm = 0 < i < depth - 1                   # none on the first layer and the bottleneck
            downs.append(nn.Conv2d(c_in, width[i], bias=not norm, **kw))
            norms_d.append(_bn(width[i], dtype) if norm else nn.Identity())
        ups, norms_u, drops = [], [], []
        for i in range(depth):                         # up[i] produces e_{i-1}'s size (i = 0: x's)
            c_in = width[i] * (1 if i == depth - 1 else 2)
            c_out = out_channels if i == 0 else width[i - 1]
            ups.append(nn.ConvTranspose2d(c_in, c_out, bias=i == 0, **kw))
            norms_u.append(nn.Identity() if i == 0 else _bn(c_out, dtype))
            decoder_index = depth - 1 - i              # 0 = the first decoder layer
            drops.append(nn.Dropout(p, always_on=True, generator=dropout_generator)
                         if i > 0 and decoder_index < n_dropout else nn.Identity())
        self.down, self.down_norm = nn.ModuleList(downs), nn.ModuleList(norms_d)
        self.up, self.up_norm, self.drop = nn.ModuleList(ups), nn.ModuleList(norms_u), nn.ModuleList(drops)
        init_weights(self, generator)

    def encode(self, x) -> list:
        """The encoder's maps [e1, ..., e_depth] (what the skips carry)."""
        skips, h = [], x
        for i in range(self.depth):
            h = self.down_norm[i](self.down[i](h if i == 0 else nn.functional.leaky_relu(h, 0.2)))
            skips.append(h)
        return skips

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels or min(x.shape[2:]) < 2 ** self.depth:
            raise ValueError(f"UNetGenerator: expected input (N, {self.in_channels}, H, W) with H, W "
                             f">= {2 ** self.depth} (depth {self.depth}), got {x.shape}")
        skips = self.encode(x)
        h = skips[-1]
        for i in reversed(range(self.depth)):
            size = x.shape[2:] if i == 0 else skips[i - 1].shape[2:]
            h = self.up[i](nn.functional.relu(h), output_size=size)
            if i == 0:
                return h.tanh()
            h = cat([skips[i - 1], self.drop[i](self.up_norm[i](h))], 1)


class PatchDiscriminator(nn.Module):
    """x (N, in_channels, H, W) -> patch logits (N, 1, H', W'); norm "batch" or "instance"
    (both without running statistics). H' = H / 2**n_layers - 2 (12 x 12 for 28 x 28, n_layers 1)."""

    def __init__(self, in_channels: int = 2, ndf: int = 64, n_layers: int = 1, norm: str = "batch",
                 dtype=None, generator=None):
        super().__init__()
        if norm not in ("batch", "instance"):
            raise ValueError(f"PatchDiscriminator: norm must be 'batch' or 'instance', got {norm!r}")
        self.in_channels, self.n_layers = int(in_channels), int(n_layers)

        def norm_layer(c):
            return _bn(c, dtype) if norm == "batch" else nn.InstanceNorm2d(c, dtype=dtype)
        layers = [nn.Conv2d(in_channels, ndf, 4, 2, 1, dtype=dtype), nn.LeakyReLU(0.2)]
        c = ndf
        for k in range(1, n_layers + 1):
            stride, c_out = (2 if k < n_layers else 1), ndf * min(2 ** k, 8)
            layers += [nn.Conv2d(c, c_out, 4, stride, 1, bias=False, dtype=dtype), norm_layer(c_out),
                       nn.LeakyReLU(0.2)]
            c = c_out
        layers.append(nn.Conv2d(c, 1, 4, 1, 1, dtype=dtype))
        self.net = nn.Sequential(*layers)
        init_weights(self, generator)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"PatchDiscriminator: expected input (N, {self.in_channels}, H, W), "
                             f"got {x.shape}")
        return self.net(x)


def receptive_field(n_layers: int) -> int:
    """Pixels seen by one logit of PatchDiscriminator(n_layers): n_layers stride-2 4x4 convs, then
    two stride-1 4x4 convs (walked back from the output: r -> (r - 1) * stride + 4)."""
    r = 1
    for stride in [1, 1] + [2] * n_layers:
        r = (r - 1) * stride + 4
    return r


# ----- losses -------------------------------------------------------------------------------------
def _bce(logits, value: float):
    return binary_cross_entropy_with_logits(logits, logits.xp.full(logits.shape, value, logits.dtype))


def discriminator_loss(real_logits, fake_logits):
    """[BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)] / 2, each a mean over patches and batch."""
    return (_bce(real_logits, 1.0) + _bce(fake_logits, 0.0)) * 0.5


def generator_loss(fake_logits, output, target, l1_weight: float = L1_WEIGHT):
    """(total, gan, l1): BCE(D(x, G(x)), 1) + l1_weight * mean |G(x) - y|."""
    gan, l1 = _bce(fake_logits, 1.0), l1_loss(output, target)
    return gan + l1 * l1_weight, gan, l1
