"""DCGAN: CMU 11-695's shapes, tiny end-to-end runs, exact resume, sampling, and the failure paths.

Runs use ``--n-train 16 --batch-size 4`` (4 steps per epoch) so each takes a second or two.
"""
import argparse
import json
import os
import signal

import numpy as np
import pytest
from cli_helpers import rewrite_record

import tinygan as tg
from tinygan.checkpoint import Checkpoint, CheckpointError
from tinygan.models import dcgan
from tinygan.nn import gan_loss
from tinygan.sample import load_generator
from tinygan.sample import main as sample_main
from tinygan.train import main as train_main
from tinygan.trainers import dcgan_step as trainer
from tinygan.trainers.dcgan import DEFAULTS, add_flags
from tinygan.trainers.dcgan_loop import DCGANJob

TINY = ["--n-train", "16", "--batch-size", "4", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # the shipped subset


def _train(out, *flags):
    return train_main(["dcgan", *TINY, "--out", str(out), *flags])


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _trace(net, x):
    shapes = []
    for layer in net:
        x = layer(x)
        shapes.append((type(layer).__name__, x.shape))
    return shapes


def test_generator_shapes_match_seed_002_asserts():
    G, D = dcgan.build("tf", generator=tg.Generator(0))
    shapes = _trace(G.net, tg.randn(2, 100))
    convs = [s for name, s in shapes if name in ("Unflatten", "ConvTranspose2d")]
    # CMU 11-695's code (NHWC): (7,7,256) -> (7,7,128) -> (14,14,64) -> (28,28,1); here NCHW
    assert convs == [(2, 256, 7, 7), (2, 128, 7, 7), (2, 64, 14, 14), (2, 1, 28, 28)]
    assert shapes[-1] == ("Tanh", (2, 1, 28, 28))
    d_shapes = [s for name, s in _trace(D.net, tg.randn(2, 1, 28, 28)) if name in ("Conv2d", "Linear")]
    assert d_shapes == [(2, 64, 14, 14), (2, 128, 7, 7), (2, 1)]
    # Keras' trainable parameter counts for the tutorial's models.
    assert G.num_parameters() == 2_305_472 and D.num_parameters() == 212_865
    assert G.net[0].bias is None and all(m.bias is None for m in G.modules()
                                         if isinstance(m, tg.nn.ConvTranspose2d))


def test_radford_architecture_follows_the_guidelines():
    G, D = dcgan.build("radford", generator=tg.Generator(0))
    assert G(tg.randn(3, 100)).shape == (3, 1, 28, 28) and D(tg.randn(3, 1, 28, 28)).shape == (3, 1)
    kinds = {type(m).__name__ for m in G.modules()} | {type(m).__name__ for m in D.modules()}
    assert "Linear" not in kinds and "AvgPool2d" not in kinds    # no FC layer, no pooling
    assert any(isinstance(m, tg.nn.ReLU) for m in G.modules())
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, tg.nn.LeakyReLU))
    w = G.net[1].weight.numpy()
    assert abs(w.std() - 0.02) < 0.002                           # DCGAN init N(0, 0.02)
    with pytest.raises(ValueError, match="choose from tf, radford"):
        dcgan.Generator("resnet")


@pytest.mark.parametrize("arch, convs", [
    ("tf", [(2, 128, 7, 7), (2, 64, 7, 7), (2, 32, 14, 14), (2, 1, 28, 28)]),
    ("radford", [(2, 100, 1, 1), (2, 128, 7, 7), (2, 64, 14, 14), (2, 1, 28, 28)])])
def test_ngf_scales_the_generators_hidden_layers(arch, convs):
    G = dcgan.Generator(arch, generator=tg.Generator(0), ngf=32)
    shapes = [s for name, s in _trace(G.net, tg.randn(2, 100)) if name in ("Unflatten", "ConvTranspose2d")]
    assert shapes == convs
    for bad in (0, -1, 2.5, True, "32"):
        with pytest.raises(ValueError, match="ngf must be a positive int"):
            dcgan.Generator(arch, ngf=bad)


@pytest.mark.parametrize("flags, ngf", [([], 32), (["--ngf", "16"], 16), (["--arch", "radford"], 64),
                                        (["--arch", "radford", "--ngf", "8"], 8),
                                        (["--preset", "tf-tutorial"], 64)])
def test_which_recipes_keep_the_narrow_generator(flags, ngf):
    p = argparse.ArgumentParser()
    add_flags(p)
    assert {**DEFAULTS, **DCGANJob.given(p.parse_args(flags))}["ngf"] == ngf


@pytest.mark.parametrize("arch", ["tf", "radford"])
def test_g_kernel_sets_the_stride_2_layers_and_keeps_the_shapes(arch):
    for kernel in ((4, 5) if arch == "tf" else (4,)):
        G = dcgan.Generator(arch, generator=tg.Generator(0), ngf=8, kernel=kernel)
        ups = [m for m in G.modules() if isinstance(m, tg.nn.ConvTranspose2d) and m.stride == (2, 2)]
        assert len(ups) == 2 and all(m.kernel_size == (kernel, kernel) for m in ups)
        assert G(tg.randn(3, 100)).shape == (3, 1, 28, 28) and G.kernel == kernel
    assert dcgan.Generator(arch, ngf=8).kernel == dcgan.KERNELS[arch]       # None: the arch's own
    for bad in ((3, 6, 2.5, "4") if arch == "tf" else (5, 3)):
        with pytest.raises(ValueError, match="kernel of the"):
            dcgan.Generator(arch, ngf=8, kernel=bad)


@pytest.mark.parametrize("flags, kernel", [([], 5), (["--g-kernel", "4"], 4), (["--preset", "tf-tutorial"], 5),
                                           (["--preset", "tf-tutorial", "--g-kernel", "4"], 4),
                                           (["--arch", "radford"], 4), (["--arch", "radford", "--g-kernel", "4"], 4)])
def test_which_recipes_use_which_upsampling_kernel(flags, kernel):
    p = argparse.ArgumentParser()
    add_flags(p)
    assert {**DEFAULTS, **DCGANJob.given(p.parse_args(flags))}["g_kernel"] == kernel


def test_g_kernel_5_with_the_radford_g_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        _train(tmp_path / "r", "--arch", "radford", "--g-kernel", "5")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--g-kernel 5 with --arch radford" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_checkpoint_from_before_ngf_samples_and_resumes_at_the_papers_width(tmp_path):
    """A record from before --ngf (and --g-kernel): the notes' G, ngf 64 and 5 x 5 kernels."""
    run = tmp_path / "r"
    assert _train(run, "--ngf", "64", "--max-steps", "4") == 0
    config = json.loads((run / "config.json").read_text())
    del config["ngf"], config["g_kernel"]
    (run / "config.json").write_text(json.dumps(config))
    for path in (run / "checkpoints").glob("*.json"):      # as written before the keys existed
        rewrite_record(path, lambda record: [record["config"].pop(k) for k in ("ngf", "g_kernel")])
    G, _ = load_generator(run)
    assert (G.ngf, G.kernel) == (64, 5)
    assert train_main(["dcgan", "--resume", str(run), "--max-steps", "6", "--no-progress"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["ngf"] == 64 and config.get("g_kernel") is None      # None: the tf G's own 5


def test_tiny_end_to_end_run_writes_every_output(tmp_path):
    run = tmp_path / "run"
    assert _train(run, "--epochs", "2") == 0
    for name in ("samples/epoch_001.png", "samples/epoch_002.png", "samples/final.png",
                 "losses.png", "interpolation.png", "config.json",
                 "checkpoints/step_0000008.json", "checkpoints/step_0000008.npz"):
        assert (run / name).is_file(), name
    from PIL import Image
    grid = np.asarray(Image.open(run / "samples/epoch_002.png"))
    assert grid.shape == (2 * (8 * 30 + 2),) * 2                 # 8 x 8 digits, 2 px gaps, x2
    assert grid.ndim == 2 and grid.std() > 0                     # a gray grid with content
    rows = _metrics(run)
    assert [r["step"] for r in rows] == list(range(1, 9))
    assert {"d_loss", "g_loss", "d_real", "d_fake", "images_per_s", "epoch"} <= set(rows[0])
    assert all(np.isfinite(r["d_loss"]) and 0 < r["d_real"] < 1 for r in rows)
    config = json.loads((run / "config.json").read_text())
    assert config["batch_size"] == 4 and (config["lr"], config["g_lr"]) == (4e-4, None)
    assert config["betas"] == [0.5, 0.999]
    assert config["minibatch"] == [50, 5]                       # the default D's minibatch discrimination


def test_resume_is_exact(tmp_path):
    """6 steps in one go == 3 steps, resume, 3 more: same losses and same final parameters
    (the resume point is mid-epoch, so the data order, dropout and z streams must all resume)."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(straight, "--max-steps", "6") == 0
    assert _train(split, "--max-steps", "3") == 0
    assert train_main(["dcgan", "--resume", str(split), "--max-steps", "6", "--no-progress"]) == 0
    a, b = _metrics(straight), _metrics(split)
    assert [r["step"] for r in b] == list(range(1, 7))
    assert [(r["d_loss"], r["g_loss"], r["d_real"]) for r in a] == \
        [(r["d_loss"], r["g_loss"], r["d_real"]) for r in b]
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert ca.step == cb.step == 6 and set(ca.arrays) == set(cb.arrays)
    for key in ca.arrays:                                        # G, D, BN buffers, Adam moments
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key
    assert ca.meta["states"]["rng"] == cb.meta["states"]["rng"]


def test_resume_rejects_changed_settings(tmp_path, capsys):
    assert _train(tmp_path / "r", "--max-steps", "1") == 0
    with pytest.raises(SystemExit):
        train_main(["dcgan", "--resume", str(tmp_path / "r"), "--arch", "radford"])
    assert "--arch radford (checkpoint: tf)" in capsys.readouterr().err


def test_ctrl_c_saves_a_checkpoint_that_resumes(tmp_path, monkeypatch):
    real_step, calls = trainer.train_step, []

    def step_then_interrupt(*args):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)                  # as if the user pressed Ctrl-C
        return real_step(*args)

    monkeypatch.setattr("tinygan.trainers.dcgan_loop.train_step", step_then_interrupt)
    assert _train(tmp_path / "r", "--epochs", "1") == 130
    assert Checkpoint(tmp_path / "r").step == 2 and Checkpoint(tmp_path / "r").meta["tag"] == "interrupt"
    monkeypatch.setattr("tinygan.trainers.dcgan_loop.train_step", real_step)
    assert train_main(["dcgan", "--resume", str(tmp_path / "r"), "--no-progress"]) == 0
    assert [r["step"] for r in _metrics(tmp_path / "r")] == [1, 2, 3, 4]


def test_sample_command_loads_only_the_generator(tmp_path, capsys):
    assert _train(tmp_path / "r", "--max-steps", "2") == 0
    ckpt = sorted((tmp_path / "r" / "checkpoints").glob("*.npz"))[-1]
    G, loaded = load_generator(ckpt)
    # no D, no optimizer: G and its moving average (the default --ema), which G is loaded with
    assert loaded.arrays and all(k.split("/")[0] in ("G", "G_ema") for k in loaded.arrays)
    assert np.array_equal(G.net[0].weight.numpy(), Checkpoint(ckpt).arrays["G_ema/net.0.weight"])
    out = tmp_path / "grid.png"
    assert sample_main([str(ckpt), "--n", "16", "--out", str(out)]) == 0
    from PIL import Image
    assert Image.open(out).size == (2 * (4 * 30 + 2),) * 2    # 4 x 4 digits of 28 px + 2 px gaps, x2
    assert "16 digits" in capsys.readouterr().out


def test_sample_command_with_a_corrupt_checkpoint(tmp_path, capsys):
    assert _train(tmp_path / "r", "--max-steps", "1") == 0
    npz = next((tmp_path / "r" / "checkpoints").glob("*.npz"))
    npz.write_bytes(npz.read_bytes()[:1000])
    assert sample_main([str(npz), "--out", str(tmp_path / "g.png")]) == 1
    assert "corrupt" in capsys.readouterr().err and not (tmp_path / "g.png").exists()


def test_checkpoint_from_another_architecture_names_the_parameter(tmp_path):
    assert _train(tmp_path / "r", "--max-steps", "1", "--arch", "radford") == 0
    with pytest.raises(CheckpointError) as info:
        Checkpoint(tmp_path / "r").load_module("G", dcgan.Generator("tf"))
    message = str(info.value)
    assert "saved from arch 'radford'" in message
    assert "parameter G.net.1.weight has shape (100, 256, 7, 7) in the checkpoint but (12544,) " \
           "in the model" in message


def test_nan_loss_stops_with_step_and_last_checkpoint(tmp_path, monkeypatch, capsys):
    real_loss, calls = gan_loss.generator_loss, []

    def loss_going_nan(logits, kind):
        calls.append(1)
        loss = real_loss(logits, kind)
        return loss * float("nan") if len(calls) == 6 else loss

    monkeypatch.setattr(gan_loss, "generator_loss", loss_going_nan)
    assert _train(tmp_path / "r", "--epochs", "3") == 1
    err = capsys.readouterr().err
    assert "non-finite loss at step 6" in err and "G loss = nan" in err
    assert "step_0000004.json" in err                            # the epoch-1 checkpoint
    assert not (tmp_path / "r" / "checkpoints" / "step_0000006.json").exists()


@pytest.mark.parametrize("flags", [["--scheme", "simultaneous", "--g-loss", "minimax", "--no-info-codes"],
                                   ["--scheme", "ndis=2"], ["--preset", "tf-tutorial"]])
def test_other_schemes_losses_and_presets_run(tmp_path, flags):
    assert _train(tmp_path / "r", *flags, "--max-steps", "2") == 0   # explicit --batch-size 4 wins
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    if "--preset" in flags:
        assert (config["lr"], config["betas"], config["scheme"]) == (1e-4, [0.9, 0.999], "simultaneous")
        assert (config["eps"], config["ema"], config["decay"]) == (1e-7, 0.0, 0.0)   # the notes' recipe
        assert "G_ema" not in Checkpoint(tmp_path / "r").meta["modules"]
    rows = _metrics(tmp_path / "r")
    assert len(rows) == 2
    if "minimax" in flags:
        assert rows[0]["g_loss"] < 0          # log(1 - D(G(z))) (without the code's CE, >= 0)


@pytest.mark.parametrize("flags, minibatch, lr", [
    ([], [50, 5], (4e-4, None)),                                  # the default D; one lr for both
    (["--no-minibatch-discrimination"], None, (4e-4, None)),
    (["--minibatch-discrimination", "7", "2"], [7, 2], (4e-4, None)),
    (["--arch", "radford"], None, (4e-4, None)),                  # its D ends in a conv: no layer
    (["--loss", "wgan-gp"], None, (1e-4, None)),                  # the paper's critic and recipe
    (["--loss", "wgan"], None, (5e-5, None)),
    (["--loss", "hinge"], [50, 5], (4e-4, None)),
    (["--preset", "tf-tutorial"], None, (1e-4, None)),            # the notes' recipe as it is
    (["--preset", "tf-tutorial", "--minibatch-discrimination", "5", "3"], [5, 3], (1e-4, None)),
    (["--lr", "2e-4"], [50, 5], (2e-4, None)),                    # --lr alone: both players
    (["--lr", "2e-4", "--g-lr", "1e-3"], [50, 5], (2e-4, 1e-3)),  # InfoGAN's MNIST rates
    (["--g-lr", "5e-4"], [50, 5], (4e-4, 5e-4)),
])
def test_which_recipes_keep_the_default_minibatch_discrimination(flags, minibatch, lr):
    p = argparse.ArgumentParser()
    add_flags(p)
    config = {**DEFAULTS, **DCGANJob.given(p.parse_args(flags))}
    assert (config["minibatch"], (config["lr"], config["g_lr"])) == (minibatch, lr)


def test_each_player_steps_at_its_own_learning_rate(tmp_path):
    run = tmp_path / "r"
    assert _train(run, "--lr", "2e-4", "--g-lr", "1e-3", "--max-steps", "2", "--decay", "1") == 0
    rows = _metrics(run)                                           # lrs falling to 0 over the run
    assert rows[0]["lr"] == 2e-4 and rows[1]["lr"] < rows[0]["lr"]
    assert all(r["g_lr"] == pytest.approx(5 * r["lr"]) for r in rows)
    scheme = Checkpoint(run).state("scheme")                        # G's Adam minimises, D's maximises
    (g_lr,), (d_lr,) = ({g["lr"] for g in scheme[side]["param_groups"]} for side in ("min", "max"))
    assert g_lr == pytest.approx(5 * d_lr) and d_lr == pytest.approx(rows[1]["lr"])
    assert train_main(["dcgan", "--resume", str(run), "--lr", "1e-4", "--max-steps", "3",
                       "--no-progress"]) == 0                       # --lr alone now sets both
    config = json.loads((run / "config.json").read_text())
    assert (config["lr"], config["g_lr"]) == (1e-4, None)
    assert config["g_lr_history"] == [{"step": 2, "from": 1e-3, "to": None}]
    assert "g_lr" not in _metrics(run)[-1]


def test_radford_with_minibatch_discrimination_is_a_one_line_error(tmp_path, capsys):
    assert _train(tmp_path / "r", "--arch", "radford", "--minibatch-discrimination", "5", "3",
                  "--max-steps", "1") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--minibatch-discrimination" in err[0] and "tf architecture" in err[0]
    assert "Traceback" not in "\n".join(err)


@pytest.mark.parametrize("argv, message", [
    (["gan9000"], "invalid choice: 'gan9000' (choose from"),
    (["dcgan", "--arch", "vgg"], "invalid choice: 'vgg' (choose from"),
    (["dcgan", "--batch-size", "0"], "must be > 0"),
    (["dcgan", "--scheme", "ndis=0"], "alternating | simultaneous | ndis=N"),
    (["dcgan", "--g-loss", "wasserstein"], "invalid choice: 'wasserstein' (choose from"),
    (["dcgan", "--betas", "1.5", "0.9"], "--betas must lie in [0, 1)"),
    (["dcgan", "--lr", "-1"], "must be > 0"),
    (["dcgan", "--backend", "fortran"], "invalid choice: 'fortran' (choose from"),
])
def test_bad_flags_are_rejected_with_the_choices(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        train_main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    if "choose from" in message:                                 # the choices are listed
        expected = {"gan9000": ("dcgan", "bilinear"), "vgg": ("tf", "radford"),
                    "wasserstein": ("nonsaturating", "minimax"), "fortran": ("numpy",)}[argv[-1]]
        assert all(choice in err.split("choose from")[1] for choice in expected)


def test_cuda_without_cupy_is_a_clear_error(tmp_path, capsys):
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed")
    except ImportError:
        pass
    assert _train(tmp_path / "r", "--device", "cuda", "--max-steps", "1") == 1
    assert "CuPy" in capsys.readouterr().err
