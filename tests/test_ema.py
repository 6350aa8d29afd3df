"""The moving average of G's weights (``--ema DECAY``): the update rule by hand, exact resume,
and that grids, ``tinygan.sample`` and ``tinygan.eval`` draw with the average.
Runs use ``--n-train 16 --batch-size 4`` (4 steps per epoch), as test_dcgan's."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import Checkpoint
from tinygan.optim.ema import EMA
from tinygan.sample import load_generator
from tinygan.train import main as train_main
from tinygan.trainers.dcgan_loop import DCGANJob
from tinygan.trainers.common import UsageError
from tinygan.trainers.loop import make_parser
from tinygan.trainers.resume import resolve_config
from tinygan.trainers.samplers import load_sampler

TINY = ["--n-train", "16", "--batch-size", "4", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # the shipped subset


def _train(model, out, *flags):
    return train_main([model, *TINY, "--out", str(out), *flags])


def _net():
    tg.manual_seed(0)
    return tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.BatchNorm1d(4))


def test_update_rule_by_hand():
    """theta_ema <- d theta_ema + (1 - d) theta, twice; buffers copied, not averaged."""
    net, d = _net(), 0.9
    ema = EMA(net, d)
    w0 = net[0].weight.numpy().copy()
    assert np.array_equal(ema.module[0].weight.numpy(), w0)
    assert ema.module[0].weight is not net[0].weight and not ema.module[0].weight.requires_grad
    w1, w2 = w0 + 1.0, w0 - 3.0
    expected = w0
    for w in (w1, w2):
        net[0].weight.data[...] = w
        net(tg.randn(5, 3))                                  # training mode: running stats move
        ema.update()
        expected = d * expected + (1 - d) * w
    np.testing.assert_allclose(ema.module[0].weight.numpy(), expected, rtol=1e-6)
    assert np.array_equal(ema.module[1].running_mean.numpy(), net[1].running_mean.numpy())
    assert int(ema.module[1].num_batches_tracked.item()) == 2
    with pytest.raises(ValueError, match="decay must lie in"):
        EMA(net, 1.0)


def test_dcgan_resume_with_ema_is_exact(tmp_path):
    """6 steps in one go == 3, resume, 3 more: G_ema too, bit for bit; G_ema differs from G."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train("dcgan", straight, "--ema", "0.9", "--max-steps", "6") == 0
    assert _train("dcgan", split, "--ema", "0.9", "--max-steps", "3") == 0
    assert train_main(["dcgan", "--resume", str(split), "--max-steps", "6", "--no-progress"]) == 0
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert ca.meta["modules"] == ["D", "G", "G_ema"] and set(ca.arrays) == set(cb.arrays)
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key
    assert not np.array_equal(ca.arrays["G/net.0.weight"], ca.arrays["G_ema/net.0.weight"])
    assert json.loads((straight / "config.json").read_text())["ema"] == 0.9


def test_sample_and_eval_draw_with_the_average(tmp_path):
    run = tmp_path / "r"
    assert _train("dcgan", run, "--ema", "0.5", "--max-steps", "2") == 0
    G, ckpt = load_generator(run)
    assert np.array_equal(G.net[0].weight.numpy(), ckpt.arrays["G_ema/net.0.weight"])
    assert (run / "samples" / "final.png").is_file()
    plain = tmp_path / "plain"                                # no --ema: G itself, no G_ema
    assert _train("dcgan", plain, "--ema", "0", "--max-steps", "1") == 0
    G, ckpt = load_generator(plain)
    assert "G_ema" not in ckpt.meta["modules"]
    assert np.array_equal(G.net[0].weight.numpy(), ckpt.arrays["G/net.0.weight"])


def test_cgan_takes_ema_too(tmp_path):
    run = tmp_path / "c"
    assert _train("cgan", run, "--ema", "0.5", "--max-steps", "2") == 0
    ckpt = Checkpoint(run)
    assert "G_ema" in ckpt.meta["modules"]
    sample, meta, data = load_sampler(run)
    assert data == "mnist" and sample(3, 0).shape == (3, 1, 28, 28)


def test_bad_decay_and_changed_decay_on_resume(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _train("dcgan", tmp_path / "x", "--ema", "1")
    assert "--ema: must be a number in [0, 1), got '1'" in capsys.readouterr().err
    assert _train("dcgan", tmp_path / "r", "--ema", "0.9", "--max-steps", "1") == 0
    with pytest.raises(SystemExit):
        train_main(["dcgan", "--resume", str(tmp_path / "r"), "--ema", "0.99"])
    assert "--ema 0.99 (checkpoint: 0.9)" in capsys.readouterr().err


def test_a_checkpoint_from_before_ema_resumes_without_it():
    """An older run's config has no "ema" key: it resumes with the average off."""
    saved = {k: v for k, v in DCGANJob.DEFAULTS.items() if k != "ema"}
    config = resolve_config(DCGANJob, make_parser(DCGANJob).parse_args([]), saved)
    assert config["ema"] == 0.0
    with pytest.raises(UsageError, match="--ema 0.9 \\(checkpoint: 0.0\\)"):
        resolve_config(DCGANJob, make_parser(DCGANJob).parse_args(["--ema", "0.9"]), saved)
