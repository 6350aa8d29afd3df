"""CycleGAN (Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", 2017; Kitov's slides): two generators G_AB: A -> B and G_BA: B -> A, two
discriminators D_A, D_B, trained without pairs.

ResNet generator (the paper's appendix, "c7s1-k, dk, Rk, uk" with instance normalisation and
reflection padding, scaled to 28 x 28 digits: ``ngf`` filters, ``n_down`` halvings, ``n_blocks``
residual blocks)::

    ReflectionPad 3 -> Conv 7x7 (1 -> ngf) -> InstanceNorm -> ReLU            c7s1-ngf   (N, ngf, 28, 28)
    [Conv 3x3 stride 2 -> InstanceNorm -> ReLU] x n_down                      d2k, d4k   (N, 4 ngf, 7, 7)
    [x + (ReflPad 1, Conv 3x3, IN, ReLU, ReflPad 1, Conv 3x3, IN)(x)] x n_blocks     R4k
    [ConvTranspose 3x3 stride 2 -> InstanceNorm -> ReLU] x n_down             u2k, uk    (N, ngf, 28, 28)
    ReflectionPad 3 -> Conv 7x7 (ngf -> 1) -> tanh                            c7s1-1

Each transposed conv is given the size of the map it mirrors (``output_size``), so odd sizes
round-trip. InstanceNorm has no affine parameters (PyTorch's default, the authors' code). The
discriminators are :class:`tinygan.models.pix2pix.PatchDiscriminator` with instance norm on one
channel. Init: N(0, 0.02) weights, zero biases.

Losses (the paper's eq. 3 with its least-squares GAN loss, Mao et al. 2017, and the identity term
of its section 5.2), on batches a from A and b from B::

    D_B: [(D_B(b) - 1)^2 + D_B(G_AB(a))^2] / 2        (and D_A alike; fakes from an image pool)
    G:   (D_B(G_AB(a)) - 1)^2 + (D_A(G_BA(b)) - 1)^2
         + lambda_cyc * (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1)
         + lambda_id  * (|G_AB(b) - b|_1 + |G_BA(a) - a|_1)

each term a mean over pixels / patches and the batch; lambda_cyc = 10, lambda_id = 0.5 * 10.
"""
from __future__ import annotations

from .. import nn
from ..ops import l1_loss, mean
from .pix2pix import PatchDiscriminator, init_weights

LAMBDA_CYCLE, LAMBDA_IDENTITY = 10.0, 5.0


class ResnetBlock(nn.Module):
    """x (N, C, H, W) -> x + F(x), F = ReflPad 1, Conv 3x3, IN, ReLU, ReflPad 1, Conv 3x3, IN."""

    def __init__(self, channels: int, dtype=None):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, dtype=dtype),
            nn.InstanceNorm2d(channels, dtype=dtype), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, dtype=dtype),
            nn.InstanceNorm2d(channels, dtype=dtype))

    def forward(self, x):
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """x (N, in_channels, H, W) -> (N, out_channels, H, W) in [-1, 1]; H, W >= 2**(n_down + 1)
    (the 7x7 reflection pad needs more than 3 pixels; the last halving keeps at least 2)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, ngf: int = 32, n_down: int = 2,
                 n_blocks: int = 3, dtype=None, generator=None):
        super().__init__()
        self.in_channels, self.n_down = int(in_channels), int(n_down)
        self.stem = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, dtype=dtype),
                                  nn.InstanceNorm2d(ngf, dtype=dtype), nn.ReLU())
        downs, ups, up_norms = [], [], []
        for i in range(n_down):
            c = ngf * 2 ** i
            downs.append(nn.Sequential(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, dtype=dtype),
                                       nn.InstanceNorm2d(2 * c, dtype=dtype), nn.ReLU()))
            ups.append(nn.ConvTranspose2d(2 * c, c, 3, stride=2, padding=1, dtype=dtype))
            up_norms.append(nn.Sequential(nn.InstanceNorm2d(c, dtype=dtype), nn.ReLU()))
        self.down, self.up, self.up_norm = nn.ModuleList(downs), nn.ModuleList(ups), nn.ModuleList(up_norms)
        self.blocks = nn.Sequential(*[ResnetBlock(ngf * 2 ** n_down, dtype) for _ in range(n_blocks)])
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7, dtype=dtype),
                                  nn.Tanh())
        init_weights(self, generator)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels or min(x.shape[2:]) < 2 ** (self.n_down + 1):
            raise ValueError(f"ResnetGenerator: expected input (N, {self.in_channels}, H, W) with "
                             f"H, W >= {2 ** (self.n_down + 1)} (n_down {self.n_down}), got {x.shape}")
        h, sizes = self.stem(x), []
        for down in self.down:
            sizes.append(h.shape[2:])
            h = down(h)
        h = self.blocks(h)
        for i in reversed(range(self.n_down)):
            h = self.up_norm[i](self.up[i](h, output_size=sizes[i]))
        return self.head(h)


def build(ngf: int = 32, n_down: int = 2, n_blocks: int = 3, ndf: int = 32, d_layers: int = 1,
          dtype=None, generator=None) -> dict:
    """{"G_AB", "G_BA", "D_A", "D_B"}, initialised from ``generator`` in that order."""
    return {"G_AB": ResnetGenerator(1, 1, ngf, n_down, n_blocks, dtype, generator),
            "G_BA": ResnetGenerator(1, 1, ngf, n_down, n_blocks, dtype, generator),
            "D_A": PatchDiscriminator(1, ndf, d_layers, "instance", dtype, generator),
            "D_B": PatchDiscriminator(1, ndf, d_layers, "instance", dtype, generator)}


# ----- losses -------------------------------------------------------------------------------------
def lsgan_d_loss(real_logits, fake_logits):
    """[(D(real) - 1)^2 + D(fake)^2] / 2, means over patches and batch."""
    return (mean((real_logits - 1.0) ** 2) + mean(fake_logits ** 2)) * 0.5


def lsgan_g_loss(fake_logits):
    """(D(G(x)) - 1)^2, a mean."""
    return mean((fake_logits - 1.0) ** 2)


def generator_losses(G_AB, G_BA, D_A, D_B, a, b, lambda_cyc: float = LAMBDA_CYCLE,
                     lambda_id: float = LAMBDA_IDENTITY) -> dict:
    """Every term of the generators' objective on batches ``a`` (domain A) and ``b`` (domain B):
    {"total", "gan_ab", "gan_ba", "cycle_a", "cycle_b", "idt_a", "idt_b", "fake_b", "fake_a"};
    the identity terms are skipped (None) when ``lambda_id`` is 0."""
    fake_b, fake_a = G_AB(a), G_BA(b)
    gan_ab, gan_ba = lsgan_g_loss(D_B(fake_b)), lsgan_g_loss(D_A(fake_a))
    cycle_a, cycle_b = l1_loss(G_BA(fake_b), a), l1_loss(G_AB(fake_a), b)
    total = gan_ab + gan_ba + (cycle_a + cycle_b) * lambda_cyc
    idt_a = idt_b = None
    if lambda_id:
        idt_b, idt_a = l1_loss(G_AB(b), b), l1_loss(G_BA(a), a)
        total = total + (idt_a + idt_b) * lambda_id
    return {"total": total, "gan_ab": gan_ab, "gan_ba": gan_ba, "cycle_a": cycle_a,
            "cycle_b": cycle_b, "idt_a": idt_a, "idt_b": idt_b, "fake_b": fake_b, "fake_a": fake_a}
