"""torch.utils' counterparts: ``tinygan.utils.data`` (Dataset, TensorDataset, DataLoader, ...)."""
from . import data  # noqa: F401

__all__ = ["data"]
