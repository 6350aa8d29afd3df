"""tinygan.distributed without MPI: the batch split, synchronised batch norm (in a world of one,
against torch), the differentiable all-reduce, the bucketed gradient reduction and the
global-batch dropout mask (with a stand-in communicator), and the command line's errors.
The multi-process behaviour is tests/test_distributed_mpi.py."""
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan as tg
from tinygan import distributed
from tinygan.distributed import context
from tinygan.testing import check_vjp


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6))
def test_shard_range_partitions_the_batch_like_array_split(batch, size):
    if batch < size:
        with pytest.raises(ValueError, match="cannot be split over"):
            context.shard_range(batch, 0, size)
        return
    parts = [context.shard_range(batch, r, size) for r in range(size)]
    expected = np.array_split(np.arange(batch), size)
    assert [list(range(lo, hi)) for lo, hi in parts] == [list(e) for e in expected]


def test_shard_indices_cuts_every_global_batch():
    idx = np.random.default_rng(0).permutation(23)
    shards = [distributed.shard_indices(idx, 8, r, 3) for r in range(3)]
    for start in range(0, 23, 8):                  # each global batch: its ranks' pieces, in order
        chunk = idx[start:start + 8]
        pieces = np.array_split(chunk, 3)
        for r in range(3):
            assert set(pieces[r]) <= set(shards[r])
    assert sorted(np.concatenate(shards)) == list(range(23))


class TwoRanks(distributed.SingleProcess):
    """A stand-in for rank ``rank`` of two identical ranks: all_reduce doubles (the other rank
    holds the same values), and every call is counted."""

    def __init__(self, rank=0):
        super().__init__()
        self.rank, self.size, self.calls = rank, 2, []

    def all_reduce_(self, a):
        self.calls.append(a.size)
        a *= 2
        return a


def _torch():
    return pytest.importorskip("torch")


def test_sync_batch_norm_in_a_world_of_one_is_batch_norm():
    torch = _torch()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 4)) * 3 + 1
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    g = rng.standard_normal(x.shape)
    rm, rv = np.zeros(3), np.ones(3)
    X, W, Bt = (tg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = distributed.sync_batch_norm(X, tg.tensor(rm), tg.tensor(rv), W, Bt, 0.1, 1e-5,
                                    distributed.SingleProcess())
    (y * tg.tensor(g)).sum().backward()
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, True, 0.1, 1e-5)
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    for mine, theirs in ((X, tx), (W, tw), (Bt, tb)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sync_batch_norm_running_stats_are_torchs():
    torch = _torch()
    x = np.random.default_rng(2).standard_normal((6, 2, 3, 3)).astype(np.float32)
    rm, rv = tg.tensor(np.zeros(2, np.float32)), tg.tensor(np.ones(2, np.float32))
    distributed.sync_batch_norm(tg.tensor(x), rm, rv, None, None, 0.3, 1e-5, distributed.SingleProcess())
    trm, trv = torch.zeros(2), torch.ones(2)
    torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, None, None, True, 0.3, 1e-5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-6, atol=1e-7)


def test_sync_batch_norm_and_all_reduce_vjps_and_grad_of_grad():
    rng = np.random.default_rng(3)
    comm = distributed.SingleProcess()
    x, w, b = rng.standard_normal((4, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)
    f = lambda x, w, b: distributed.sync_batch_norm(x, None, None, w, b, 0.1, 1e-5, comm)  # noqa: E731
    check_vjp(f, tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True),
              tg.tensor(b, requires_grad=True))
    check_vjp(lambda t: distributed.all_reduce(t * t, comm), tg.tensor(x, requires_grad=True))
    X = tg.tensor(x, requires_grad=True)
    (gx,) = tg.grad((f(X, tg.tensor(w), tg.tensor(b)) ** 3).sum(), [X], create_graph=True)
    (ggx,) = tg.grad((gx * gx).sum(), [X])             # the gradient is differentiable again
    assert ggx.shape == X.shape and np.isfinite(ggx.numpy()).all()


def test_all_reduce_sums_and_its_vjp_is_an_all_reduce():
    comm = TwoRanks()
    x = tg.tensor(np.arange(3.0), requires_grad=True)
    y = distributed.all_reduce(x, comm)
    np.testing.assert_array_equal(y.numpy(), 2 * np.arange(3.0))
    y.backward(tg.tensor(np.ones(3)))
    np.testing.assert_array_equal(x.grad.numpy(), 2 * np.ones(3))   # sum over both ranks
    assert comm.calls == [3, 3]


def _net():
    nn = tg.nn
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
                         nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.2)), nn.Linear(8, 1))


def test_conversion_keeps_parameters_buffers_and_keys():
    net = _net()
    params, keys = [id(p) for p in net.parameters()], list(net.state_dict())
    opt = tg.optim.Adam(net.parameters())
    modules = {"net": net}
    distributed.DataParallel(TwoRanks(), modules, {"Adam": opt}, batch_size=8)
    kinds = [type(m).__name__ for m in net.modules()]
    assert "SyncBatchNorm" in kinds and kinds.count("GlobalDropout") == 2 and "BatchNorm1d" not in kinds
    assert [id(p) for p in net.parameters()] == params and list(net.state_dict()) == keys


def test_gradients_are_reduced_in_buckets_weighted_by_the_share_of_the_batch():
    net = _net()
    comm = TwoRanks()
    dp = distributed.DataParallel(comm, {"net": net}, {}, batch_size=7, bucket_bytes=400)
    for p in net.parameters():
        p.grad = tg.tensor(np.full(p.shape, 3.0, np.float32))
    sizes = [p.numel() for p in net.parameters()]
    dp.all_reduce_gradients(list(net.parameters()))
    # rank 0 holds 4 of 7 samples: weight 4/7; the stand-in's other rank holds the same values
    for p in net.parameters():
        np.testing.assert_allclose(p.grad.numpy(), 2 * 3.0 * 4 / 7, rtol=1e-6)
    assert sum(comm.calls) == sum(sizes) and len(comm.calls) < len(sizes)
    assert all(c * 4 <= 400 or c in sizes for c in comm.calls)        # ~400 bytes a bucket


def test_global_dropout_keeps_this_ranks_rows_of_the_global_mask():
    x = np.ones((6, 5, 2, 2), np.float32)
    for kind, single in ((tg.nn.Dropout, tg.nn.Dropout(0.5, generator=tg.Generator(7))),
                         (tg.nn.Dropout2d, tg.nn.Dropout2d(0.5, generator=tg.Generator(7)))):
        whole = single(tg.tensor(x)).numpy()
        rows = []
        for rank in (0, 1):
            net = distributed.convert_dropout(tg.nn.Sequential(kind(0.5, generator=tg.Generator(7))))
            shard = context.Shard(TwoRanks(rank), 6, *context.shard_range(6, rank, 2))
            with context.step(shard):
                rows.append(net(tg.tensor(x[shard.lo:shard.hi])).numpy())
        np.testing.assert_array_equal(np.concatenate(rows), whole)


def test_shard_cuts_global_batches_inside_a_step_only():
    t = tg.tensor(np.arange(12.0).reshape(6, 2))
    assert distributed.shard(t) is t
    with context.step(context.Shard(TwoRanks(1), 6, 3, 6)):
        np.testing.assert_array_equal(distributed.shard(t).numpy(), t.numpy()[3:])
        other = tg.tensor(np.zeros((3, 2)))
        assert distributed.shard(other) is other        # not a global batch: left alone
    assert context.active() is None


def test_distributed_without_mpi4py_names_the_extra(monkeypatch, tmp_path, capsys):
    from tinygan.trainers import dcgan_loop
    monkeypatch.setitem(sys.modules, "mpi4py", None)          # import mpi4py -> ImportError
    code = dcgan_loop.main(["--distributed", "--max-steps", "1", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1 and '.[mpi]' in err and "mpiexec" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_sync_bn_flag_needs_distributed(capsys):
    from tinygan.trainers import dcgan_loop
    with pytest.raises(SystemExit) as exc:
        dcgan_loop.main(["--no-sync-bn", "--max-steps", "1"])
    assert exc.value.code == 2 and "--distributed" in capsys.readouterr().err


class Rows(distributed.SingleProcess):
    """A stand-in for one rank of a world whose other ranks hold the rows ``others`` (the global
    batch with this rank's rows zeroed): all_reduce adds them, as the real sum over ranks would."""

    def __init__(self, others, rank=0, size=2):
        super().__init__()
        self.others, self.rank, self.size = others, rank, size

    def all_reduce_(self, a):
        if a.shape == self.others.shape:
            a += self.others
        return a


def test_gather_rows_puts_every_ranks_rows_in_place_and_is_linear():
    M = np.random.default_rng(0).normal(size=(7, 3, 2))
    lo, hi = context.shard_range(7, 1, 2)
    others = M.copy()
    others[lo:hi] = 0.0
    with context.step(context.Shard(Rows(others, rank=1), 7, lo, hi)):
        whole = distributed.gather_rows(tg.tensor(M[lo:hi]))
        np.testing.assert_array_equal(whole.numpy(), M)
    with context.step(context.Shard(TwoRanks(1), 7, lo, hi)):     # a linear stand-in: check its VJP
        check_vjp(lambda x: distributed.gather_rows(x), [M[lo:hi]])
    x = tg.tensor(M[:3])
    assert distributed.gather_rows(x) is x                          # outside a step: the identity


def test_minibatch_discrimination_converted_sums_over_the_global_batch():
    nn = tg.nn
    x = np.random.default_rng(1).normal(size=(6, 5)).astype(np.float32)
    layer = nn.MinibatchDiscrimination(5, 4, 3, generator=tg.Generator(0))
    whole = layer(tg.tensor(x)).numpy()
    net = distributed.convert_dropout(nn.Sequential(layer))
    assert type(net[0]).__name__ == "GlobalMinibatchDiscrimination" and net[0].T is layer.T
    M = (x @ layer.T.numpy().reshape(5, 12)).reshape(6, 4, 3)
    for rank in (0, 1):
        lo, hi = context.shard_range(6, rank, 2)
        others = M.copy()
        others[lo:hi] = 0.0
        with context.step(context.Shard(Rows(others, rank), 6, lo, hi)):
            rows = net(tg.tensor(x[lo:hi])).numpy()
        np.testing.assert_allclose(rows, whole[lo:hi], rtol=1e-5, atol=1e-6)
