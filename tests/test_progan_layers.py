"""Progressive GAN's layers and networks: PixelNorm and MinibatchStdDev against a hand (NumPy)
computation and the same expression in PyTorch, values and gradients, and check_vjp in float64;
equalised learning rate scales the N(0, 1) weights by He's constant at run time; the fade-in is
the old network at alpha = 0 and the new one at alpha = 1; the phase schedule."""
import math

import numpy as np
import pytest
import torch

import tinygan as tg
from tinygan import nn
from tinygan.models import progan
from tinygan.random import Generator
from tinygan.testing import check_vjp


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _both(array):
    return (tg.tensor(array, requires_grad=True),
            torch.tensor(array, dtype=torch.float64, requires_grad=True))


def test_pixelnorm_matches_numpy_and_torch_values_and_gradients():
    x = _x((3, 5, 4, 2))
    hand = x / np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-8)
    a, t = _both(x)
    out = nn.PixelNorm()(a)
    ref = t * torch.rsqrt(t.pow(2).mean(dim=1, keepdim=True) + 1e-8)
    np.testing.assert_allclose(out.numpy(), hand, rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    u = _x(x.shape, 1)
    (out * tg.tensor(u)).sum().backward()
    (ref * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    # every pixel's feature vector has unit root-mean-square over the channels
    np.testing.assert_allclose((out.numpy() ** 2).mean(axis=1), 1.0, rtol=1e-6)
    check_vjp(nn.PixelNorm(), tg.tensor(x))


def _mbstd_hand(x, group):
    """Sample n belongs to group n mod M (M = N / group); its extra map is the mean over (C, H, W)
    of the population std of its group's features."""
    N, C, H, W = x.shape
    M = N // group
    extra = np.empty((N, 1, H, W))
    for n in range(N):
        members = x[n % M::M]
        assert len(members) == group
        extra[n] = np.sqrt(members.var(axis=0) + 1e-8).mean()
    return np.concatenate([x, extra], axis=1)


def _mbstd_torch(t, group):
    N, C, H, W = t.shape
    y = t.reshape(group, N // group, C, H, W)
    y = y - y.mean(dim=0, keepdim=True)
    s = (y.pow(2).mean(dim=0) + 1e-8).sqrt().mean(dim=(1, 2, 3))        # (M,)
    return torch.cat([t, s.repeat(group).reshape(N, 1, 1, 1).expand(N, 1, H, W)], dim=1)


@pytest.mark.parametrize("N,group", [(8, 4), (6, 2), (3, 4)])      # (3, 4): the group capped at N
def test_minibatch_stddev_matches_numpy_and_torch_values_and_gradients(N, group):
    x = _x((N, 3, 2, 2), seed=N)
    used = min(group, N)
    layer = nn.MinibatchStdDev(group)
    a, t = _both(x)
    out = layer(a)
    ref = _mbstd_torch(t, used)
    assert out.shape == (N, 4, 2, 2)
    np.testing.assert_allclose(out.numpy(), _mbstd_hand(x, used), rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-12)
    u = _x(out.shape, 2)
    (out * tg.tensor(u)).sum().backward()
    (ref * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    check_vjp(layer, tg.tensor(x))


def test_minibatch_stddev_of_identical_samples_is_sqrt_eps_and_bad_batches_are_refused():
    x = np.repeat(_x((1, 2, 3, 3)), 4, axis=0)
    out = nn.MinibatchStdDev(4)(tg.tensor(x)).numpy()
    np.testing.assert_allclose(out[:, 2], math.sqrt(1e-8), rtol=1e-9)
    with pytest.raises(ValueError, match="batch 6 is not a multiple of the group size 4"):
        nn.MinibatchStdDev(4)(tg.tensor(_x((6, 2, 3, 3))))
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\)"):
        nn.MinibatchStdDev(4)(tg.tensor(_x((4, 2))))


def test_equalised_learning_rate_scales_n01_weights_by_he_constant():
    conv = nn.EqualizedConv2d(6, 5, 3, padding=1, generator=Generator(0))
    lin = nn.EqualizedLinear(40, 30, gain=1.0, generator=Generator(1))
    assert conv.scale == pytest.approx(math.sqrt(2.0 / (6 * 3 * 3)))       # sqrt(2 / fan_in)
    assert lin.scale == pytest.approx(1.0 / math.sqrt(40))
    for layer in (conv, lin):                  # stored weights N(0, 1), biases 0
        w = layer.weight.numpy()
        assert abs(w.mean()) < 0.15 and abs(w.std() - 1.0) < 0.15
        assert not layer.bias.numpy().any()
    x = _x((2, 6, 5, 5)).astype(np.float32)
    xt = tg.tensor(x)
    out = conv(xt)
    w = torch.tensor(conv.weight.numpy(), requires_grad=True)
    ref = torch.nn.functional.conv2d(torch.tensor(x), w * conv.scale, torch.zeros(5), padding=1)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    # the stored weight's gradient is the run-time weight's gradient times the scale
    u = _x(out.shape, 3).astype(np.float32)
    (out * tg.tensor(u)).sum().backward()
    w_hat = (w * conv.scale).detach().requires_grad_(True)
    torch.nn.functional.conv2d(torch.tensor(x), w_hat, torch.zeros(5), padding=1).mul(torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(conv.weight.grad.numpy(), conv.scale * w_hat.grad.numpy(), rtol=1e-4, atol=1e-5)
    z = _x((3, 40)).astype(np.float32)
    np.testing.assert_allclose(lin(tg.tensor(z)).numpy(), z @ (lin.weight.numpy() * lin.scale).T,
                               rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def nets():
    return progan.build(z_dim=8, channels=(6, 5, 4), group_size=4, generator=Generator(0))


def _np(t):
    return t.numpy()


def test_generator_fade_in_is_the_old_network_at_0_and_the_new_at_1(nets):
    G, _ = nets
    z = tg.tensor(_x((4, 8)).astype(np.float32))
    with tg.no_grad():
        for stage in (1, 2):
            old = _np(G(z, stage - 1, 1.0))
            old_up = old.repeat(2, axis=2).repeat(2, axis=3)
            np.testing.assert_array_equal(_np(G(z, stage, 0.0)), old_up)
            h = G.base(G.fc(G.input_norm(z)))            # the new network, composed by hand
            for block in G.blocks[:stage]:
                h = block(h)
            new = _np(G.to_rgb[stage](h))
            np.testing.assert_array_equal(_np(G(z, stage, 1.0)), new)
            np.testing.assert_allclose(_np(G(z, stage, 0.25)), 0.75 * old_up + 0.25 * new, rtol=1e-5, atol=1e-6)
            assert new.shape == (4, 1, progan.RESOLUTIONS[stage], progan.RESOLUTIONS[stage])


def test_tanh_output_is_the_linear_generator_squashed_at_every_stage_and_alpha():
    """The same weights with output="tanh": tanh of the linear output (tanh commutes with the
    nearest upsampling, so alpha = 0 is still the old network); an unknown output is refused."""
    linear = progan.Generator(8, (6, 5, 4), generator=Generator(0))
    squashed = progan.Generator(8, (6, 5, 4), generator=Generator(0), output="tanh")
    z = tg.tensor(_x((4, 8)).astype(np.float32))
    with tg.no_grad():
        for stage, alpha in ((0, 1.0), (1, 0.0), (1, 0.25), (2, 0.0), (2, 0.5), (2, 1.0)):
            np.testing.assert_allclose(_np(squashed(z, stage, alpha)), np.tanh(_np(linear(z, stage, alpha))),
                                       rtol=1e-6, atol=1e-6)
        old = _np(squashed(z, 1, 1.0))
        np.testing.assert_array_equal(_np(squashed(z, 2, 0.0)), old.repeat(2, axis=2).repeat(2, axis=3))
    with pytest.raises(ValueError, match="output"):
        progan.Generator(8, (6, 5, 4), output="sigmoid")


def test_discriminator_fade_in_is_the_old_network_at_0_and_the_new_at_1(nets):
    _, D = nets
    with tg.no_grad():
        for stage in (1, 2):
            r = progan.RESOLUTIONS[stage]
            x = _x((4, 1, r, r)).astype(np.float32)
            down = x.reshape(4, 1, r // 2, 2, r // 2, 2).mean(axis=(3, 5))
            np.testing.assert_allclose(_np(D(tg.tensor(x), stage, 0.0)), _np(D(tg.tensor(down), stage - 1, 1.0)),
                                       rtol=1e-6, atol=1e-6)
            h = D.blocks[stage - 1](D.from_rgb[stage](tg.tensor(x)))   # the new network by hand
            for s in range(stage - 1, 0, -1):
                h = D.blocks[s - 1](h)
            np.testing.assert_array_equal(_np(D(tg.tensor(x), stage, 1.0)), _np(D.head(h).reshape(-1)))


def test_minibatch_discrimination_in_the_head_sees_the_batch():
    """minibatch=(B, C): D's head appends B closeness statistics to its flattened 7x7 features,
    so one sample's critic value depends on the rest of the batch (without it, only through the
    minibatch-stddev feature of its group: batches of one group of 4 here)."""
    _, D = progan.build(z_dim=8, channels=(6, 5, 4), group_size=4, generator=Generator(0), minibatch=(3, 2))
    mbd = [m for m in D.head if isinstance(m, tg.nn.MinibatchDiscrimination)]
    assert len(mbd) == 1 and (mbd[0].in_features, mbd[0].num_kernels, mbd[0].kernel_dim) == (6 * 49, 3, 2)
    x = _x((8, 1, 28, 28)).astype(np.float32)
    with tg.no_grad():
        both = _np(D(tg.tensor(x)))
        alone = np.concatenate([_np(D(tg.tensor(x[:4]))), _np(D(tg.tensor(x[4:])))])
    assert both.shape == (8,) and not np.allclose(both, alone)


def test_wrong_resolution_stage_or_alpha_is_refused(nets):
    G, D = nets
    with pytest.raises(ValueError, match=r"stage 1: expected images \(N, 1, 14, 14\), got \(2, 1, 28, 28\)"):
        D(tg.zeros(2, 1, 28, 28), 1, 1.0)
    with pytest.raises(ValueError, match="alpha must lie in"):
        G(tg.zeros(2, 8), 1, 1.5)
    with pytest.raises(ValueError, match="stage must be 0..2"):
        G(tg.zeros(2, 8), 3, 1.0)
    with pytest.raises(ValueError, match="channels must be 3 positive counts"):
        progan.Generator(8, (4, 4))


def test_schedule_phases_and_alpha():
    P = 4
    got = [progan.schedule(step, P) for step in range(5 * P)]
    assert [s for s, _, _ in got] == [0] * 4 + [1] * 8 + [2] * 8
    assert [a for _, a, _ in got[P:2 * P]] == [0.0, 0.25, 0.5, 0.75]
    assert all(a == 1.0 for _, a, ph in got if ph % 2 == 0)
    assert progan.schedule(5 * P + 3, P) == (2, 1.0, 4)                # past the end: the last phase
    assert [progan.schedule(step, (P,) * 5) for step in range(5 * P + 4)] == got + [(2, 1.0, 4)] * 4


def test_schedule_with_a_length_per_phase():
    lengths = (1, 2, 1, 4, 3)
    got = [progan.schedule(step, lengths) for step in range(11)]
    assert [ph for _, _, ph in got] == [0, 1, 1, 2, 3, 3, 3, 3, 4, 4, 4]
    assert [a for _, a, ph in got if ph == 3] == [0.0, 0.25, 0.5, 0.75]
    assert [a for _, a, ph in got if ph == 1] == [0.0, 0.5]
    with pytest.raises(ValueError, match="5 positive phase lengths expected"):
        progan.schedule(0, (1, 2, 3))


def test_generator_normalises_every_pixel_after_the_dense_layer(nets):
    G, _ = nets
    with tg.no_grad():
        h = G.base[:3](G.fc(G.input_norm(tg.tensor(_x((4, 8)).astype(np.float32)))))
    assert h.shape == (4, 6, 7, 7)
    np.testing.assert_allclose((h.numpy() ** 2).mean(axis=1), 1.0, rtol=1e-4)
