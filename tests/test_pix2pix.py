"""pix2pix: U-Net skip shapes (odd sizes too), the PatchGAN's receptive field measured by a
gradient, dropout as the only randomness, the losses against a hand computation, the paired
tasks, one training step, and `train pix2pix` end to end (exact resume, sample on its checkpoint,
one-line errors)."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.checkpoint import Checkpoint
from tinygan.data.paired import make_pairs
from tinygan.models import pix2pix
from tinygan.optim import Adam
from tinygan.random import Generator
from tinygan.trainers import pix2pix as trainer


@pytest.mark.parametrize("size,depth", [((28, 28), 4), ((27, 27), 4), ((17, 23), 3), ((16, 16), 4),
                                        ((9, 30), 3), ((2, 3), 1)])
def test_unet_skips_round_trip_odd_sizes(size, depth):
    G = pix2pix.UNetGenerator(1, 2, ngf=4, depth=depth, max_mult=2, generator=Generator(0))
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 1) + size).astype(np.float32))
    skips = G.encode(x)
    expected, h = [], size
    for _ in range(depth):                        # 4x4, stride 2, pad 1: floor(n / 2)
        h = (h[0] // 2, h[1] // 2)
        expected.append(h)
    assert [tuple(s.shape[2:]) for s in skips] == expected
    assert G(x).shape == (3, 2) + size
    for i in range(1, depth):                     # each decoder step reads [skip, upsampled]
        extra = 1 if i == depth - 1 else 2
        assert G.up[i].in_channels == skips[i].shape[1] * extra
    assert G.up[0].in_channels == 2 * skips[0].shape[1] or depth == 1


def test_unet_skip_carries_the_input_past_the_bottleneck():
    """With the bottleneck's decoder step zeroed (nothing flows through the 1 x 1 map), the
    output still depends on the input: through the concatenated skips only."""
    G = pix2pix.UNetGenerator(1, 1, ngf=4, depth=4, n_dropout=0, generator=Generator(1))
    G.up[3].weight.data[...] = 0
    x = tg.tensor(np.random.default_rng(1).standard_normal((2, 1, 16, 16)).astype(np.float32),
                  requires_grad=True)
    h = G.up[3](nn.functional.relu(G.encode(x)[-1]), output_size=(2, 2))
    assert not np.any(h.numpy())
    (g,) = tg.grad(G(x)[0, 0, 8, 8], [x])
    assert np.abs(g.numpy()[0, 0]).sum() > 0


def test_unet_rejects_too_small_inputs_in_one_line():
    G = pix2pix.UNetGenerator(ngf=4, depth=4)
    with pytest.raises(ValueError, match=r"UNetGenerator: expected input \(N, 1, H, W\) with H, W >= 16"):
        G(tg.zeros(1, 1, 15, 28))
    with pytest.raises(ValueError, match="UNetGenerator"):
        G(tg.zeros(1, 2, 28, 28))


@pytest.mark.parametrize("n_layers", [1, 2])
def test_patchgan_receptive_field_by_gradient(n_layers, monkeypatch):
    monkeypatch.setattr(pix2pix, "_bn", lambda c, dtype: nn.Identity())   # a norm mixes positions
    D = pix2pix.PatchDiscriminator(2, ndf=4, n_layers=n_layers, generator=Generator(2))
    size = 64
    x = tg.tensor(np.random.default_rng(2).standard_normal((1, 2, size, size)).astype(np.float32),
                  requires_grad=True)
    out = D(x)
    assert out.shape[2] == size // 2 ** n_layers - 2
    c = out.shape[2] // 2
    (g,) = tg.grad(out[0, 0, c, c], [x])
    rows = np.flatnonzero(np.abs(g.numpy()).sum(axis=(0, 1, 3)))
    cols = np.flatnonzero(np.abs(g.numpy()).sum(axis=(0, 1, 2)))
    assert rows[-1] - rows[0] + 1 == cols[-1] - cols[0] + 1 == pix2pix.receptive_field(n_layers)
    assert pix2pix.receptive_field(3) == 70           # the paper's 70x70 PatchGAN


def test_dropout_is_the_only_randomness_and_stays_on_in_eval():
    G = pix2pix.UNetGenerator(ngf=4, depth=4, generator=Generator(3), dropout_generator=Generator(4))
    G.eval()
    x = tg.tensor(np.random.default_rng(3).standard_normal((4, 1, 28, 28)).astype(np.float32))
    drops = [m for m in G.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3 and all(m.always_on and m.p == 0.5 for m in drops)
    a, b = G(x).numpy(), G(x).numpy()
    assert not np.allclose(a, b)                       # new masks each call, in eval mode
    for m in drops:
        m.p = 0.0
    np.testing.assert_array_equal(G(x).numpy(), G(x).numpy())   # nothing else is random


def test_losses_match_a_hand_computation():
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((3, 1, 5, 5)), rng.standard_normal((3, 1, 5, 5))
    out, target = rng.uniform(-1, 1, (3, 1, 6, 6)), rng.uniform(-1, 1, (3, 1, 6, 6))
    softplus = lambda t: np.log1p(np.exp(-np.abs(t))) + np.maximum(t, 0)  # noqa: E731
    d = pix2pix.discriminator_loss(tg.tensor(real), tg.tensor(fake)).item()
    np.testing.assert_allclose(d, 0.5 * (softplus(-real).mean() + softplus(fake).mean()), rtol=1e-12)
    total, gan, l1 = pix2pix.generator_loss(tg.tensor(fake), tg.tensor(out), tg.tensor(target))
    np.testing.assert_allclose(gan.item(), softplus(-fake).mean(), rtol=1e-12)
    np.testing.assert_allclose(l1.item(), np.abs(out - target).mean(), rtol=1e-12)
    np.testing.assert_allclose(total.item(), gan.item() + 100 * l1.item(), rtol=1e-12)


def test_paired_tasks():
    rng = np.random.default_rng(5)
    digits = (rng.uniform(0, 1, (4, 28, 28)) > 0.7).astype(np.uint8) * 255
    x, y = make_pairs(digits, "mask-lower")
    assert x.shape == y.shape == (4, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, :, :14], y[:, :, :14])
    assert np.all(x[:, :, 14:] == -1.0)
    e, y2 = make_pairs(digits, "edges")
    np.testing.assert_array_equal(y, y2)
    assert set(np.unique(e)) <= {-1.0, 1.0}
    assert np.all(digits[:, None][e == 1.0] > 127)    # outlines lie on the ink
    with pytest.raises(ValueError, match="unknown paired task 'blur'"):
        make_pairs(digits, "blur")


def test_one_training_step_moves_both_players():
    config = dict(trainer.DEFAULTS, ngf=4, ndf=4)
    m = trainer.build(config, Generator(6), Generator(7))
    G, D = m["G"], m["D"]
    opt_g, opt_d = Adam(G.parameters(), lr=1e-3), Adam(D.parameters(), lr=1e-3)
    g0 = [p.numpy().copy() for p in G.parameters()]
    d0 = [p.numpy().copy() for p in D.parameters()]
    x, y = make_pairs(np.random.default_rng(8).integers(0, 256, (8, 28, 28)).astype(np.uint8), "mask-lower")
    values = trainer.train_step(G, D, opt_g, opt_d, tg.tensor(x), tg.tensor(y), 100.0)
    assert set(values) == {"d_loss", "g_loss", "g_gan", "l1", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in values.values())
    np.testing.assert_allclose(values["g_loss"], values["g_gan"] + 100 * values["l1"], rtol=1e-5)
    assert all(not np.array_equal(a, p.numpy()) for a, p in zip(g0, G.parameters()))
    assert all(not np.array_equal(a, p.numpy()) for a, p in zip(d0, D.parameters()))
    assert all(p.grad is None or p.requires_grad for p in D.parameters())


TINY = ["--n-train", "48", "--batch-size", "16", "--epochs", "2", "--ngf", "4", "--ndf", "4",
        "--n-eval", "40", "--no-progress"]


def _losses(run):
    return [(r["d_loss"], r["g_loss"]) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]


def test_train_pix2pix_resume_equals_uninterrupted_and_sample_works(tmp_path, capsys):
    straight, split = tmp_path / "a", tmp_path / "b"
    assert trainer.main(TINY + ["--out", str(straight)]) == 0
    assert trainer.main(TINY + ["--out", str(split), "--max-steps", "4"]) == 0
    assert trainer.main(["--resume", str(split), "--no-progress"]) == 0
    assert _losses(straight) == _losses(split) and len(_losses(straight)) == 6
    a, b = Checkpoint(straight), Checkpoint(split)
    assert a.step == b.step == 6 and set(a.arrays) == set(b.arrays)
    for key in a.arrays:
        np.testing.assert_array_equal(a.arrays[key], b.arrays[key], err_msg=key)
    summary = json.loads((straight / "summary.json").read_text())
    for key in ("heldout_l1", "heldout_lenet_accuracy", "lenet_accuracy_on_targets"):
        assert 0 <= summary[key] <= 2
    assert [h["epoch"] for h in summary["history"]] == [1, 2]
    lrs = [json.loads(r)["lr"] for r in (straight / "metrics.jsonl").read_text().splitlines()]
    np.testing.assert_allclose(lrs, [2e-4 * trainer.lr_factor(s, 6, 0.5) for s in range(6)])
    for name in ("triplets.png", "dropout.png", "losses.png", "samples/epoch_002.png"):
        assert (straight / name).is_file()
    from tinygan import sample
    assert sample.main([str(straight), "--n", "8", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file()
    fn, meta, data = trainer.load_sampler(straight)
    assert data == "mnist" and meta["model"] == "pix2pix"
    np.testing.assert_array_equal(fn(4, 1), fn(4, 1))
    assert fn(4, 1).shape == (4, 1, 28, 28)


def test_train_pix2pix_bad_flags_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        trainer.main(["--task", "blur"])
    assert info.value.code == 2 and "--task" in capsys.readouterr().err
    assert trainer.main(TINY + ["--batch-size", "64", "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--batch-size 64 is larger than the 48 training digits" in err[0]
