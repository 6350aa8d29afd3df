"""tinygan.utils.data against torch.utils.data (torch: oracle): batch structure, dtypes, lengths;
seeded shuffling reproducible and covering every index once per epoch."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import tinygan as tg
from tinygan.utils import data as tdata

torch = pytest.importorskip("torch")
tud = torch.utils.data


def _same(ours, theirs):
    """Same structure; Tensors with the same shape, dtype name and values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tg.Tensor), type(ours)
        assert ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (type(ours), type(theirs))
        for a, b in zip(ours, theirs):
            _same(a, b)
    else:
        assert ours == theirs


class Items:
    """A map-style dataset of mixed samples (each library's own Dataset base)."""
    Pair = namedtuple("Pair", "a b")

    def __init__(self, n, lib):
        self.n, self.lib = n, lib

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        t = (tg if self.lib == "tg" else torch).tensor(np.full((2, 3), float(i), np.float32))
        return {"x": t, "arr": np.arange(3) * i, "f": i / 2, "k": i, "b": i % 2 == 0,
                "s": f"item{i}", "tup": (i, t), "nt": self.Pair(i, np.float64(i))}


@pytest.mark.parametrize("n,bs,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (4, 5, False),
                                            (4, 5, True), (7, 1, False)])
def test_sequential_batches_and_len_equal_torch(n, bs, drop_last):
    ours = tdata.DataLoader(Items(n, "tg"), batch_size=bs, drop_last=drop_last)
    theirs = tud.DataLoader(Items(n, "torch"), batch_size=bs, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        _same(a, b)


def test_tensor_dataset_batches_equal_torch():
    x, y = np.random.default_rng(0).normal(size=(11, 2, 3)).astype(np.float32), np.arange(11)
    ds, tds = tdata.TensorDataset(tg.tensor(x), tg.tensor(y)), tud.TensorDataset(torch.tensor(x),
                                                                                  torch.tensor(y))
    assert len(ds) == len(tds) == 11
    _same(list(ds[3]), list(tds[3]))
    for a, b in zip(tdata.DataLoader(ds, batch_size=4), tud.DataLoader(tds, batch_size=4)):
        _same(a, b)                                        # a list [x, y], as torch
    for a, b in zip(tdata.DataLoader(ds, batch_size=None), tud.DataLoader(tds, batch_size=None)):
        _same(a, b)                                        # unbatched: the samples themselves
    with pytest.raises(ValueError, match="size mismatch"):
        tdata.TensorDataset(tg.zeros(3), tg.zeros(4))


def test_seeded_shuffle_reproducible_and_covers_every_index_once_per_epoch():
    ds = tdata.TensorDataset(tg.arange(23))
    loader = tdata.DataLoader(ds, batch_size=5, shuffle=True, generator=tg.Generator(7))
    again = tdata.DataLoader(ds, batch_size=5, shuffle=True, generator=tg.Generator(7))
    epochs = []
    for _ in range(3):
        batches = [b[0].tolist() for b in loader]
        assert [len(b) for b in batches] == [5, 5, 5, 5, 3] and len(loader) == 5
        flat = sum(batches, [])
        assert sorted(flat) == list(range(23))             # every index exactly once
        assert batches == [b[0].tolist() for b in again]   # same seed, same batches
        epochs.append(flat)
    assert epochs[0] != epochs[1] != epochs[2]            # a new order every epoch
    assert epochs[0] != list(range(23))
    other = [b[0].tolist() for b in tdata.DataLoader(ds, batch_size=5, shuffle=True,
                                                     generator=tg.Generator(8))]
    assert sum(other, []) != epochs[0]
    dropped = sum([b[0].tolist() for b in tdata.DataLoader(ds, batch_size=5, shuffle=True,
                                                           drop_last=True)], [])
    assert len(dropped) == 20 and len(set(dropped)) == 20


def test_random_split_and_subset_like_torch():
    ds = tdata.TensorDataset(tg.arange(10))
    for lengths in ([3, 7], [0.3, 0.3, 0.4], [0.25, 0.75], [0.33, 0.33, 0.34]):
        ours = tdata.random_split(ds, lengths, generator=tg.Generator(0))
        theirs = tud.random_split(tud.TensorDataset(torch.arange(10)), lengths)
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        assert sorted(sum((s.indices for s in ours), [])) == list(range(10))
    sub = tdata.Subset(ds, [4, 2])
    assert len(sub) == 2 and sub[1][0].item() == 2
    with pytest.raises(ValueError, match="Sum of input lengths"):
        tdata.random_split(ds, [3, 3])


def test_loader_arguments_like_torch():
    ds = tdata.TensorDataset(tg.arange(5))
    tds = tud.TensorDataset(torch.arange(5))
    for kw in (dict(batch_size=0), dict(sampler=[0, 1], shuffle=True),
               dict(batch_sampler=[[0, 1]], batch_size=2), dict(batch_size=None, drop_last=True)):
        with pytest.raises(ValueError) as ours:
            tdata.DataLoader(ds, **kw)
        with pytest.raises(ValueError) as theirs:
            tud.DataLoader(tds, **kw)
        assert str(ours.value) == str(theirs.value)
    custom = tdata.DataLoader(ds, batch_size=2, collate_fn=lambda b: len(b), num_workers=2)
    assert list(custom) == [2, 2, 1]
    by_sampler = tdata.DataLoader(ds, batch_size=2, sampler=[4, 0, 3])
    assert [b[0].tolist() for b in by_sampler] == [[4, 0], [3]]
    assert [b[0].tolist() for b in tdata.DataLoader(ds, batch_sampler=[[1, 2], [0]])] == [[1, 2], [0]]
    with pytest.raises(RuntimeError, match="equal size"):
        tdata.default_collate([[1, 2], [3]])
