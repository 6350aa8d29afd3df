"""DiffAugment (translation, cutout) as a gather linear operator, and the DCGAN's ``--diffaugment``
and ``--pack``: values against a hand-shifted array, the VJP against finite differences (float64),
the adjoint identity, the packed discriminator's shapes, the flags' errors, and an exact resume."""
import numpy as np
import pytest

from tinygan import linops, tensor
from tinygan.checkpoint import Checkpoint
from tinygan.models import dcgan
from tinygan.nn import DiffAugment, diff_augment
from tinygan.nn.augment import augment_index, parse_policy
from tinygan.random import Generator
from tinygan.testing import check_vjp, dottest
from tinygan.train import main as train_main

TINY = ["--n-train", "16", "--batch-size", "4", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))


def _shift(img, ty, tx, fill):
    """out[i, j] = img[i + ty, j + tx], ``fill`` where that lies outside: the definition by hand."""
    h, w = img.shape
    out = np.full_like(img, fill)
    for i in range(h):
        for j in range(w):
            if 0 <= i + ty < h and 0 <= j + tx < w:
                out[i, j] = img[i + ty, j + tx]
    return out


def test_translation_is_a_shift_with_the_background_filled_in():
    x = np.random.default_rng(0).uniform(-1, 1, (6, 2, 8, 8))
    y = diff_augment(tensor(x), "translation", Generator(3)).numpy()
    shifts = set()
    for n in range(6):
        # recover the shift from the image, then check every pixel of both channels against it
        found = [(ty, tx) for ty in range(-1, 2) for tx in range(-1, 2)
                 if np.array_equal(y[n], np.stack([_shift(x[n, c], ty, tx, -1.0) for c in range(2)]))]
        assert len(found) == 1, n
        shifts.add(found[0])
    assert len(shifts) > 1                    # the draws differ between images


def test_translation_range_is_an_eighth_of_the_side():
    index, keep = augment_index((4000, 1, 28, 28), ("translation",), Generator(0))
    # the shift of image n is where pixel (14, 14) reads from, minus (14, 14)
    src = index[:, 0, 14, 14]
    ty, tx = src // 28 - 14, src % 28 - 14
    assert ty.min() == -4 and ty.max() == 4 and tx.min() == -4 and tx.max() == 4
    assert keep[:, 0, 14, 14].all()


def test_cutout_blanks_one_square_of_half_the_side_clipped_at_the_border():
    x = np.full((300, 1, 28, 28), 0.5)
    y = diff_augment(tensor(x), "cutout", Generator(1)).numpy()
    blank = y[:, 0] == -1.0
    assert set(np.unique(y)) == {-1.0, 0.5}
    for n in range(300):
        rows, cols = np.flatnonzero(blank[n].any(1)), np.flatnonzero(blank[n].any(0))
        assert blank[n].sum() == rows.size * cols.size             # a rectangle
        assert 1 <= rows.size <= 14 and 1 <= cols.size <= 14
    assert (blank.sum((1, 2)) == 196).mean() > 0.2                   # often the whole 14 x 14 square


def test_eval_mode_is_the_identity_and_training_mode_draws():
    x = tensor(np.random.default_rng(0).uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32))
    aug = DiffAugment("translation,cutout", generator=Generator(0))
    assert not np.array_equal(aug(x).numpy(), x.numpy())
    aug.eval()
    assert aug(x) is x


def test_vjp_and_adjoint_in_float64():
    x = np.random.default_rng(1).normal(size=(3, 2, 10, 10))
    check_vjp(lambda t: diff_augment(t, "translation,cutout", Generator(5), fill=-1.0), x)
    index, keep = augment_index(x.shape, ("translation", "cutout"), Generator(5))
    dottest(linops.PlaneGather(x.shape, index, keep))


def test_policy_parsing():
    assert parse_policy("cutout, translation") == ("translation", "cutout")
    for bad in ("", "color", "translation,translation"):
        with pytest.raises(ValueError, match="augmentation policy"):
            parse_policy(bad)


def test_packed_discriminator_judges_pairs():
    for arch in dcgan.ARCHS:
        D = dcgan.Discriminator(arch, generator=Generator(0), dropout_generator=Generator(1), pack=2)
        x = tensor(np.zeros((6, 1, 28, 28), np.float32))
        assert D(x).shape == (3, 1)
        assert D.net[0].weight.shape[1] == 2
        with pytest.raises(ValueError, match="multiple of 2"):
            D(tensor(np.zeros((5, 1, 28, 28), np.float32)))


def test_flag_errors(tmp_path, capsys):
    for flags, message in ((["--pack", "3"], "--pack 3 needs a --batch-size that is a multiple of it"),
                           (["--pack", "2", "--loss", "wgan-gp"], "--pack with --loss wgan-gp"),
                           (["--diffaugment", "flip"], "argument --diffaugment: augmentation policy 'flip'")):
        with pytest.raises(SystemExit):
            train_main(["dcgan", *TINY, "--out", str(tmp_path / "r"), *flags])
        assert message in capsys.readouterr().err
        assert not (tmp_path / "r").exists()


def test_augmented_packed_run_resumes_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    flags = ["--epochs", "2", "--diffaugment", "translation,cutout", "--pack", "2"]
    assert train_main(["dcgan", *TINY, "--out", str(straight), *flags]) == 0
    assert train_main(["dcgan", *TINY, "--out", str(split), *flags, "--max-steps", "5"]) == 0
    assert train_main(["dcgan", "--resume", str(split), "--no-progress"]) == 0
    a, b = Checkpoint(straight), Checkpoint(split)
    assert a.meta["config"]["diffaugment"] == "translation,cutout" and a.meta["config"]["pack"] == 2
    for key in a.arrays:
        assert np.array_equal(a.arrays[key], b.arrays[key]), key
