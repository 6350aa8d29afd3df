"""Semi-supervised GAN (`train sgan`): shapes, the C+1 loss against a hand computation (values,
and gradients against PyTorch's), the stratified labelled set, a proof that training reads
exactly n labels, tiny SGAN and baseline runs, exact resume, and one-line errors.
Runs use ``--n-train 40 --batch-size 8`` (5 steps per epoch)."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import Checkpoint
from tinygan.models import sgan
from tinygan.nn import gan_loss
from tinygan.train import main as train_main
from tinygan.trainers import labelled as labelled_data
from tinygan.trainers import sgan as trainer

TINY = ["--n-train", "40", "--batch-size", "8", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # the shipped subset


def _train(out, *flags):
    return train_main(["sgan", *TINY, "--out", str(out), *flags])


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_shapes():
    g = tg.Generator(0)
    D, C, G = sgan.SGANDiscriminator(generator=g), sgan.Classifier(generator=g), sgan.Generator(generator=g)
    x = G(tg.randn(3, 100, generator=g))
    assert x.shape == (3, 1, 28, 28)
    assert D(x).shape == (3, 11) and D.features(x).shape == (3, sgan.FEATURES)
    assert D.classify(x).shape == (3, 10) and C(x).shape == (3, 10)
    assert [p.shape for p in D.trunk.parameters()] == [p.shape for p in C.trunk.parameters()]
    with pytest.raises(ValueError, match=r"sgan trunk: expected images of shape \(N, 1, 28, 28\)"):
        D(tg.randn(3, 784))


def test_gaussian_noise_adds_n01_times_std_in_training_only():
    x = tg.tensor(np.zeros((400, 50)), requires_grad=True)
    noise = tg.nn.GaussianNoise(0.5, generator=tg.Generator(2))
    y = noise(x)
    assert y.dtype == x.dtype and abs(float(y.data.std()) - 0.5) < 0.01 and abs(float(y.data.mean())) < 0.01
    y.sum().backward()                                   # the noise is a constant: VJP = identity
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((400, 50)))
    assert noise.eval()(x) is x and tg.nn.GaussianNoise(0.0)(x) is x
    again = tg.nn.GaussianNoise(0.5, generator=tg.Generator(2))(x)
    np.testing.assert_array_equal(again.data, y.data)   # a seed fixes the noise
    with pytest.raises(ValueError, match="GaussianNoise: std must be >= 0"):
        tg.nn.GaussianNoise(-1.0)


def _softmax(l):
    e = np.exp(l - l.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_c_plus_1_loss_against_a_hand_computation():
    """p = softmax over the 11 outputs; L_sup = -log p(y) / (1 - p(fake)), L_unsup = -log(1 -
    p(fake | x)) - log p(fake | G(z)), each a batch mean: computed from probabilities here."""
    rng = np.random.default_rng(0)
    lab, unl, fake = (rng.standard_normal((n, 11)) * 3 for n in (4, 6, 5))
    y = rng.integers(0, 10, 4)
    total, sup, unsup = sgan.d_loss(tg.tensor(lab), tg.tensor(y), tg.tensor(unl), tg.tensor(fake))
    p_lab, p_unl, p_fake = _softmax(lab), _softmax(unl), _softmax(fake)
    hand_sup = np.mean(-np.log(p_lab[np.arange(4), y] / (1 - p_lab[:, 10])))
    hand_unsup = np.mean(-np.log(1 - p_unl[:, 10])) + np.mean(-np.log(p_fake[:, 10]))
    np.testing.assert_allclose([sup.item(), unsup.item(), total.item()],
                               [hand_sup, hand_unsup, hand_sup + hand_unsup], rtol=1e-12)
    fm = gan_loss.feature_matching_loss(tg.tensor(unl), tg.tensor(fake))
    assert np.isclose(fm.item(), np.sum((unl.mean(0) - fake.mean(0)) ** 2))
    assert np.isclose(sgan.g_loss_nonsaturating(tg.tensor(fake)).item(), np.mean(-np.log(1 - p_fake[:, 10])))


def test_c_plus_1_loss_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 11)) for n in (4, 6, 5)]
    y = rng.integers(0, 10, 4)
    ours = [tg.tensor(a, requires_grad=True) for a in arrays]
    total, _, _ = sgan.d_loss(ours[0], tg.tensor(y), ours[1], ours[2])
    total.backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    F = torch.nn.functional
    l, u, f = theirs
    sup = F.cross_entropy(l[:, :10], torch.tensor(y))
    s_u = torch.logsumexp(u[:, :10], 1) - u[:, 10]
    s_f = torch.logsumexp(f[:, :10], 1) - f[:, 10]
    ref = sup + F.softplus(-s_u).mean() + F.softplus(s_f).mean()
    ref.backward()
    assert np.isclose(total.item(), ref.item(), rtol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n", [25, 50, 100, 1000])
def test_stratified_labelled_set_has_exactly_n(n):
    labels = np.repeat(np.arange(10), 450)
    idx = sgan.stratified_indices(labels, n, tg.Generator(3))
    assert len(idx) == n == len(np.unique(idx))
    counts = np.bincount(labels[idx], minlength=10)
    assert counts.sum() == n and counts.min() == n // 10 and counts.max() == -(-n // 10)
    assert np.array_equal(idx, sgan.stratified_indices(labels, n, tg.Generator(3)))
    assert not np.array_equal(idx, sgan.stratified_indices(labels, n, tg.Generator(4)))


def test_stratified_refuses_impossible_sizes():
    labels = np.repeat(np.arange(10), 3)
    with pytest.raises(ValueError, match="--labels 5: need between 10 and 30"):
        sgan.stratified_indices(labels, 5, tg.Generator(0))
    with pytest.raises(ValueError, match="only 3 of some class"):
        sgan.stratified_indices(np.r_[labels, np.zeros(20, int)], 50, tg.Generator(0))


def test_training_reads_exactly_the_n_chosen_labels(tmp_path, monkeypatch):
    """The same 20 labelled digits; every other training label scrambled: the run is bit for bit
    the same, so no label outside the chosen n reaches the model. The job holds n labels only."""
    fixed = np.arange(0, 40, 2)                                    # 20 digits, chosen in advance
    monkeypatch.setattr(sgan, "stratified_indices", lambda labels, n, gen, *a: fixed[:n])
    real_load = labelled_data.load_mnist

    def scrambled(split, **kw):
        data = real_load(split, **kw)
        if split == "train":
            labels = data.labels.copy()
            others = np.setdiff1d(np.arange(len(labels)), fixed)
            labels[others] = (labels[others] + 1 + np.arange(len(others)) % 9) % 10  # all changed
            data = type(data)(data.images, labels, data.source)
        return data

    assert _train(tmp_path / "a", "--labels", "20", "--max-steps", "2") == 0
    monkeypatch.setattr(labelled_data, "load_mnist", scrambled)
    assert _train(tmp_path / "b", "--labels", "20", "--max-steps", "2") == 0
    a, b = Checkpoint(tmp_path / "a"), Checkpoint(tmp_path / "b")
    for key in a.arrays:
        assert np.array_equal(a.arrays[key], b.arrays[key]), key
    assert [r["d_loss"] for r in _metrics(tmp_path / "a")] == [r["d_loss"] for r in _metrics(tmp_path / "b")]
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["labelled"]["n"] == 20


def test_the_job_keeps_n_labels_and_every_image(tmp_path):
    args = type("Args", (), {"device": "cpu", "data_dir": None})()
    config = {**trainer.DEFAULTS, "labels": 25, "n_train": 100, "batch_size": 8}   # no training
    job = trainer.SGANJob(config, args)
    assert job.labelled_labels.shape == (25,) and job.labelled_images.shape == (25, 28, 28)
    assert len(job.images) == 100 and job.labels_record["per_class"] == np.bincount(job.labelled_labels, minlength=10).tolist()
    held = {k: v for k, v in vars(job).items()
            if isinstance(v, np.ndarray) and v.dtype.kind in "iu" and v.ndim == 1 and len(v) != 25}
    assert list(held) == ["test_labels"] and len(held["test_labels"]) == 500   # scoring only
    base = trainer.SGANJob({**config, "baseline": True}, args)     # the baseline: the same digits
    assert np.array_equal(base.labelled_index, job.labelled_index)


@pytest.mark.parametrize("flags", [[], ["--baseline"], ["--g-loss", "nonsaturating", "--max-steps", "2"]])
def test_tiny_runs(tmp_path, flags):
    run = tmp_path / "r"
    assert _train(run, "--labels", "10", "--epochs", "1", *flags) == 0
    rows = _metrics(run)
    assert len(rows) == (2 if "--max-steps" in flags else 5)
    summary = json.loads((run / "summary.json").read_text())
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and summary["n_test"] == 500
    key = "c_loss" if flags == ["--baseline"] else "d_loss"
    assert all(np.isfinite(r[key]) for r in rows)
    assert (run / "samples" / "final.png").is_file() == (flags != ["--baseline"])


def test_resume_is_exact(tmp_path):
    """With the learning-rate decay on (its step count is part of the saved state)."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(straight, "--labels", "10", "--max-steps", "4", "--epochs", "1", "--decay", "0.6") == 0
    assert _train(split, "--labels", "10", "--max-steps", "2", "--epochs", "1", "--decay", "0.6") == 0
    assert train_main(["sgan", "--resume", str(split), "--max-steps", "4", "--no-progress"]) == 0
    a, b = _metrics(straight), _metrics(split)
    assert [r["step"] for r in b] == list(range(1, 5))
    keys = ("d_loss", "g_loss", "sup_loss")
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    ca, cb = Checkpoint(straight), Checkpoint(split)
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key


@pytest.mark.parametrize("baseline", [False, True])
def test_ema_scores_the_averaged_classifier(tmp_path, baseline):
    """--ema averages the scored network too (D, or C in --baseline): the checkpoint holds it,
    resume continues it bit for bit, and the summary's test accuracy is the average's."""
    flags = ["--labels", "10", "--epochs", "1", "--ema", "0.5", *(["--baseline"] if baseline else [])]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(straight, *flags) == 0
    assert _train(split, *flags, "--max-steps", "3") == 0
    assert train_main(["sgan", "--resume", str(split), "--no-progress"]) == 0
    name = "C" if baseline else "D"
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert f"{name}_ema" in ca.meta["modules"] and set(ca.arrays) == set(cb.arrays)
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key
    config = ca.meta["config"]
    net, raw = ((sgan.Classifier if baseline else sgan.SGANDiscriminator)(noise=tuple(config["noise"]))
                for _ in range(2))
    ca.load_module(f"{name}_ema", net)
    ca.load_module(name, raw)
    assert any(not np.array_equal(p.numpy(), r.numpy()) for p, r in zip(net.parameters(), raw.parameters()))
    test_images, test_labels = labelled_data.load_test_digits(None)
    summary = json.loads((straight / "summary.json").read_text())
    assert summary["test_accuracy"] == trainer.test_accuracy(net, test_images, test_labels)


def test_sampler_and_one_line_errors(tmp_path, capsys):
    assert _train(tmp_path / "g", "--labels", "10", "--max-steps", "1") == 0
    sample, meta, _ = trainer.load_sampler(tmp_path / "g")
    assert sample(3, 0).shape == (3, 1, 28, 28) and meta["model"] == "sgan"
    assert _train(tmp_path / "b", "--labels", "10", "--max-steps", "1", "--baseline") == 0
    with pytest.raises(Exception, match="CNN baseline"):
        trainer.load_sampler(tmp_path / "b")
    assert _train(tmp_path / "x", "--labels", "5") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--labels 5" in err[-1]
    with pytest.raises(SystemExit):
        train_main(["sgan", "--labels", "0"])
    assert "--labels" in capsys.readouterr().err
