"""InfoGAN's categorical code in the DCGAN (Chen et al. 2016): G reads the code from its own z,
D's Q head shares the trunk's pass, the step's cross-entropy, the flags and their errors, and
sample / resume on a run that has the code."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import Checkpoint
from tinygan.models import dcgan
from tinygan.sample import load_generator
from tinygan.train import main as train_main
from tinygan.trainers import dcgan_step
from tinygan.trainers.common import build_scheme
from tinygan.optim import Adam

TINY = ["--n-train", "16", "--batch-size", "4", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # the shipped subset


def _z(n=6, z_dim=100, seed=0):
    return np.random.default_rng(seed).standard_normal((n, z_dim)).astype(np.float32)


def test_the_code_is_the_argmax_of_zs_first_entries_and_replaces_them_by_its_one_hot():
    z = _z()
    codes = dcgan.code_of(tg.tensor(z), 10).numpy()
    np.testing.assert_array_equal(codes, z[:, :10].argmax(1))
    fed = dcgan.with_code(tg.tensor(z), 10).numpy()
    np.testing.assert_array_equal(fed[:, :10], np.eye(10, dtype=np.float32)[codes])
    np.testing.assert_array_equal(fed[:, 10:], z[:, 10:])
    counts = np.bincount(dcgan.code_of(tg.tensor(_z(20_000, seed=1)), 10).numpy(), minlength=10)
    assert counts.min() > 1_800 and counts.max() < 2_200          # uniform: 2,000 each, sd ~42


def test_generator_with_codes_is_the_plain_network_on_the_coded_z():
    G = dcgan.Generator("tf", generator=tg.Generator(0), codes=10)
    G.eval()
    z = tg.tensor(_z())
    with tg.no_grad():
        np.testing.assert_array_equal(G(z).numpy(), G.net(dcgan.with_code(z, 10)).numpy())
        moved = z.numpy().copy()                                  # other values, the same argmax:
        moved[:, :10] = np.where(moved[:, :10] == moved[:, :10].max(1, keepdims=True), 5.0, -5.0)
        np.testing.assert_allclose(G(tg.tensor(moved)).numpy(), G(z).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("arch", ["tf", "radford"])
def test_q_head_shares_the_trunk_and_leaves_ds_weights_as_without_it(arch):
    G0, D0 = dcgan.build(arch, generator=tg.Generator(0))
    G, D = dcgan.build(arch, generator=tg.Generator(0), codes=10)
    plain = dict(D0.named_parameters())
    for name, p in D.named_parameters():
        if not name.startswith("q."):
            np.testing.assert_array_equal(p.numpy(), plain[name].numpy())   # same init stream
    assert {n for n, _ in D.named_parameters()} - set(plain) == {"q.1.weight", "q.1.bias", "q.3.weight", "q.3.bias"}
    D.eval()
    x = tg.tensor(np.random.default_rng(2).uniform(-1, 1, (5, 1, 28, 28)).astype(np.float32))
    with tg.no_grad():
        logits, code_logits = D.forward_with_codes(x)
        np.testing.assert_array_equal(logits.numpy(), D(x).numpy())
        np.testing.assert_array_equal(code_logits.numpy(), D.q(D.features(x)).numpy())
    assert code_logits.shape == (5, 10)
    with pytest.raises(ValueError, match="codes"):
        D0.forward_with_codes(x)


def test_bad_code_sizes_and_packed_discriminators_are_refused():
    with pytest.raises(ValueError, match="codes"):
        dcgan.Generator("tf", codes=1)
    with pytest.raises(ValueError, match="codes"):
        dcgan.Generator("tf", codes=100)                          # z_dim 100: no noise left
    with pytest.raises(ValueError, match="pack"):
        dcgan.Discriminator("tf", codes=10, pack=2)


def test_the_steps_code_loss_is_the_cross_entropy_of_q_on_gs_samples():
    """D's first evaluation records CE(Q(G(z)), c), computed by hand here from the same networks
    (no dropout: the radford D), and the D loss holds lambda times it."""
    G, D = dcgan.build("radford", generator=tg.Generator(0), codes=10)
    real = tg.tensor(np.random.default_rng(3).uniform(-1, 1, (8, 1, 28, 28)).astype(np.float32))
    z = tg.tensor(_z(8))
    with tg.no_grad():
        x = G(z)
        logits, q = D.forward_with_codes(x)
        q = q.numpy().astype(np.float64)
        c = z.numpy()[:, :10].argmax(1)
        ce = np.mean(np.log(np.exp(q).sum(1)) - q[np.arange(8), c])
        real_logits = D(real).numpy().astype(np.float64).ravel()
        f = logits.numpy().astype(np.float64).ravel()
        bce = np.mean(np.log1p(np.exp(-real_logits))) + np.mean(np.log1p(np.exp(f)))
    scheme = build_scheme("alternating", Adam(G.parameters(), lr=1e-4), Adam(D.parameters(), lr=1e-4))
    out = dcgan_step.train_step(G, D, scheme, real, z, {"loss": "nonsaturating", "info_codes": 10,
                                                        "info_weight": 2.0})
    assert out["info_loss"] == pytest.approx(ce, rel=1e-4)
    assert out["d_loss"] == pytest.approx(bce + 2.0 * ce, rel=1e-4)


def test_default_run_has_the_code_and_records_its_loss_sample_and_resume(tmp_path):
    run = tmp_path / "r"
    assert train_main(["dcgan", *TINY, "--out", str(run), "--max-steps", "3"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert (config["info_codes"], config["info_weight"]) == (50, 5.0)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(0 < r["info_loss"] < 10 for r in rows)              # ~log 50 = 3.9 at the start
    D = dcgan.Discriminator("tf", minibatch=(50, 5), codes=50)
    Checkpoint(run).load_module("D", D)                            # Q's weights are saved with D
    from PIL import Image
    width = Image.open(run / "interpolation.png").size[0]           # 10 digits a row, as codes.png
    assert width == 2 * (10 * 30 + 2)                               # 28 px + 2 px gap a digit, x2
    assert Image.open(run / "samples" / "codes.png").size == (width, 2 * (50 * 30 + 2))   # 50 codes x 10 z
    G, _ = load_generator(run)
    assert G.codes == 50
    assert train_main(["dcgan", "--resume", str(run), "--max-steps", "4", "--no-progress"]) == 0


@pytest.mark.parametrize("flags, codes", [(["--no-info-codes"], None), (["--info-codes", "4"], 4),
                                          (["--arch", "radford"], None), (["--pack", "2"], None),
                                          (["--preset", "tf-tutorial"], None)])
def test_which_recipes_keep_the_code(tmp_path, flags, codes):
    run = tmp_path / "r"
    assert train_main(["dcgan", *TINY, "--out", str(run), "--max-steps", "1", *flags]) == 0
    assert json.loads((run / "config.json").read_text())["info_codes"] == codes


@pytest.mark.parametrize("flags, message", [
    (["--info-codes", "1"], "--info-codes 1"),
    (["--no-info-codes", "--info-weight", "3"], "--info-weight"),
    (["--info-codes", "10", "--pack", "2"], "--pack"),
    (["--info-weight", "-1"], "--info-weight"),
])
def test_bad_code_flags_are_one_line_errors(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exc:
        train_main(["dcgan", *TINY, "--out", str(tmp_path / "r"), "--max-steps", "1", *flags])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)
