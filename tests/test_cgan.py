"""Conditional GAN (`train cgan`): shapes of every arch x cond, the losses against a hand
computation, the projection term, a tiny run with its outputs, exact resume, sample / eval on
its checkpoints, and one-line errors. Runs use ``--n-train 16 --batch-size 4`` (4 steps / epoch)
and a LeNet evaluation of 10 digits per class instead of 500."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import Checkpoint
from tinygan.models import cgan
from tinygan.train import main as train_main
from tinygan.trainers import cgan as trainer

TINY = ["--n-train", "16", "--batch-size", "4", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # the shipped subset
    monkeypatch.setattr(trainer, "EVAL_PER_CLASS", 10)
    monkeypatch.setattr(trainer, "EPOCH_EVAL_PER_CLASS", 2)


def _train(out, *flags):
    return train_main(["cgan", *TINY, "--out", str(out), *flags])


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("arch", cgan.ARCHS)
@pytest.mark.parametrize("cond", cgan.CONDS)
def test_shapes_of_every_variant(arch, cond):
    G, D = cgan.build(arch, cond, generator=tg.Generator(0), dropout_generator=tg.Generator(1))
    z = tg.randn(3, 100, generator=tg.Generator(2))
    y = cgan.one_hot(np.array([0, 4, 9]))
    x = G(z, y)
    assert x.shape == (3, 1, 28, 28) and float(np.abs(x.numpy()).max()) <= 1.0
    out = D(x, y)
    if cond == "acgan":
        assert out[0].shape == (3, 1) and out[1].shape == (3, 10)
    else:
        assert out.shape == (3, 1)
    first = next(iter(D.trunk)).weight.shape      # only concat feeds the label into D's input
    extra = 10 if cond == "concat" else 0
    assert first[1] == (1 + extra if arch == "conv" else 784 + extra)


def test_the_label_changes_g_and_the_projection_logit():
    G, D = cgan.build("conv", "projection", generator=tg.Generator(0), dropout_generator=tg.Generator(1))
    D.eval()
    z = tg.randn(2, 100, generator=tg.Generator(3))
    a, b = cgan.one_hot(np.array([1, 1])), cgan.one_hot(np.array([7, 7]))
    assert not np.allclose(G(z, a).numpy(), G(z, b).numpy())
    x = G(z, a).detach()
    h = D.features(x, a).numpy().astype(np.float64)
    V = D.embed.weight.numpy().astype(np.float64)            # (F, C): embed(y) = y @ V^T
    w, c = D.head.weight.numpy().astype(np.float64), D.head.bias.numpy().astype(np.float64)
    for y, k in ((a, 1), (b, 7)):
        expected = h @ w.T + c + (h * V[:, k]).sum(1, keepdims=True)
        np.testing.assert_allclose(D(x, y).numpy(), expected, rtol=1e-4, atol=1e-4)


def _log_sigmoid(t):
    return -np.logaddexp(0.0, -t)


def _log_softmax(l):
    return l - np.logaddexp.reduce(l, axis=1, keepdims=True)


def test_losses_against_a_hand_computation():
    rng = np.random.default_rng(0)
    r, f = rng.standard_normal((5, 1)), rng.standard_normal((5, 1))
    rc, fc = rng.standard_normal((5, 10)), rng.standard_normal((5, 10))
    yr, yf = rng.integers(0, 10, 5), rng.integers(0, 10, 5)
    T = lambda a: tg.tensor(a)                                                     # noqa: E731
    bce = -(_log_sigmoid(r).mean() + _log_sigmoid(-f).mean())
    ce = lambda l, y: -_log_softmax(l)[np.arange(5), y].mean()                    # noqa: E731
    loss, cls = cgan.d_loss(T(r), T(f))
    assert cls is None and np.isclose(loss.item(), bce)
    loss, cls = cgan.d_loss((T(r), T(rc)), (T(f), T(fc)), T(yr), T(yf))
    assert np.isclose(cls.item(), ce(rc, yr) + ce(fc, yf))
    assert np.isclose(loss.item(), bce + ce(rc, yr) + ce(fc, yf))
    assert np.isclose(cgan.g_loss(T(f)).item(), -_log_sigmoid(f).mean())
    assert np.isclose(cgan.g_loss((T(f), T(fc)), T(yf)).item(), -_log_sigmoid(f).mean() + ce(fc, yf))


def test_bad_inputs_are_one_line_errors():
    G, D = cgan.build("mlp", "concat", generator=tg.Generator(0))
    with pytest.raises(ValueError, match=r"CondGenerator: expected class vectors y of shape \(2, 10\)"):
        G(tg.randn(2, 100), tg.randn(2, 9))
    with pytest.raises(ValueError, match=r"CondDiscriminator: expected input of shape \(N, 1, 28, 28\)"):
        D(tg.randn(2, 784), cgan.one_hot(np.array([0, 1])))
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        cgan.one_hot(np.array([3, 10]))
    with pytest.raises(ValueError, match="unknown conditional-GAN cond 'hinge'"):
        cgan.CondDiscriminator("conv", "hinge")


def test_tiny_run_writes_the_class_grid_and_label_accuracy(tmp_path):
    run = tmp_path / "r"
    assert _train(run, "--epochs", "1", "--cond", "projection", "--arch", "mlp") == 0
    rows = _metrics(run)
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert all(np.isfinite(r["d_loss"]) and 0 < r["d_fake"] < 1 for r in rows)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["label_accuracy_digits"] == 100 and 0.0 <= summary["label_accuracy"] <= 1.0
    from PIL import Image
    grid = Image.open(run / "samples" / "final.png")        # 10 x 10 digits of 28 px, 2 px gaps, x2
    assert grid.size == (2 * (10 * 30 + 2), 2 * (10 * 30 + 2))
    assert (run / "samples" / "epoch_001.png").is_file() and (run / "losses.png").is_file()



def test_other_losses_and_label_smoothing_against_a_hand_computation():
    """--loss hinge / lsgan / minimax and --label-smoothing replace the BCE terms; the AC-GAN class
    terms stay cross-entropies."""
    rng = np.random.default_rng(1)
    r, f = rng.standard_normal((5, 1)), rng.standard_normal((5, 1))
    rc, fc = rng.standard_normal((5, 10)), rng.standard_normal((5, 10))
    yr, yf = rng.integers(0, 10, 5), rng.integers(0, 10, 5)
    T = lambda a: tg.tensor(a)                                                     # noqa: E731
    ce = lambda l, y: -_log_softmax(l)[np.arange(5), y].mean()                    # noqa: E731
    hinge = np.maximum(0, 1 - r).mean() + np.maximum(0, 1 + f).mean()
    lsgan = 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean()
    assert np.isclose(cgan.d_loss(T(r), T(f), kind="hinge")[0].item(), hinge)
    assert np.isclose(cgan.d_loss(T(r), T(f), kind="lsgan")[0].item(), lsgan)
    loss, cls = cgan.d_loss((T(r), T(rc)), (T(f), T(fc)), T(yr), T(yf), kind="hinge")
    assert np.isclose(loss.item(), hinge + ce(rc, yr) + ce(fc, yf))
    smooth = -(0.9 * _log_sigmoid(r) + 0.1 * _log_sigmoid(-r)).mean() - _log_sigmoid(-f).mean()
    assert np.isclose(cgan.d_loss(T(r), T(f), real_label=0.9)[0].item(), smooth)
    assert np.isclose(cgan.g_loss(T(f), kind="hinge").item(), -f.mean())
    assert np.isclose(cgan.g_loss(T(f), kind="lsgan").item(), 0.5 * ((f - 1) ** 2).mean())
    assert np.isclose(cgan.g_loss(T(f), kind="minimax").item(), _log_sigmoid(-f).mean())
    assert np.isclose(cgan.g_loss((T(f), T(fc)), T(yf), kind="hinge").item(), -f.mean() + ce(fc, yf))


def test_hinge_with_spectral_norm_trains_records_and_resumes_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    flags = ("--arch", "mlp", "--cond", "projection", "--loss", "hinge", "--spectral-norm")
    assert _train(straight, "--max-steps", "5", *flags) == 0
    assert _train(split, "--max-steps", "3", *flags) == 0
    assert train_main(["cgan", "--resume", str(split), "--max-steps", "5", "--no-progress"]) == 0
    config = json.loads((split / "config.json").read_text())
    assert config["loss"] == "hinge" and config["spectral_norm"] is True and config["real_label"] == 1.0
    a, b = _metrics(straight), _metrics(split)
    assert all("critic_gap" in row and "d_real" not in row for row in a)
    keys = ("d_loss", "g_loss", "critic_gap")
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert any(key.endswith("weight_orig") for key in ca.arrays)      # D's layers are normalised
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key


def test_resume_is_exact(tmp_path):
    """5 steps in one go == 3, resume, 2 more (crossing an epoch end): losses and every saved array equal."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(straight, "--max-steps", "5", "--arch", "mlp") == 0
    assert _train(split, "--max-steps", "3", "--arch", "mlp") == 0
    assert train_main(["cgan", "--resume", str(split), "--max-steps", "5", "--no-progress"]) == 0
    a, b = _metrics(straight), _metrics(split)
    assert [r["step"] for r in b] == list(range(1, 6))
    keys = ("d_loss", "g_loss", "d_class_loss", "d_real")
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert ca.step == cb.step == 5 and set(ca.arrays) == set(cb.arrays)
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key


def test_sample_eval_and_latent_demo_read_its_checkpoints(tmp_path):
    run = tmp_path / "r"
    assert _train(run, "--max-steps", "1", "--cond", "concat") == 0      # one step of the conv nets
    sample, meta, data = trainer.load_sampler(run)
    images = sample(12, 0)
    assert images.shape == (12, 1, 28, 28) and data == "mnist" and meta["model"] == "cgan"
    G, _ = trainer.load_generator(run)
    assert G.arch == "conv" and Checkpoint(run).meta["config"]["cond"] == "concat"


def test_bad_flags_and_resume_changes_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_main(["cgan", "--cond", "hinge"])
    assert "invalid choice: 'hinge'" in capsys.readouterr().err
    assert _train(tmp_path / "r", "--max-steps", "1", "--arch", "mlp") == 0
    with pytest.raises(SystemExit):
        train_main(["cgan", "--resume", str(tmp_path / "r"), "--cond", "concat"])
    assert "--cond concat (checkpoint: acgan)" in capsys.readouterr().err
    assert train_main(["cgan", "--batch-size", "64", "--n-train", "16", "--out", str(tmp_path / "q")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "16" in err[0]
    with pytest.raises(SystemExit):             # the WGAN losses need critic steps: not offered here
        train_main(["cgan", "--loss", "wgan-gp"])
    assert "invalid choice: 'wgan-gp'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(["cgan", "--loss", "hinge", "--label-smoothing", "0.9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert "--label-smoothing needs a BCE loss (nonsaturating or minimax), not hinge" in err[-1]
