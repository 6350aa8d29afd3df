"""DCGAN for 28 x 28 MNIST digits: CMU 11-695's TensorFlow architecture, and the DCGAN paper's.

``arch="tf"`` (the default) is CMU 11-695's Keras code layer for layer, in NCHW::

    G: z (N, 100) -> Dense 100 -> 7*7*256 (no bias) -> BatchNorm -> LeakyReLU -> reshape (N, 256, 7, 7)
       -> ConvTranspose 256 -> 128, 5x5, stride 1 (no bias) -> BN -> LeakyReLU     (N, 128, 7, 7)
       -> ConvTranspose 128 -> 64, 5x5, stride 2 (no bias)  -> BN -> LeakyReLU     (N, 64, 14, 14)
       -> ConvTranspose 64 -> 1, 5x5, stride 2 (no bias)    -> tanh                (N, 1, 28, 28)
    D: x (N, 1, 28, 28) -> Conv 1 -> 64, 5x5, stride 2 -> LeakyReLU -> Dropout 0.3  (N, 64, 14, 14)
       -> Conv 64 -> 128, 5x5, stride 2 -> LeakyReLU -> Dropout 0.3                (N, 128, 7, 7)
       -> Flatten -> Dense 6272 -> 1                                               (N, 1) logits

with Keras' defaults where those notes rely on them: LeakyReLU slope 0.3, BatchNormalization
epsilon 1e-3 and momentum 0.99 (PyTorch's ``momentum=0.01``), Glorot-uniform kernels, zero biases.
Keras' ``padding='same'`` is written as PyTorch ports write it (padding 2, output_padding 1 for the
stride-2 transposed convs): same shapes; TensorFlow puts the odd padding row at the bottom/right
instead of the top/left, a one-pixel shift of where each 5x5 window sits.

``arch="radford"`` follows the DCGAN paper's guidelines (Ryu's lecture): no fully connected hidden
layer, strided (transposed) convolutions instead of pooling, BatchNorm in both networks (not on
D's input layer nor G's output layer), ReLU in G with a tanh output, LeakyReLU 0.2 in D, and the
paper's init (N(0, 0.02) weights, BN gamma ~ N(1, 0.02))::

    G: z (N, 100) -> (N, 100, 1, 1) -> ConvT 100 -> 256, 7x7 -> BN -> ReLU   (N, 256, 7, 7)
       -> ConvT 256 -> 128, 4x4, s2, p1 -> BN -> ReLU                        (N, 128, 14, 14)
       -> ConvT 128 -> 1, 4x4, s2, p1 -> tanh                                (N, 1, 28, 28)
    D: x -> Conv 1 -> 64, 4x4, s2, p1 -> LeakyReLU 0.2                       (N, 64, 14, 14)
       -> Conv 64 -> 128, 4x4, s2, p1 -> BN -> LeakyReLU 0.2                 (N, 128, 7, 7)
       -> Conv 128 -> 1, 7x7 -> Flatten                                      (N, 1) logits

``ngf`` (the DCGAN paper's and PyTorch's example's name: "number of generator features") is the
width of G's last hidden layer; the layers before it have 2 ngf and 4 ngf channels. Both
architectures above are drawn at ngf = 64, their authors' width; ``ngf=32`` (the trainer's
default since 2026-12-07) gives G (N, 128, 7, 7) -> (N, 64, 7, 7) -> (N, 32, 14, 14) for "tf",
about a quarter of the multiply-adds.

``kernel`` is the size of the "tf" G's two stride-2 transpose convolutions: 5 (the notes', padding
2, output padding 1) or 4 (padding 1, as the paper's G). A stride-2 transpose convolution adds a
k x k patch of the kernel for every input pixel, 2 pixels apart; with k = 5 the patches overlap
unevenly -- an output pixel sums 3 x 3, 3 x 2 or 2 x 2 taps, by the parity of its row and column --
a checkerboard the network must learn to cancel; with k = 4 every output pixel sums 2 x 2 taps
(Odena, Dumoulin & Olah 2016, "Deconvolution and Checkerboard Artifacts").

Both discriminators output logits: the losses are binary cross-entropy from logits
(:func:`tinygan.ops.binary_cross_entropy_with_logits`), as the notes' ``from_logits=True``.

``codes=K`` > 0 adds InfoGAN's categorical code (Chen et al. 2016, "InfoGAN: Interpretable
Representation Learning by Information Maximizing Generative Adversarial Nets"). G reads the code
c from its own z -- c = argmax(z_1, ..., z_K), uniform over the K values and independent of
z_{K+1}, ... because z's entries are iid N(0, 1) -- and sees one_hot(c) in place of z_1..z_K::

    G(z) = net([one_hot(c), z_{K+1}, ..., z_{z_dim}])          c = argmax_k z_k, k <= K

so every sampler that draws z ~ N(0, I) draws the code too. D gets a second head Q on the same
features: Q(x) = Linear 128 -> K (LeakyReLU 0.2 after Linear 6272 -> 128), logits of c given the
image. The trainer adds lambda CE(Q(G(z)), c) to both players' losses: log K - CE is a lower
bound on the mutual information I(c; G(z)) (H(c) = log K), which G and the Q head so maximise.
The paper's MNIST code has K = 10, one value per digit class; the trainer's default is 50
(more values than classes: each can hold one class written one way).
"""
from __future__ import annotations

from .. import nn
from ..creation import arange
from ..nn import init
from ..ops import cat

ARCHS = ("tf", "radford")
Z_DIM = 100
IMAGE_SHAPE = (1, 28, 28)
NGF = 64           # the notes' and the paper's width of G (its last hidden layer's channels)
KERNELS = {"tf": 5, "radford": 4}   # the size of G's stride-2 kernels in the notes' and the paper's G


def _keras_init(module, generator):
    """Keras' defaults: Glorot-uniform weights of Dense / Conv / ConvTranspose, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            init.xavier_uniform_(m.weight, generator=generator)
            if m.bias is not None:
                init.zeros_(m.bias)
    return module


def code_of(z, codes: int):
    """InfoGAN's categorical code of each row of z (N, z_dim): argmax of its first ``codes``
    entries, (N,) int64."""
    return z[:, :codes].argmax(1)


def with_code(z, codes: int):
    """z (N, z_dim) with z_1..z_K replaced by one_hot(code_of(z, K)), K = ``codes``."""
    one_hot = (code_of(z, codes).reshape(-1, 1) == arange(codes, device=z.device)).to(z.dtype)
    return cat([one_hot, z[:, codes:]], 1)


class Generator(nn.Module):
    """z (N, z_dim) -> images (N, 1, 28, 28) in [-1, 1]; ``self.net`` is a Sequential of the
    layers in the module docstring (iterate it to see every intermediate shape). ``codes=K``:
    z_1..z_K carry InfoGAN's categorical code; ``ngf``: the width, ``kernel``: the size of the
    stride-2 layers' kernels (module docstring; None: the architecture's own)."""

    def __init__(self, arch: str = "tf", z_dim: int = Z_DIM, dtype=None, generator=None, codes: int = 0,
                 ngf: int = NGF, kernel: int | None = None):
        super().__init__()
        _check_arch(arch)
        if isinstance(ngf, (bool, float)) or not hasattr(ngf, "__index__") or ngf < 1:
            raise ValueError(f"Generator: ngf must be a positive int, got {ngf!r}")
        kernel = KERNELS[arch] if kernel is None else kernel
        if kernel not in ((4, 5) if arch == "tf" else (4,)):
            raise ValueError(f"Generator: kernel of the {arch!r} G's stride-2 layers must be "
                             f"{'4 or 5' if arch == 'tf' else '4'}, got {kernel!r}")
        self.kernel = kernel
        up = dict(stride=2, padding=(kernel - 1) // 2, output_padding=kernel % 2, bias=False)   # 14 -> 28
        self.arch, self.z_dim, self.codes = arch, int(z_dim), _check_codes(codes, z_dim)
        self.ngf = ngf = int(ngf)
        kw = dict(dtype=dtype)
        if arch == "tf":
            bn = dict(eps=1e-3, momentum=0.01, dtype=dtype)       # Keras BatchNormalization
            self.net = nn.Sequential(
                nn.Linear(self.z_dim, 7 * 7 * 4 * ngf, bias=False, **kw),
                nn.BatchNorm1d(7 * 7 * 4 * ngf, **bn), nn.LeakyReLU(0.3),
                nn.Unflatten(1, (4 * ngf, 7, 7)),
                nn.ConvTranspose2d(4 * ngf, 2 * ngf, 5, stride=1, padding=2, bias=False, **kw),
                nn.BatchNorm2d(2 * ngf, **bn), nn.LeakyReLU(0.3),
                nn.ConvTranspose2d(2 * ngf, ngf, kernel, **up, **kw),
                nn.BatchNorm2d(ngf, **bn), nn.LeakyReLU(0.3),
                nn.ConvTranspose2d(ngf, 1, kernel, **up, **kw),
                nn.Tanh())
            _keras_init(self, generator)
        else:
            self.net = nn.Sequential(
                nn.Unflatten(1, (self.z_dim, 1, 1)),
                nn.ConvTranspose2d(self.z_dim, 4 * ngf, 7, bias=False, **kw),
                nn.BatchNorm2d(4 * ngf, dtype=dtype), nn.ReLU(),
                nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, stride=2, padding=1, bias=False, **kw),
                nn.BatchNorm2d(2 * ngf, dtype=dtype), nn.ReLU(),
                nn.ConvTranspose2d(2 * ngf, 1, 4, stride=2, padding=1, bias=False, **kw),
                nn.Tanh())
            init.dcgan_init_(self, generator)

    def forward(self, z):
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"Generator: expected z of shape (N, {self.z_dim}), got {z.shape}")
        return self.net(with_code(z, self.codes) if self.codes else z)


class Discriminator(nn.Module):
    """images (N, 1, 28, 28) -> logits (N, 1). ``dropout_generator`` is the random stream of the
    tf architecture's dropout masks (pass one to make a run reproducible and resumable).

    ``features(x)`` is the input of the output layer (tf: (N, 6272), radford: (N, 128, 7, 7)),
    what feature matching compares. ``minibatch=(B, C)`` (tf only) puts a
    :class:`tinygan.nn.MinibatchDiscrimination` before the output layer, which then reads
    (N, 6272 + B).

    ``augment``: a DiffAugment policy ("translation,cutout", :class:`tinygan.nn.DiffAugment`, drawn
    from ``augment_generator``) applied to every input in training mode. ``pack=m`` > 1 makes it
    PacGAN's packed discriminator (Lin et al. 2018, whose DCGAN concatenates the m images along
    the channel axis): (N, 1, 28, 28) -> N / m packs (N / m, m, 28, 28) -> (N / m, 1) logits, the
    first convolution reading m channels; N must be a multiple of m.

    ``codes=K`` > 0: InfoGAN's Q head on ``features`` (module docstring);
    ``forward_with_codes(x)`` -> (logits (N, 1), code logits (N, K)) from one pass of the trunk."""

    def __init__(self, arch: str = "tf", dtype=None, generator=None, dropout_generator=None,
                 minibatch=None, augment=None, augment_generator=None, pack: int = 1, codes: int = 0):
        super().__init__()
        _check_arch(arch)
        self.packing = int(pack)
        if codes and self.packing > 1:
            raise ValueError("InfoGAN's code is one per image; a packed D sees packs of images")
        if self.packing < 1:
            raise ValueError(f"pack must be >= 1, got {pack}")
        self.augment = nn.DiffAugment(augment, generator=augment_generator) if augment else None
        if minibatch and arch != "tf":
            raise ValueError("minibatch discrimination needs the tf architecture (its D ends in a "
                             "Linear layer); radford's ends in a 7x7 convolution")
        self.arch = arch
        kw = dict(dtype=dtype)
        if arch == "tf":
            self.net = nn.Sequential(
                nn.Conv2d(self.packing, 64, 5, stride=2, padding=2, **kw), nn.LeakyReLU(0.3),
                nn.Dropout(0.3, generator=dropout_generator),
                nn.Conv2d(64, 128, 5, stride=2, padding=2, **kw), nn.LeakyReLU(0.3),
                nn.Dropout(0.3, generator=dropout_generator),
                nn.Flatten(), nn.Linear(128 * 7 * 7, 1, **kw))
            _keras_init(self, generator)
            if minibatch:
                B, C = minibatch
                self.minibatch = nn.MinibatchDiscrimination(128 * 7 * 7, B, C, dtype=dtype, generator=generator)
                self.net.add_module("7", _keras_init(nn.Linear(128 * 7 * 7 + B, 1, **kw), generator))
        else:
            self.net = nn.Sequential(
                nn.Conv2d(self.packing, 64, 4, stride=2, padding=1, bias=False, **kw), nn.LeakyReLU(0.2),
                nn.Conv2d(64, 128, 4, stride=2, padding=1, bias=False, **kw),
                nn.BatchNorm2d(128, dtype=dtype), nn.LeakyReLU(0.2),
                nn.Conv2d(128, 1, 7, bias=False, **kw), nn.Flatten())
            init.dcgan_init_(self, generator)
        if not minibatch:
            self.minibatch = None
        self._head = 1 if arch == "tf" else 2          # the output layer (radford: conv + flatten)
        self.codes = _check_codes(codes)
        if self.codes:                                 # after the trunk's init: its weights stay as without
            self.q = nn.Sequential(nn.Flatten(), nn.Linear(128 * 7 * 7, 128, generator=generator, **kw),
                                   nn.LeakyReLU(0.2), nn.Linear(128, self.codes, generator=generator, **kw))

    def features(self, x):
        """The activations the output layer reads (see the class docstring)."""
        if x.ndim != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(f"Discriminator: expected images of shape (N, 1, 28, 28), got {x.shape}")
        if self.augment is not None:
            x = self.augment(x)
        if self.packing > 1:
            if x.shape[0] % self.packing:
                raise ValueError(f"Discriminator: packs of {self.packing} need a batch that is a "
                                 f"multiple of {self.packing}, got {x.shape[0]} images")
            x = x.reshape(x.shape[0] // self.packing, self.packing, *IMAGE_SHAPE[1:])
        return self.net[:-self._head](x)

    def _logits(self, h):
        if self.minibatch is not None:
            h = self.minibatch(h)
        return self.net[-self._head:](h)

    def forward(self, x):
        return self._logits(self.features(x))

    def forward_with_codes(self, x):
        """(D(x), Q(x)): the logits (N, 1) and InfoGAN's code logits (N, K) of one trunk pass."""
        if not self.codes:
            raise ValueError("Discriminator: forward_with_codes needs codes > 0 (InfoGAN's Q head)")
        h = self.features(x)
        return self._logits(h), self.q(h)


def _check_codes(codes, z_dim=None) -> int:
    codes = int(codes or 0)
    if codes < 0 or codes == 1 or (z_dim is not None and codes >= z_dim):
        raise ValueError(f"InfoGAN codes must be 0 (none) or 2 .. z_dim - 1 ({z_dim}), got {codes}")
    return codes


def _check_arch(arch):
    if arch not in ARCHS:
        raise ValueError(f"unknown DCGAN architecture {arch!r}; choose from {', '.join(ARCHS)}")


def build(arch: str = "tf", z_dim: int = Z_DIM, dtype=None, generator=None, dropout_generator=None,
          minibatch=None, augment=None, augment_generator=None, pack: int = 1, codes: int = 0,
          ngf: int = NGF, kernel: int | None = None):
    """(Generator, Discriminator) of ``arch``, initialised from ``generator`` (G first, then D);
    ``minibatch``: D's minibatch discrimination (B, C) or None; ``augment``, ``pack``, ``codes``:
    see :class:`Discriminator` and the module docstring; ``ngf``, ``kernel``: G's width and the
    size of its stride-2 kernels."""
    G = Generator(arch, z_dim, dtype=dtype, generator=generator, codes=codes, ngf=ngf, kernel=kernel)
    D = Discriminator(arch, dtype=dtype, generator=generator, dropout_generator=dropout_generator,
                      minibatch=minibatch, augment=augment, augment_generator=augment_generator,
                      pack=pack, codes=codes)
    return G, D
