"""`train dann` and `train fair` on the shared loop: exact resume, one-line errors; and the fair
game's adversary loses its grip on the sensitive attribute as its weight grows."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import Checkpoint
from tinygan.data.fair_tabular import demographic_parity_gap, make_fair_task
from tinygan.models.fair import FairNet
from tinygan.optim import Adam
from tinygan.optim.minimax import AlternatingMultiAscent
from tinygan.trainers import dann, loop
from tinygan.trainers.dann import DANNJob
from tinygan.trainers.fair import FairJob

DANN_SMALL = ["--steps", 5, "--batch-size", 8, "--n-train", 24, "--domain-hidden", 8, "--keep", 5]
FAIR_SMALL = ["--steps", 7, "--batch-size", 16, "--n-train", 48, "--n-test", 40, "--probe-steps", 3,
              "--hidden", 8, "--rep", 4, "--n-dis", 2]


def _run(job, *argv):
    return loop.main(job, [*map(str, argv), "--no-progress"])


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _same_runs(a, b, keys):
    ma, mb = _metrics(a), _metrics(b)
    assert [[m[k] for k in keys] for m in ma] == [[m[k] for k in keys] for m in mb]
    ca, cb = Checkpoint(a), Checkpoint(b)
    assert ca.step == cb.step
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key


@pytest.mark.parametrize("job, argv, keys", [
    (DANNJob, [*DANN_SMALL, "--ema", 0], ["label_loss", "domain_loss", "lambda", "lr"]),
    (DANNJob, DANN_SMALL, ["label_loss", "domain_loss", "lambda", "lr"]),
    (FairJob, FAIR_SMALL, ["task_loss", "adv_loss", "adv_acc"]),
])
def test_resume_equals_an_uninterrupted_run(tmp_path, job, argv, keys):
    if job is DANNJob:
        pytest.importorskip("sklearn")
    straight, split = tmp_path / "a", tmp_path / "b"
    assert _run(job, *argv, "--out", straight) == 0
    assert _run(job, *argv, "--out", split, "--max-steps", 4) == 0        # across an epoch's end
    assert json.loads((split / "summary.json").read_text())["status"] == "stopped"
    assert _run(job, "--resume", split) == 0
    _same_runs(straight, split, keys)
    summary = json.loads((straight / "summary.json").read_text())
    extra = ("target_acc", "source_test_acc") if job is DANNJob else ("test_acc", "dp_gap", "probe_acc")
    assert all(0.0 <= summary[k] <= 1.0 for k in extra)


def test_dann_ema_scores_and_loads_the_average(tmp_path):
    """Under --ema the summary's accuracies are the moving average's, and load_model returns it."""
    pytest.importorskip("sklearn")
    run = tmp_path / "r"
    assert _run(DANNJob, *DANN_SMALL, "--ema", 0.5, "--out", run) == 0
    ckpt = Checkpoint(run)
    assert {"DANN", "DANN_ema"} <= set(ckpt.meta["modules"])
    averaged, _ = dann.load_model(run)
    raw = dann.build(ckpt.meta["config"])
    ckpt.load_module("DANN", raw)
    assert any(not np.array_equal(p.numpy(), q.numpy())
               for p, q in zip(averaged.parameters(), raw.parameters()))
    data = dann.load_domains(ckpt.meta["config"], verbose=False)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["target_acc"] == dann.accuracy(averaged, data["target"], data["target_labels"])


def test_bad_flags_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _run(DANNJob, "--domain-hidden", "10,x", "--out", tmp_path / "r")
    assert "--domain-hidden: expected comma-separated widths like 1024,1024, got '10,x'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _run(FairJob, "--adv-weight", "-1", "--out", tmp_path / "r")
    assert "--adv-weight: must be >= 0, got -1" in capsys.readouterr().err
    assert _run(FairJob, "--batch-size", 100, "--n-train", 50, "--out", tmp_path / "r") == 1
    assert "--batch-size 100 is larger than the 50 training rows" in capsys.readouterr().err
    fair = tmp_path / "fair"
    assert _run(FairJob, *FAIR_SMALL, "--out", fair) == 0
    assert _run(DANNJob, "--resume", fair) == 1
    assert "is not a checkpoint of `train dann`" in capsys.readouterr().err


def _train_fair(alpha, steps=300):
    x, y, a = make_fair_task(1024, 0)
    xt, yt, at = make_fair_task(1024, 1)
    g = tg.Generator(5)
    net = FairNet(x.shape[1], hidden=(32,), rep=8, adv_hidden=(32,), generator=g)
    scheme = AlternatingMultiAscent(Adam(net.min_parameters(), lr=3e-3),
                                    Adam(net.max_parameters(), lr=3e-3), n_dis=3)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        i = rng.integers(0, len(x), 128)
        mn, mx, _ = net.player_losses(tg.tensor(x[i]), tg.tensor(y[i] * 1.0, dtype="float32"),
                                      tg.tensor(a[i] * 1.0, dtype="float32"), alpha)
        scheme.step(mn, mx)
    with tg.no_grad():
        h = net.represent(tg.tensor(xt))
        a_hat = (net.adversary(h).numpy()[:, 0] > 0)
        y_hat = (net.head(h).numpy()[:, 0] > 0).astype(int)
    return float((a_hat == at).mean()), demographic_parity_gap(y_hat, at)


def test_the_adversary_falls_toward_chance_as_its_weight_grows():
    accs, gaps = zip(*[_train_fair(alpha) for alpha in (0.0, 1.0, 4.0)])
    assert accs[0] > 0.8                     # unconstrained: a is plain to see in the features
    assert accs[0] > accs[1] > accs[2] and accs[2] < 0.7, accs
    assert gaps[0] > 0.3 and gaps[2] < gaps[0] / 2, gaps
