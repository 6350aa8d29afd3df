"""Toy mixtures, the mode-coverage metric, the original GAN's losses and Algorithm 1's trainer."""
import json
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan.data import toy
from tinygan.metrics import mode_coverage
from tinygan.models import gan


def test_ring_and_grid_are_the_papers_mixtures():
    ring = toy.get_mixture("ring")
    assert ring.num_modes == 8 and ring.std == 0.02
    np.testing.assert_allclose(np.hypot(*ring.means.T), 2.0)
    angles = np.sort(np.mod(np.arctan2(ring.means[:, 1], ring.means[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), np.pi / 4)
    grid = toy.get_mixture("grid")
    assert grid.num_modes == 25 and grid.std == 0.05
    assert sorted(set(grid.means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    x = ring.sample(20000, 0, dtype=np.float64)
    idx = np.argmin(((x[:, None] - ring.means[None]) ** 2).sum(-1), 1)
    assert np.std(x - ring.means[idx]) == pytest.approx(0.02, rel=0.03)
    assert np.bincount(idx, minlength=8).min() > 2000           # equal weights
    with pytest.raises(ValueError, match="ring"):
        toy.get_mixture("spiral")


def test_mixture_density_matches_scipy_and_is_seeded():
    stats = pytest.importorskip("scipy.stats")
    ring = toy.ring()
    pts = np.array([[2.0, 0.0], [2.01, 0.02], [0.0, 0.0], [1.4, 1.4]])
    ref = np.mean([stats.multivariate_normal(m, 0.02 ** 2 * np.eye(2)).pdf(pts) for m in ring.means], 0)
    np.testing.assert_allclose(ring.density(pts), ref, rtol=1e-9, atol=1e-300)
    np.testing.assert_array_equal(ring.sample(5, 3), ring.sample(5, 3))
    np.testing.assert_array_equal(ring.sample(5, tg.Generator(3)), ring.sample(5, tg.Generator(3)))


def test_coverage_of_perfect_samples():
    ring = toy.ring()
    c = ring.coverage(ring.sample(2500, 0))
    assert c["modes_captured"] == 8 and c["num_modes"] == 8
    # P(|x - mu| <= 3 s) for a 2-D Gaussian is 1 - exp(-9/2) = 0.989
    assert c["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert 0 <= c["reverse_kl"] < 0.01
    assert sum(c["histogram"]) == round(2500 * c["high_quality"])
    grid = toy.grid()
    g = grid.coverage(grid.sample(2500, 1))
    assert g["modes_captured"] == 25 and g["high_quality"] > 0.97 and g["reverse_kl"] < 0.02


def test_coverage_of_a_collapsed_generator_and_of_bad_samples():
    ring = toy.ring()
    collapsed = ring.means[3] + 0.01 * np.random.default_rng(0).standard_normal((2500, 2))
    c = ring.coverage(collapsed)
    assert c["modes_captured"] == 1
    assert c["high_quality"] > 0.99
    assert c["reverse_kl"] == pytest.approx(math.log(8))
    assert c["histogram"][3] == sum(c["histogram"])
    # all samples at the origin: nearest to some mode, but none within 3 std -> nothing captured
    none = ring.coverage(np.zeros((100, 2)))
    assert none["modes_captured"] == 0 and none["high_quality"] == 0 and math.isnan(none["reverse_kl"])
    # half the modes, evenly: reverse KL = log 2
    half = np.repeat(ring.means[::2], 100, 0)
    assert mode_coverage(half, ring.means, 0.02)["reverse_kl"] == pytest.approx(math.log(2))


def test_gan_losses_are_algorithm_1s():
    a_r = tg.tensor(np.array([0.3, -1.2, 2.0]), dtype=tg.float64)
    a_f = tg.tensor(np.array([-0.5, 0.7]), dtype=tg.float64)
    sig = lambda a: 1 / (1 + np.exp(-a.numpy()))  # noqa: E731
    d = gan.discriminator_loss(a_r, a_f).item()
    assert d == pytest.approx(-np.mean(np.log(sig(a_r))) - np.mean(np.log(1 - sig(a_f))))
    assert gan.generator_loss(a_f, "minimax").item() == pytest.approx(np.mean(np.log(1 - sig(a_f))))
    assert gan.generator_loss(a_f, "nonsaturating").item() == pytest.approx(-np.mean(np.log(sig(a_f))))
    with pytest.raises(ValueError):
        gan.generator_loss(a_f, "wasserstein")


def test_models_shapes():
    G = gan.Generator(2, 2, (16, 16), generator=tg.Generator(0))
    D = gan.Discriminator(2, (16,), generator=tg.Generator(0))
    z = tg.randn(5, 2)
    assert G(z).shape == (5, 2) and D(G(z)).shape == (5,)
    Gm = gan.Generator(10, 784, (32,), "tanh")
    out = Gm(tg.randn(3, 10))
    assert out.shape == (3, 784) and np.abs(out.numpy()).max() <= 1
    assert gan.Discriminator(784, (8,))(out.reshape(3, 1, 28, 28)).shape == (3,)


def test_optimal_discriminator_is_one_half_when_q_equals_p():
    from tinygan.trainers.gan_pictures import optimal_discriminator
    ring = toy.ring()
    fake = ring.sample(2000, 5, dtype=np.float64)
    d_star = optimal_discriminator(ring, fake, ring.means)
    assert np.all(np.abs(d_star - 0.5) < 0.2)
    # far from every mode p ~ 0 while q (fake points there) > 0: D* ~ 0
    off = np.array([[0.0, 0.0]])
    clump = 0.01 * np.random.default_rng(0).standard_normal((200, 2))
    assert optimal_discriminator(ring, clump, off)[0] < 1e-6


def test_train_gan_run_folder(tmp_path):
    from tinygan.trainers.gan import main
    out = tmp_path / "run"
    rc = main(["--data", "ring", "--steps", "40", "--every", "20", "--batch-size", "64",
               "--g-hidden", "16", "16", "--d-hidden", "16", "--out", str(out), "--no-progress"])
    assert rc == 0
    for name in ("config.json", "metrics.jsonl", "losses.png", "training.gif", "summary.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "frames").iterdir()) == [
        "step_000001.png", "step_000020.png", "step_000040.png"]
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 40 and {"d_loss", "g_loss", "d_real", "d_fake"} <= set(json.loads(lines[0]))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["coverage"]["num_samples"] == 2500 and summary["coverage"]["num_modes"] == 8
    from PIL import Image
    with Image.open(out / "training.gif") as gif:
        assert gif.n_frames == 3


def test_k_discriminator_steps_per_generator_step_and_minimax_loss(tmp_path):
    """Algorithm 1: k D updates per G update; the run is reproducible from its seed."""
    from tinygan.checkpoint import Checkpoint
    from tinygan.trainers.gan import load_run, train
    config = dict(model="gan", data="grid", g_loss="minimax", k=3, steps=6, batch_size=32, lr=1e-3,
                  betas=[0.5, 0.999], lr_decay=0.0, z_dim=2, g_hidden=[8], d_hidden=[8], every=100, seed=3)
    train(config, tmp_path / "a", progress=False)
    ckpt = Checkpoint(tmp_path / "a")
    g_state, d_state = ckpt.state("g_opt"), ckpt.state("d_opt")
    assert g_state["state"]["0"]["step"] == 6
    assert d_state["state"]["0"]["step"] == 18
    train(config, tmp_path / "b", progress=False)
    Ga, _ = load_run(tmp_path / "a")
    Gb, _ = load_run(tmp_path / "b" / "checkpoints")
    for pa, pb in zip(Ga.parameters(), Gb.parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())


def test_train_dispatcher_lists_gan():
    from tinygan.train import MODELS
    assert MODELS["gan"][1] == "tinygan.trainers.gan:main"


TINY = ["--steps", "30", "--every", "10", "--batch-size", "32", "--g-hidden", "8", "8", "--d-hidden", "8",
        "--d-dropout", "0.2", "--no-progress"]


@pytest.mark.parametrize("data", ["ring", "mnist"])
def test_train_gan_resume_is_exact(tmp_path, monkeypatch, data):
    """Stopped at step 12 (--max-steps) and resumed, a run has the losses of an uninterrupted one
    at every step (data, z, dropout streams and both Adam states restored), and the same G."""
    from tinygan.checkpoint import list_checkpoints
    from tinygan.trainers.gan import load_run, main
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # MNIST: the shipped subset
    flags = ["--data", data, *TINY] + (["--z-dim", "4"] if data == "mnist" else [])
    assert main([*flags, "--out", str(tmp_path / "whole")]) == 0
    assert main([*flags, "--out", str(tmp_path / "split"), "--max-steps", "12"]) == 0
    saved = list_checkpoints(tmp_path / "split" / "checkpoints")
    assert [p.name for p in saved] == ["step_0000010.json", "step_0000012.json"]
    assert main(["--resume", str(tmp_path / "split"), "--no-progress"]) == 0
    whole = (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()
    split = (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()
    assert len(whole) == len(split) == 30
    for a, b in zip(whole, split):
        ra, rb = json.loads(a), json.loads(b)
        assert (ra["step"], ra["d_loss"], ra["g_loss"]) == (rb["step"], rb["d_loss"], rb["g_loss"])
    Ga, _ = load_run(tmp_path / "whole")
    Gb, _ = load_run(tmp_path / "split")
    for pa, pb in zip(Ga.parameters(), Gb.parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())
    if data == "ring":
        assert (tmp_path / "split" / "training.gif").is_file()
    assert len(list_checkpoints(tmp_path / "split" / "checkpoints")) <= 3     # --keep 3


def test_train_gan_resume_errors(tmp_path, capsys):
    from tinygan.trainers.gan import main
    out = tmp_path / "run"
    assert main(["--data", "ring", *TINY, "--out", str(out)]) == 0
    with pytest.raises(SystemExit):
        main(["--resume", str(out), "--seed", "1"])
    assert "--seed: a resumed run keeps the checkpoint's settings" in capsys.readouterr().err
    assert main(["--resume", str(tmp_path / "nowhere")]) == 1
    assert "nowhere" in capsys.readouterr().err
    assert main(["--resume", str(out), "--no-progress"]) == 0           # finished: nothing to do
    assert "nothing to resume" in capsys.readouterr().out


def test_train_gan_ctrl_c_saves_and_resumes(tmp_path, monkeypatch):
    """The first Ctrl-C finishes the step, writes a checkpoint tagged "interrupt" and exits 130."""
    import os
    import signal

    from tinygan.checkpoint import Checkpoint
    from tinygan.optim import AlternatingGDA
    from tinygan.trainers.gan import main
    real_step, calls = AlternatingGDA.step, []

    def step_then_interrupt(self, *args):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)                  # as if the user pressed Ctrl-C
        return real_step(self, *args)

    monkeypatch.setattr(AlternatingGDA, "step", step_then_interrupt)
    out = tmp_path / "run"
    assert main(["--data", "ring", *TINY, "--out", str(out)]) == 130
    ckpt = Checkpoint(out)
    assert ckpt.step == 3 and ckpt.meta["tag"] == "interrupt"
    monkeypatch.setattr(AlternatingGDA, "step", real_step)
    assert main(["--resume", str(out), "--no-progress"]) == 0
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 31))
