"""DCGAN's ``--decay``: both learning rates constant, then linear to 0 over the last fraction of
the run (the schedule of the pix2pix authors' code), and a resume mid-schedule is exact."""
import json

import numpy as np
import pytest

from tinygan.checkpoint import Checkpoint
from tinygan.train import main as train_main

TINY = ["--n-train", "16", "--batch-size", "4", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))


def _lrs(run):
    return [json.loads(line)["lr"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_lr_falls_linearly_over_the_last_half_and_resumes_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    flags = ["--epochs", "2", "--decay", "0.5", "--lr", "0.001"]      # 8 steps: 4 constant, 4 falling
    assert train_main(["dcgan", *TINY, "--out", str(straight), *flags]) == 0
    assert train_main(["dcgan", *TINY, "--out", str(split), *flags, "--max-steps", "5"]) == 0
    assert train_main(["dcgan", "--resume", str(split), "--no-progress"]) == 0
    np.testing.assert_allclose(_lrs(straight), [1e-3] * 5 + [7.5e-4, 5e-4, 2.5e-4], rtol=1e-12)
    assert _lrs(split) == _lrs(straight)
    a, b = Checkpoint(straight), Checkpoint(split)
    for key in a.arrays:
        assert np.array_equal(a.arrays[key], b.arrays[key]), key


def test_decay_is_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_main(["dcgan", *TINY, "--out", str(tmp_path / "r"), "--decay", "2"])
    assert "--decay: must be a number in [0, 1], got '2'" in capsys.readouterr().err
