"""LAPGAN (`train lapgan`): the Laplacian pyramid as linear operators (dottest, exact
reconstruction in float64, the levels by hand), the networks' shapes and errors, one training
step, exact resume, sample / eval on its checkpoints and one-line errors. Runs use
``--n-train 16 --batch-size 4 --width 8`` (4 steps / epoch)."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import Checkpoint
from tinygan.linops import AvgPool, Interpolate, LaplacianPyramid
from tinygan.linops.pyramid import down_operator, pyramid_shapes, up_operator
from tinygan.models import lapgan
from tinygan.testing import dottest
from tinygan.train import main as train_main
from tinygan.trainers import lapgan as trainer

TINY = ["--n-train", "16", "--batch-size", "4", "--width", "8", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # the shipped subset


def _train(out, *flags):
    return train_main(["lapgan", *TINY, "--out", str(out), *flags])


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# ----- the pyramid -------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, levels", [((2, 1, 28, 28), 3), ((3, 2, 8, 12), 2), ((1, 1, 4, 4), 1)])
def test_pyramid_operators_pass_dottest(shape, levels):
    A = LaplacianPyramid(shape, levels)
    for op in (A, A.synthesis, A.T, A.synthesis.T, down_operator(shape), up_operator(shape)):
        dottest(op, rng=np.random.default_rng(1))
        dottest(op, dtype=np.float32, rng=np.random.default_rng(2))


def test_pyramid_reconstructs_exactly_in_float64():
    A = LaplacianPyramid((4, 1, 28, 28), 3)
    x = np.random.default_rng(0).standard_normal(A.in_shape)
    np.testing.assert_allclose(A.synthesis.apply(A.apply(x)), x, rtol=0, atol=1e-14)
    one = LaplacianPyramid((1, 1, 28, 28), 3)
    S, D = one.synthesis.to_dense(), one.to_dense()                 # S A = I as matrices
    np.testing.assert_allclose(S @ D, np.eye(D.shape[1]), rtol=0, atol=1e-14)
    P = D @ S                                                       # A S: a projection, not I
    np.testing.assert_allclose(P @ P, P, atol=1e-13)
    assert np.linalg.matrix_rank(P) == 28 * 28 < P.shape[0]
    assert A.out_shape == (4, 1, 28 * 28 + 14 * 14 + 7 * 7)


def test_pyramid_levels_by_hand():
    """h_k = I_k - u I_{k+1}, I_{k+1} = 2x2 means, u = torch's bilinear x2 (as an Interpolate)."""
    x = np.random.default_rng(3).standard_normal((2, 1, 28, 28))
    h0, h1, coarse = LaplacianPyramid(x.shape, 3).split(LaplacianPyramid(x.shape, 3).apply(x))
    i1 = x.reshape(2, 1, 14, 2, 14, 2).mean(axis=(3, 5))
    i2 = i1.reshape(2, 1, 7, 2, 7, 2).mean(axis=(3, 5))
    up = lambda a: Interpolate(a.shape, (2 * a.shape[2],) * 2, "bilinear").apply(a)  # noqa: E731
    np.testing.assert_allclose(coarse, i2, atol=1e-14)
    np.testing.assert_allclose(h1, i1 - up(i2), atol=1e-14)
    np.testing.assert_allclose(h0, x - up(i1), atol=1e-14)
    assert isinstance(down_operator(x.shape), AvgPool) and pyramid_shapes(28, 3) == [28, 14, 7]


def test_pyramid_upsampling_agrees_with_torch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(4).standard_normal((2, 1, 7, 7))
    expected = torch.nn.functional.interpolate(torch.tensor(a), scale_factor=2, mode="bilinear",
                                               align_corners=False).numpy()
    np.testing.assert_allclose(up_operator(a.shape).apply(a), expected, atol=1e-12)


def test_pyramid_bad_shapes_are_one_line_errors():
    with pytest.raises(ValueError, match=r"H and W even, got \(1,1,7,7\)"):
        LaplacianPyramid((1, 1, 7, 7), 2)
    with pytest.raises(ValueError, match="cannot be halved 3 times"):
        pyramid_shapes(28, 4)


# ----- the networks ------------------------------------------------------------------------------
def test_shapes_and_the_pyramid_sum():
    G, D = lapgan.build(width=8, generator=tg.Generator(0))
    zs = [tg.tensor(z) for z in trainer.noise(tg.Generator(1), G, 3)]
    images = G(*zs)
    assert [tuple(i.shape) for i in images] == [(3, 1, 7, 7), (3, 1, 14, 14), (3, 1, 28, 28)]
    coarse = images[0].numpy()
    residual = G.residuals[0](lapgan.upsample(images[0]), zs[1]).numpy()
    np.testing.assert_allclose(images[1].numpy(), up_operator(coarse.shape, np.float32).apply(coarse)
                               + residual, atol=1e-6)        # I~_1 = u I~_2 + G_14(u I~_2, z_14)
    assert D.coarse(images[0]).shape == (3, 1)
    low = lapgan.upsample(images[1])
    assert D.residuals[1](low, images[2] - low).shape == (3, 1)


def test_drawing_leaves_the_batchnorm_statistics_alone():
    G, _ = lapgan.build(width=8, generator=tg.Generator(0))
    G.eval()
    before = [b.numpy().copy() for b in G.buffers()]
    assert before                                   # G_7's BatchNorm running statistics
    levels = trainer.generate_levels(G, trainer.noise(tg.Generator(1), G, 5))
    assert [v.shape[-1] for v in levels] == [7, 14, 28] and not G.training
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(before, G.buffers()))


def test_bad_network_inputs_are_one_line_errors():
    G, D = lapgan.build(width=8, generator=tg.Generator(0))
    with pytest.raises(ValueError, match=r"lapgan G: expected 3 noise tensors"):
        G(tg.randn(2, 100))
    with pytest.raises(ValueError, match=r"lapgan D_14 residual: expected input of shape \(N, 1, 14, 14\)"):
        D.residuals[0](tg.randn(2, 1, 14, 14), tg.randn(2, 1, 28, 28))


def test_one_step_moves_every_level():
    run_args = type("A", (), {"device": "cpu", "data_dir": None})()
    config = {**trainer.DEFAULTS, "batch_size": 4, "n_train": 8, "width": 8}
    job = trainer.LAPGANJob(config, run_args)
    before = {k: v.numpy().copy() for k, v in job.G.state_dict().items()}
    values = job.step()
    assert set(values) == set(job.LOSS_KEYS) and all(np.isfinite(v) for v in values.values())
    after = {k: v.numpy() for k, v in job.G.state_dict().items()}
    for prefix in ("coarse.", "residuals.0.", "residuals.1."):
        assert any(not np.array_equal(before[k], after[k]) for k in before if k.startswith(prefix))


# ----- the run -----------------------------------------------------------------------------------
def test_tiny_run_writes_grids_and_pyramids(tmp_path):
    run = tmp_path / "r"
    assert _train(run, "--epochs", "1") == 0
    assert [r["step"] for r in _metrics(run)] == [1, 2, 3, 4]
    from PIL import Image
    for name in ("samples/epoch_001.png", "samples/final.png", "losses.png"):
        assert (run / name).is_file(), name
    for name in ("pyramid_real.png", "pyramid_generated.png"):    # 8 rows x 5 columns of 28 px
        assert Image.open(run / name).size == (2 * (5 * 30 + 2), 2 * (8 * 30 + 2))


def test_resume_is_exact(tmp_path):
    """6 steps in one go == 3, resume, 3 more (crossing an epoch end): losses and every saved array equal."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(straight, "--max-steps", "6") == 0
    assert _train(split, "--max-steps", "3") == 0
    assert train_main(["lapgan", "--resume", str(split), "--max-steps", "6", "--no-progress"]) == 0
    a, b = _metrics(straight), _metrics(split)
    assert [r["step"] for r in b] == list(range(1, 7))
    keys = sorted(trainer.LAPGANJob.LOSS_KEYS)
    assert [[r[k] for k in keys] for r in a] == [[r[k] for k in keys] for r in b]
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert ca.step == cb.step == 6 and set(ca.arrays) == set(cb.arrays)
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key


def test_sample_and_eval_read_its_checkpoints(tmp_path):
    from tinygan.trainers.samplers import load_sampler
    run = tmp_path / "r"
    assert _train(run, "--max-steps", "1") == 0
    sample, meta, data = load_sampler(run)
    images = sample(7, 0)
    assert images.shape == (7, 1, 28, 28) and data == "mnist" and meta["model"] == "lapgan"
    assert np.abs(images).max() <= 1.0 and np.array_equal(images, sample(7, 0))
    from tinygan.sample import main as sample_main
    assert sample_main([str(run), "--out", str(tmp_path / "grid.png"), "--n", "16"]) == 0
    assert (tmp_path / "grid.png").is_file()


def test_bad_flags_and_resume_changes_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_main(["lapgan", "--width", "0"])
    assert "--width" in capsys.readouterr().err
    assert _train(tmp_path / "r", "--max-steps", "1") == 0
    with pytest.raises(SystemExit):
        train_main(["lapgan", "--resume", str(tmp_path / "r"), "--width", "16"])
    assert "--width 16 (checkpoint: 8)" in capsys.readouterr().err
    assert train_main(["lapgan", "--batch-size", "64", "--n-train", "16", "--out", str(tmp_path / "q")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "16" in err[0]
