"""torch.utils.data for in-memory data: Dataset, TensorDataset, Subset, random_split, samplers,
DataLoader and default_collate, with PyTorch's signatures and batch structure.

    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=tinygan.Generator(0))
    for xb, yb in loader: ...          # each epoch a new order; every index exactly once

Shuffling draws one permutation per epoch (per ``iter(loader)``) from ``generator`` (a
:class:`tinygan.Generator`; the default generator when None), so a seeded loader repeats its
batches exactly. The orders differ from PyTorch's (another random number generator); everything
else -- batch sizes, ``drop_last``, ``len()``, what collation returns -- is PyTorch's. Loading
runs in the calling process: ``num_workers``, ``pin_memory``, ``prefetch_factor`` and the other
worker options are accepted and change nothing.
"""
from __future__ import annotations

import collections.abc
import math

import numpy as np

from ..creation import tensor
from ..ops import stack
from ..random import get_generator
from ..tensor import Tensor


class Dataset:
    """Map-style dataset: subclasses define ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """``TensorDataset(*tensors)``: sample i is ``(t[i] for t in tensors)``; all tensors share
    their first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError("TensorDataset: size mismatch between tensors (first dimensions "
                             f"{[t.shape[0] for t in tensors]})")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """``Subset(dataset, indices)``: the items of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None) -> list:
    """Split ``dataset`` into non-overlapping :class:`Subset` s of the given lengths (or fractions
    summing to 1: floors, then the remainder one by one round-robin, as torch), from a random
    permutation drawn from ``generator``."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = get_generator(generator).permutation(n).tolist()
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, order[start:start + length]))
        start += length
    return out


# ----- samplers -------------------------------------------------------------------------------------
class Sampler:
    """Iterable of dataset indices (or of lists of indices, for a batch sampler)."""

    def __init__(self, data_source=None):
        pass


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random order every iteration (``replacement=True``: ``num_samples`` draws with
    replacement), drawn from ``generator``."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None, generator=None):
        self.data_source, self.replacement, self.generator = data_source, bool(replacement), generator
        self._num_samples = num_samples
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, g = len(self.data_source), get_generator(self.generator)
        if self.replacement:
            return iter(g.integers(0, n, (self.num_samples,)).tolist())
        reps = -(-self.num_samples // n)
        order = np.concatenate([g.permutation(n) for _ in range(reps)])[:self.num_samples]
        return iter(order.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups ``sampler``'s indices into lists of ``batch_size`` (the last one shorter unless
    ``drop_last``)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ----- collation ------------------------------------------------------------------------------------
def default_collate(batch):
    """torch's default_collate: Tensors are stacked (a new first dimension); NumPy arrays and
    scalars become stacked Tensors; Python floats a float64 Tensor, ints an int64 one, bools a
    bool one; strings stay a list; dicts collate per key, namedtuples per field, tuples and lists
    per position (returned as a list, as torch)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch))
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if np.asarray(elem).dtype.hasobject:
            raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, "
                            "dicts or lists; found object array")
        return tensor(np.stack([np.asarray(b) for b in batch]))
    if isinstance(elem, bool):
        return tensor(np.array(batch, dtype=bool))
    if isinstance(elem, float):
        return tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        return tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):                # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                    f"or lists; found {type(elem).__name__}")


def default_convert(data):
    """What ``batch_size=None`` applies to each sample: NumPy arrays become Tensors, containers
    are converted element by element (tuples to lists, as torch), everything else is left alone."""
    if isinstance(data, np.ndarray) and not data.dtype.hasobject:
        return tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]       # tuples become lists, as torch
    return data


# ----- the loader -----------------------------------------------------------------------------------
class DataLoader:
    """``DataLoader(dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
    num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, ..., generator=None)``

    Iterating yields ``collate_fn([dataset[i] for i in batch])`` for each batch of indices;
    ``len(loader)`` is the number of batches (``ceil(n / batch_size)``, or ``n // batch_size``
    with ``drop_last``). ``batch_size=None`` yields single samples (``default_convert``). A
    :class:`TensorDataset` with the default collation is indexed once per batch (same result as
    stacking the samples, without the per-sample loop)."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle \
                else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))
        self.dataset, self.batch_size, self.drop_last = dataset, batch_size, bool(drop_last)
        self.sampler, self.batch_sampler, self.generator = sampler, batch_sampler, generator
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self._default_collate = collate_fn is None
        self.collate_fn = (default_collate if batch_sampler is not None else default_convert) \
            if collate_fn is None else collate_fn

    def __iter__(self):
        if self.batch_sampler is None:
            for idx in self.sampler:
                yield self.collate_fn(self.dataset[idx])
            return
        fast = self._default_collate and type(self.dataset) is TensorDataset
        for batch in self.batch_sampler:
            if fast:
                idx = np.asarray(batch, dtype=np.int64)
                yield [t[idx] if isinstance(t, Tensor) else default_collate(list(t[idx]))
                       for t in self.dataset.tensors]
            else:
                yield self.collate_fn([self.dataset[i] for i in batch])

    def __len__(self):
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

