"""GAN models, one file per family: :mod:`tinygan.models.dcgan` (MNIST DCGANs)."""
from . import dcgan  # noqa: F401
from . import pix2pix  # noqa: F401  (U-Net + PatchGAN: Isola et al.)
from . import cyclegan  # noqa: F401  (ResNet generators, cycle losses: Zhu et al.)
