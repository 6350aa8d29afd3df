"""GAN models, one file per family: :mod:`tinygan.models.dcgan` (MNIST DCGANs)."""
from . import dcgan  # noqa: F401
