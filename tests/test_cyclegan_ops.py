"""The ops CycleGAN's generator is made of, against PyTorch: the InstanceNorm1d/2d/3d and
ReflectionPad1d/2d/3d modules (values, gradients, grad of grad: float64 1e-10, float32 1e-5,
tests/torch_parity.py NN), and one residual block -- reflection pad, conv, instance norm, ReLU,
reflection pad, conv, instance norm, plus the skip -- as a function of the input and both convs'
weights and biases, with check_vjp in float64. (F.instance_norm and F.pad's reflect mode on their
own: tests/test_normalization.py, tests/test_padding_modes.py.)"""
import numpy as np
import pytest

import tinygan as tg
import tinygan.nn.functional as F
from tinygan.testing import check_vjp

try:
    from torch_parity import compare_with, NN, torch
except ImportError:  # pragma: no cover
    from tests.torch_parity import compare_with, NN, torch

compare = compare_with(NN)
TF = torch.nn.functional


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_instance_norm_modules_match_torch(dims, affine, dtype):
    rng = np.random.default_rng(dims)
    x = rng.standard_normal((2, 3) + (4, 3, 2)[:dims]) * 3 + 1
    ours = getattr(tg.nn, f"InstanceNorm{dims}d")(3, affine=affine, dtype=dtype)
    theirs = getattr(torch.nn, f"InstanceNorm{dims}d")(3, affine=affine,
                                                      dtype=getattr(torch, np.dtype(dtype).name))
    if affine:
        w, b = rng.standard_normal(3), rng.standard_normal(3)
        ours.load_state_dict({"weight": w.astype(dtype), "bias": b.astype(dtype)})
        theirs.load_state_dict({"weight": torch.tensor(w), "bias": torch.tensor(b)})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    compare(ours, theirs, [x], dtype)
    compare(ours, theirs, [x[0]], dtype)          # unbatched


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reflection_pad_modules_match_torch(dims, dtype):
    rng = np.random.default_rng(10 + dims)
    x = rng.standard_normal((2, 2) + (5, 4, 3)[:dims])
    pad = (2, 1, 0, 3, 1, 2)[:2 * dims]
    for padding in (pad, 1):
        ours = getattr(tg.nn, f"ReflectionPad{dims}d")(padding)
        theirs = getattr(torch.nn, f"ReflectionPad{dims}d")(padding)
        compare(ours, theirs, [x], dtype)
        compare(ours, theirs, [x[0]], dtype)      # unbatched


def _block(lib_f, reflect):
    def f(x, w1, b1, w2, b2):
        h = lib_f.conv2d(reflect(x), w1, b1)
        h = lib_f.relu(lib_f.instance_norm(h))
        h = lib_f.instance_norm(lib_f.conv2d(reflect(h), w2, b2))
        return x + h
    return f


def test_resnet_block_matches_torch_to_second_order():
    rng = np.random.default_rng(0)
    c = 3
    args = [rng.standard_normal((2, c, 5, 6)), rng.standard_normal((c, c, 3, 3)) * 0.3,
            rng.standard_normal(c), rng.standard_normal((c, c, 3, 3)) * 0.3, rng.standard_normal(c)]
    ours = _block(F, lambda t: F.pad(t, (1, 1, 1, 1), "reflect"))
    theirs = _block(TF, lambda t: TF.pad(t, (1, 1, 1, 1), "reflect"))
    compare(ours, theirs, args, np.float64)
    compare(ours, theirs, args, np.float32)
    check_vjp(ours, *args, rng=1)
    # and the module (tinygan.models.cyclegan.ResnetBlock) is that function of its weights
    from tinygan.models.cyclegan import ResnetBlock
    block = ResnetBlock(c, dtype=np.float64)
    convs = [m for m in block.modules() if isinstance(m, tg.nn.Conv2d)]
    for conv, w, b in zip(convs, args[1::2], args[2::2]):
        conv.weight.data[...], conv.bias.data[...] = w, b
    x = tg.tensor(args[0])
    np.testing.assert_allclose(block(x).numpy(), ours(x, *map(tg.tensor, args[1:])).numpy(), rtol=1e-12)
