"""``python -m tinygan.eval`` on gan runs (2-D and MNIST) and DCGAN checkpoints; the shipped LeNet."""
import json
import math

import numpy as np
import pytest

from tinygan import eval as tg_eval
from tinygan.metrics import lenet


@pytest.fixture(scope="module")
def mnist_test():
    from tinygan.data import load_mnist
    return load_mnist("test", verbose=False)


def test_shipped_lenet_loads_without_pickle_and_is_accurate(mnist_test):
    assert lenet.WEIGHTS.is_file() and lenet.WEIGHTS.stat().st_size < 1_000_000
    with np.load(lenet.WEIGHTS, allow_pickle=False) as f:
        meta = json.loads(str(f["__meta__"]))
        assert all(f[k].dtype == np.float32 for k in f.files if k != "__meta__")
    model = lenet.load_lenet()
    assert model.meta == meta and meta["test_accuracy"] >= 0.95
    from tinygan.data.mnist import load_subset
    sub = load_subset()
    assert lenet.accuracy(model, sub["test_images"], sub["test_labels"]) == pytest.approx(meta["test_accuracy"])
    probs = lenet.lenet_probs(mnist_test.images[:50])
    assert probs.shape == (50, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-9)
    assert lenet.lenet_features(mnist_test.images[:7]).shape == (7, 84)


def test_lenet_fid_of_a_set_with_itself_is_zero_and_real_digits_score_well(mnist_test):
    images = mnist_test.images
    assert lenet.lenet_fid(images, images) == pytest.approx(0.0, abs=1e-6)
    # uint8 and [-1, 1] float inputs are the same digits
    from tinygan.data import to_model_input
    np.testing.assert_allclose(lenet.lenet_features(images[:20]), lenet.lenet_features(to_model_input(images[:20])))
    is_mean, _ = lenet.lenet_inception_score(images)
    assert is_mean > 8.0                                    # confident and spread over ten digits
    modes = lenet.mode_histogram(images)
    assert modes["classes_present"] == 10 and modes["kl_to_uniform"] < 0.02
    assert lenet.confident_fraction(images) > 0.85          # real digits: most read at p >= 0.9
    blank = np.full((50, 784), -1.0, np.float32) + np.random.default_rng(1).uniform(0, 0.3, (50, 784)).astype(np.float32)
    probs = lenet.lenet_probs(images[:50])
    assert lenet.confident_fraction(images[:50]) == float((probs.max(1) >= 0.9).mean())
    assert lenet.confident_fraction(images[:50], threshold=0.0) == 1.0 > lenet.confident_fraction(blank, 0.999)
    noise = np.random.default_rng(0).uniform(-1, 1, (200, 784)).astype(np.float32)
    assert lenet.lenet_fid(noise, images) > 10 * lenet.lenet_fid(images[:250], images[250:])


def _tiny_gan(tmp_path, data, steps=30, **extra):
    from tinygan.trainers.gan import main
    out = tmp_path / f"gan-{data}"
    argv = ["--data", data, "--steps", str(steps), "--every", str(steps), "--g-hidden", "16",
            "--d-hidden", "16", "--batch-size", "32", "--out", str(out), "--no-progress"]
    for k, v in extra.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    assert main(argv) == 0
    return out


def test_eval_ring_run_writes_json_and_markdown(tmp_path):
    run = _tiny_gan(tmp_path, "ring")
    assert tg_eval.main([str(run), "--n", "300"]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["model"] == "gan" and result["data"] == "ring" and result["step"] == 30
    m = result["metrics"]
    assert set(m) >= {"coverage", "mmd2", "emd"}
    assert m["coverage"]["num_samples"] == 300 and m["coverage"]["num_modes"] == 8
    assert m["emd"] > 0 and set(m["mmd2"]) == {"median", "0.05", "0.2", "1.0"}
    md = (run / "eval.md").read_text()
    assert "| modes captured |" in md and "EMD" in md
    # a checkpoint file gives the same numbers as its run folder
    ckpt = next((run / "checkpoints").glob("step_*.json"))
    again = tg_eval.evaluate(ckpt, n=300)
    assert again["metrics"]["emd"] == pytest.approx(m["emd"])


def test_eval_of_an_older_checkpoint_keeps_the_final_report(tmp_path):
    run = _tiny_gan(tmp_path, "ring", every=15)
    ckpts = sorted((run / "checkpoints").glob("step_*.json"))
    assert len(ckpts) == 2
    assert tg_eval.main([str(run), "--n", "200"]) == 0
    final = (run / "eval.json").read_text()
    assert tg_eval.main([str(ckpts[0]), "--n", "200"]) == 0
    assert (run / "eval.json").read_text() == final
    older = json.loads((run / f"eval_{ckpts[0].stem}.json").read_text())
    assert older["step"] == 15 and (run / f"eval_{ckpts[0].stem}.md").is_file()


def test_eval_toy_metrics_rank_good_above_collapsed():
    from tinygan.data.toy import ring
    mix = ring()
    good = tg_eval.evaluate_toy(mix.sample(400, 1), mix)
    collapsed = tg_eval.evaluate_toy(np.tile(mix.means[:1], (400, 1)), mix)
    assert good["coverage"]["modes_captured"] == 8 and collapsed["coverage"]["modes_captured"] == 1
    # finite samples of one mixture differ by their mode counts: the EMD floor is ~0.2 at n = 400
    assert good["emd"] < 0.35 < 2.0 < collapsed["emd"]
    assert good["emd"] == pytest.approx(good["reference"]["emd"], rel=0.5)
    assert good["mmd2"]["median"] < 0.01 < collapsed["mmd2"]["median"]


def test_eval_mnist_gan_run(tmp_path):
    run = _tiny_gan(tmp_path, "mnist", steps=2, z_dim=8)
    assert tg_eval.main([str(run), "--n", "120", "--parzen-n", "200"]) == 0
    m = json.loads((run / "eval.json").read_text())["metrics"]
    assert m["lenet_fid"] > m["reference"]["lenet_fid"] >= 0
    assert 1.0 <= m["inception_score"] <= 10.0
    assert sum(m["modes"]["counts"]) == 120 and 0 <= m["modes"]["kl_to_uniform"] <= math.log(10) + 1e-9
    assert 0.0 <= m["lenet_confident"] < m["reference"]["lenet_confident"]     # two steps: not digits yet
    p = m["parzen"]
    assert p["num_samples"] == 200 and math.isfinite(p["mean"]) and p["stderr"] > 0
    assert "LeNet-FID" in (run / "eval.md").read_text()


def test_eval_reads_a_dcgan_checkpoint(tmp_path):
    pytest.importorskip("tinygan.models.dcgan")
    from tinygan.checkpoint import save_checkpoint
    from tinygan.models import dcgan
    from tinygan.random import Generator
    G = dcgan.Generator("tf", generator=Generator(0))
    save_checkpoint(tmp_path / "dcgan-x" / "checkpoints", 7, {"G": G},
                    meta={"config": {"arch": "tf", "z_dim": dcgan.Z_DIM, "batch_size": 64}})
    result = tg_eval.evaluate(tmp_path / "dcgan-x", n=64, parzen=False)
    assert result["model"] == "dcgan" and result["data"] == "mnist" and result["step"] == 7
    assert result["metrics"]["num_samples"] == 64 and result["metrics"]["lenet_fid"] > 0


def test_eval_errors_are_clear(tmp_path, capsys):
    assert tg_eval.main([str(tmp_path / "nothing")]) == 1
    assert "tinygan.eval" in capsys.readouterr().err
