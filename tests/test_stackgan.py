"""Stacked GAN (`train stackgan`): shapes, the conditional and entropy losses by hand, one step of
each phase, exact resume across the phase boundaries, sample / eval on its checkpoints and
one-line errors. Runs use ``--n-train 16 --batch-size 4`` (4 steps / epoch) and a LeNet
evaluation of 2 digits per class."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import Checkpoint
from tinygan.models import stackgan
from tinygan.train import main as train_main
from tinygan.trainers import stackgan as trainer

TINY = ["--n-train", "16", "--batch-size", "4", "--h-dim", "8", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # the shipped subset
    monkeypatch.setattr(trainer, "EVAL_PER_CLASS", 2)


def _train(out, *flags):
    return train_main(["stackgan", *TINY, "--out", str(out), *flags])


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_shapes_of_the_stack():
    E, G, D = stackgan.build(h_dim=8, generator=tg.Generator(0))
    x = tg.randn(3, 1, 28, 28, generator=tg.Generator(1))
    assert E.encode(x).shape == (3, 8) and E(x).shape == (3, 10)
    y = tg.tensor(np.eye(10, dtype=np.float32)[[0, 4, 9]])
    h, image = G(y, tg.randn(3, 16), tg.randn(3, 16))
    assert h.shape == (3, 8)
    assert image.shape == (3, 1, 28, 28) and float(np.abs(image.numpy()).max()) <= 1.0
    for level, inp in ((D.level0, h), (D.level1, image)):
        logits, z = level(inp)
        assert logits.shape == (3, 1) and z.shape == (3, 16)


def test_losses_against_a_hand_computation():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 8)), rng.standard_normal((5, 8))
    T = tg.tensor
    assert np.isclose(stackgan.feature_condition_loss(T(a), T(b)).item(), ((a - b) ** 2).mean())
    assert np.isclose(stackgan.entropy_loss(T(a), T(b)).item(), 0.5 * ((a - b) ** 2).mean())
    logits, y = rng.standard_normal((5, 10)), rng.integers(0, 10, 5)
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    assert np.isclose(stackgan.label_condition_loss(T(logits), T(y)).item(), -log_p[np.arange(5), y].mean())


def test_bad_network_inputs_are_one_line_errors():
    E, G, D = stackgan.build(h_dim=8, generator=tg.Generator(0))
    with pytest.raises(ValueError, match=r"stackgan G_1 features: expected input of shape \(N, 8\)"):
        G.level1(tg.randn(2, 9), tg.randn(2, 16))
    with pytest.raises(ValueError, match=r"stackgan D_1: expected input of shape \(N, 1, 28, 28\)"):
        D.level1(tg.randn(2, 784))


def _job(**config):
    args = type("A", (), {"device": "cpu", "data_dir": None})()
    return trainer.StackGANJob({**trainer.DEFAULTS, "batch_size": 4, "n_train": 8, "h_dim": 8,
                                "epochs": 3, **config}, args)


def _moved(module, step):
    before = {k: v.numpy().copy() for k, v in module.state_dict().items()}
    values = step()
    return values, {k for k, v in module.state_dict().items() if not np.array_equal(before[k], v.numpy())}


def test_each_phase_trains_what_it_should():
    job = _job(encoder_epochs=1, independent_epochs=1)       # 2 steps per epoch
    assert [job.phase(s) for s in range(6)] == ["encoder"] * 2 + ["independent"] * 2 + ["joint"] * 2
    values, moved = _moved(job.E, job.step)
    assert set(values) == {"e_loss"} and moved
    job.steps_done = 2                                        # the independent phase
    encoder = {k: v.numpy().copy() for k, v in job.E.state_dict().items()}
    values, moved = _moved(job.G, job.step)
    assert {"d_loss_0", "g_loss_1", "cond_loss_0", "ent_loss_1"} <= set(values)
    assert any(k.startswith("level0.") for k in moved) and any(k.startswith("level1.") for k in moved)
    job.steps_done = 4                                        # joint: G_1's losses reach G_0
    values, moved = _moved(job.G, job.step)
    assert all(np.isfinite(v) for v in values.values())
    assert all(np.array_equal(encoder[k], v.numpy()) for k, v in job.E.state_dict().items())   # frozen


def test_tiny_run_writes_the_class_grid(tmp_path):
    run = tmp_path / "r"
    assert _train(run, "--epochs", "3", "--independent-epochs", "1") == 0
    rows = _metrics(run)
    assert [r["step"] for r in rows] == list(range(1, 13)) and "e_loss" in rows[0] and "g_loss_1" in rows[-1]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["label_accuracy_digits"] == 20 and 0 <= summary["encoder_test_accuracy"] <= 1
    from PIL import Image
    assert Image.open(run / "samples" / "final.png").size == (2 * (10 * 30 + 2), 2 * (10 * 30 + 2))
    assert not (run / "samples" / "epoch_001.png").exists() and (run / "samples" / "epoch_002.png").is_file()


def test_resume_across_phase_boundaries_is_exact(tmp_path):
    """12 steps in one go == 3 (encoder), resume to 7 (independent), resume to 12 (joint)."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    flags = ("--epochs", "3", "--independent-epochs", "1")
    assert _train(straight, *flags) == 0
    assert _train(split, *flags, "--max-steps", "3") == 0
    for stop in ("7", "12"):
        assert train_main(["stackgan", "--resume", str(split), "--max-steps", stop, "--no-progress"]) == 0
    a, b = _metrics(straight), _metrics(split)
    assert [r["step"] for r in b] == list(range(1, 13))
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("time", "images_per_s")} for r in rows]  # noqa: E731
    assert strip(a) == strip(b)
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert ca.step == cb.step == 12 and set(ca.arrays) == set(cb.arrays)
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key


def test_sample_and_eval_read_its_checkpoints(tmp_path):
    from tinygan.trainers.samplers import load_sampler
    run = tmp_path / "r"
    assert _train(run, "--epochs", "2", "--independent-epochs", "0", "--max-steps", "5") == 0
    sample, meta, data = load_sampler(run)
    images = sample(12, 0)
    assert images.shape == (12, 1, 28, 28) and data == "mnist" and meta["model"] == "stackgan"
    assert np.array_equal(images, sample(12, 0))


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    assert _train(tmp_path / "a", "--epochs", "3", "--encoder-epochs", "2", "--independent-epochs", "2") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--independent-epochs 2 exceed --epochs 3" in err[0]
    with pytest.raises(SystemExit):
        train_main(["stackgan", "--lambda-ent", "-1"])
    assert "--lambda-ent must be >= 0" in capsys.readouterr().err
    assert _train(tmp_path / "r", "--max-steps", "1") == 0
    with pytest.raises(SystemExit):
        train_main(["stackgan", "--resume", str(tmp_path / "r"), "--h-dim", "16"])
    assert "--h-dim 16 (checkpoint: 8)" in capsys.readouterr().err
