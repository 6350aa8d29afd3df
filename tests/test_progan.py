"""`train progan` on the shared loop: one step of every phase (7x7, 14x14 fade-in, 14x14, 28x28
fade-in, 28x28) with its grids and fade-in strips, exact resume across a stage boundary,
sample / eval on its checkpoints (and their refusal of a checkpoint still below 28x28), and
one-line errors for bad flags. Runs use 8 digits a batch and 2 steps a phase (10 steps in all)
on tiny networks."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from tinygan.checkpoint import Checkpoint, CheckpointError
from tinygan.eval import main as eval_main
from tinygan.sample import main as sample_main
from tinygan.train import main as train_main
from tinygan.trainers import progan as trainer
from tinygan.trainers.image2image import lr_factor
from tinygan.random import Generator

TINY = ["--n-train", "64", "--batch-size", "8", "--phase-images", "16", "--channels", "8", "6", "4",
        "--z-dim", "8", "--no-progress"]


@pytest.fixture(autouse=True)
def _offline_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))   # the shipped subset


def _train(out, *flags):
    return train_main(["progan", *TINY, "--out", str(out), *flags])


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("preset", ["progan", "paper"])
def test_one_step_of_every_phase_and_its_pictures(tmp_path, preset):
    """The default (logistic loss, R1 every 4th step, minibatch discrimination) and the paper's
    recipe (WGAN-GP + drift every step)."""
    run = tmp_path / "r"
    assert _train(run, "--preset", preset) == 0
    rows = _metrics(run)
    assert [r["resolution"] for r in rows] == [7, 7, 14, 14, 14, 14, 28, 28, 28, 28]
    assert [r["alpha"] for r in rows] == [1, 1, 0, 0.5, 1, 1, 0, 0.5, 1, 1]
    own = ["wasserstein"] if preset == "paper" else ["d_real", "d_fake"]
    assert all(np.isfinite([r["d_loss"], r["g_loss"], *(r[k] for k in own)]).all() for r in rows)
    every = 1 if preset == "paper" else 4
    assert [r.get("penalty", -1) >= 0 for r in rows] == [i % every == 0 for i in range(10)]
    config = json.loads((run / "config.json").read_text())
    assert config["loss"] == ("wgan-gp" if preset == "paper" else "nonsaturating")
    assert config["minibatch"] == (None if preset == "paper" else [100, 5])
    assert config["output"] == ("linear" if preset == "paper" else "tanh")
    assert ((config["batch_size"], config["lr"], config["decay"], config["ema"])   # TINY sets the batch
            == ((8, 1e-3, 0.0, 0.0) if preset == "paper" else (8, 1.2e-2, 0.3, 0.995)))
    samples = run / "samples"
    names = ["phase_1_7x7_stable", "phase_2_14x14_fade", "phase_3_14x14_stable", "phase_4_28x28_fade",
             "phase_5_28x28_stable", "fade_in_14x14", "fade_in_28x28", "final"]
    assert all((samples / f"{n}.png").is_file() for n in names) and (run / "losses.png").is_file()
    from PIL import Image
    assert Image.open(samples / "phase_1_7x7_stable.png").size == Image.open(samples / "final.png").size
    for r in (14, 28):                                  # 8 rows x 5 alphas of 28 px, 2 px gaps, x2
        assert Image.open(samples / f"fade_in_{r}x{r}.png").size == (2 * (5 * 30 + 2), 2 * (8 * 30 + 2))
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == 10 and summary["stage"] == 2 and summary["alpha"] == 1.0


def test_phases_of_unequal_lengths(tmp_path):
    """--phase-images with five values: each phase its own length, a grid and a checkpoint at each
    phase's end, the fade-ins' alphas spread over their own lengths; resume is exact mid-phase."""
    run, again = tmp_path / "r", tmp_path / "s"
    flags = ["--phase-images", "8", "16", "8", "32", "24"]          # 1, 2, 1, 4, 3 steps of 8
    assert _train(run, *flags, "--keep", "10") == 0
    rows = _metrics(run)
    assert [r["resolution"] for r in rows] == [7, 14, 14, 14, 28, 28, 28, 28, 28, 28, 28]
    assert [r["alpha"] for r in rows if r["resolution"] == 28][:4] == [0, 0.25, 0.5, 0.75]
    steps = sorted(Checkpoint(p).step for p in (run / "checkpoints").glob("step_*.json"))
    assert steps == [1, 3, 4, 8, 11]
    assert all((run / "samples" / f"{n}.png").is_file() for n in
               ["phase_1_7x7_stable", "phase_2_14x14_fade", "phase_3_14x14_stable", "phase_4_28x28_fade",
                "phase_5_28x28_stable", "fade_in_28x28"])
    config = json.loads((run / "config.json").read_text())
    assert config["phase_images"] == [8, 16, 8, 32, 24] and config["phase_steps"] == [1, 2, 1, 4, 3]
    assert _train(again, *flags, "--max-steps", "6") == 0
    assert train_main(["progan", "--resume", str(again), "--no-progress"]) == 0
    assert [r["d_loss"] for r in _metrics(again)] == [r["d_loss"] for r in rows]


def test_nonsaturating_loss_with_lazy_r1(tmp_path):
    """--loss nonsaturating: D's logistic loss with R1 on the reals, here every 2nd step at twice
    the weight (--reg-every 2), and minibatch discrimination in D (R1 differentiates through it
    twice); the log has D's mean logits and the penalty where it ran, and the run resumes exactly
    across a lazy step."""
    run, again = tmp_path / "r", tmp_path / "s"
    flags = ["--loss", "nonsaturating", "--r1", "0.5", "--reg-every", "2", "--minibatch-discrimination", "3", "2"]
    assert _train(run, *flags) == 0
    rows = _metrics(run)
    assert ["penalty" in r for r in rows] == [True, False] * 5
    assert all(np.isfinite([r["d_loss"], r["g_loss"], r["d_real"], r["d_fake"]]).all() and "wasserstein" not in r
               for r in rows)
    assert (run / "losses.png").is_file() and (run / "samples" / "final.png").is_file()
    config = json.loads((run / "config.json").read_text())
    assert (config["loss"], config["r1"], config["reg_every"], config["minibatch"]) == ("nonsaturating", 0.5, 2, [3, 2])
    assert _train(again, *flags, "--max-steps", "5") == 0
    assert train_main(["progan", "--resume", str(again), "--no-progress"]) == 0
    assert _metrics(again) == [{**r, "images_per_s": a["images_per_s"], "time": a["time"]}
                               for r, a in zip(rows, _metrics(again))]


def test_fade_strip_columns_run_from_the_old_output_to_the_new():
    from tinygan.models import progan
    from tinygan.random import Generator
    G = progan.Generator(8, (8, 6, 4), generator=Generator(0))
    z = Generator(1).normal((3, 8))
    strip = trainer.fade_strip(G, z, 2).reshape(3, 5, 1, 28, 28)
    np.testing.assert_array_equal(strip[:, 0], trainer.enlarge(trainer.draw(G, z, 1, 1.0)))
    np.testing.assert_array_equal(strip[:, -1], trainer.draw(G, z, 2, 1.0))


def test_real_batches_are_pooled_and_faded_like_the_generator():
    digits = np.random.default_rng(0).integers(0, 256, (2, 28, 28)).astype(np.uint8)
    x = digits.astype(np.float32) / 127.5 - 1.0
    x7 = x.reshape(2, 7, 4, 7, 4).mean(axis=(2, 4))[:, None]
    np.testing.assert_allclose(trainer.real_batch(digits, 0, 1.0), x7, rtol=1e-5, atol=1e-6)
    x14 = x.reshape(2, 14, 2, 14, 2).mean(axis=(2, 4))[:, None]
    np.testing.assert_allclose(trainer.real_batch(digits, 1, 1.0), x14, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trainer.real_batch(digits, 1, 0.0), trainer.enlarge(x7, 14), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trainer.real_batch(digits, 2, 0.5),
                               0.5 * trainer.enlarge(x14) + 0.5 * x[:, None], rtol=1e-5, atol=1e-6)


def test_resume_across_a_stage_boundary_is_exact(tmp_path):
    """7 steps in one go == 5 (in the 14x14 phase), resume, 2 more (into the 28x28 fade-in at
    step 6): every step's numbers and every saved array equal, bit for bit."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(straight, "--max-steps", "7") == 0
    assert _train(split, "--max-steps", "5") == 0
    assert Checkpoint(split).meta["stage"] == 1
    assert train_main(["progan", "--resume", str(split), "--max-steps", "7", "--no-progress"]) == 0
    a, b = _metrics(straight), _metrics(split)
    assert [r["step"] for r in b] == list(range(1, 8)) and b[-1]["resolution"] == 28
    keys = ("d_loss", "g_loss", "d_real", "d_fake", "penalty", "stage", "alpha")
    assert [[r.get(k) for k in keys] for r in a] == [[r.get(k) for k in keys] for r in b]
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert ca.step == cb.step == 7 and set(ca.arrays) == set(cb.arrays)
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key


def test_sample_and_eval_read_28x28_checkpoints_and_refuse_earlier_ones(tmp_path, capsys):
    run = tmp_path / "r"
    assert _train(run, "--max-steps", "6") == 0          # the end of the 14x14 phase
    with pytest.raises(CheckpointError, match=r"draws 14x14 digits, not yet 28x28; resume the run past step 6 \(the end of phase 3\)"):
        trainer.load_sampler(run)
    assert sample_main([str(run), "--out", str(tmp_path / "g.png")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not yet 28x28" in err[0]
    assert train_main(["progan", "--resume", str(run), "--max-steps", "7", "--no-progress"]) == 0
    sample, meta, data = trainer.load_sampler(run)        # one step into the 28x28 fade-in
    images = sample(12, 0)
    assert images.shape == (12, 1, 28, 28) and data == "mnist" and meta["model"] == "progan"
    assert meta["stage"] == 2 and meta["alpha"] == 0.5
    np.testing.assert_array_equal(images, sample(12, 0))
    G, _ = trainer.load_generator(run)                    # G's linear output, clipped to the pixel range
    raw = trainer.draw(G, Generator(0).normal((12, G.z_dim)), 2, 0.5)
    np.testing.assert_array_equal(images, np.clip(raw, -1, 1))
    capsys.readouterr()
    assert sample_main([str(run), "--n", "16", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").is_file()
    said = capsys.readouterr().out
    assert "drawn as `train progan` draws its grids" in said and "BatchNorm" not in said
    assert sample_main([str(run), "--eval-bn", "--out", str(tmp_path / "h.png")]) != 0
    err = capsys.readouterr().err.strip().splitlines()     # a switch it cannot honour: refused, not ignored
    assert len(err) == 1 and "--eval-bn applies to `train dcgan` checkpoints" in err[0]
    assert not (tmp_path / "h.png").exists()


def test_eval_computes_lenet_fid_on_a_final_checkpoint(tmp_path, capsys):
    run = tmp_path / "r"
    assert _train(run) == 0
    assert eval_main([str(run), "--n", "200", "--no-parzen"]) == 0
    assert "FID" in capsys.readouterr().out


def test_bad_flags_are_one_line_errors(tmp_path, capsys):
    for flags, message in [(["--batch-size", "6"], "--batch-size 6 is not a multiple of the minibatch-stddev group size 4"),
                           (["--phase-images", "4"], "--phase-images 4 is less than one batch (8)"),
                           (["--phase-images", "16", "16"], "--phase-images takes 1 or 5 values (one per phase), got 2"),
                           (["--phase-images", "16", "16", "4", "16", "16"], "--phase-images 4 is less than one batch (8)"),
                           (["--betas", "1", "0.5"], "--betas must lie in [0, 1)"),
                           (["--preset", "paper", "--r1", "5"], "--r1 does not apply to --loss wgan-gp"),
                           (["--gp-weight", "5"], "--gp-weight does not apply to --loss nonsaturating"),
                           (["--loss", "nonsaturating", "--drift", "0.1"], "--drift does not apply to --loss nonsaturating"),
                           (["--loss", "nonsaturating", "--r1", "-1"], "--r1 must be >= 0"),
                           (["--loss", "hinge"], "argument --loss: invalid choice"),
                           (["--minibatch-discrimination", "0", "5"], "--minibatch-discrimination: "),
                           (["--drift", "-1"], "--drift must be >= 0"),
                           (["--channels", "8", "4"], "--channels: expected 3 arguments")]:
        with pytest.raises(SystemExit):
            _train(tmp_path / "x", *flags)
        assert message in capsys.readouterr().err, flags
    assert _train(tmp_path / "r", "--max-steps", "1") == 0
    with pytest.raises(SystemExit):
        train_main(["progan", "--resume", str(tmp_path / "r"), "--channels", "8", "8", "8"])
    assert "--channels (8, 8, 8) (checkpoint: [8, 6, 4])" in capsys.readouterr().err
    assert train_main(["progan", *TINY, "--n-train", "4", "--out", str(tmp_path / "q")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "need at least 8 training digits" in err[0]


def test_ema_of_g_is_saved_drawn_and_resumed_exactly(tmp_path):
    """--ema (the paper's moving average of G): checkpoints hold G_ema, sample / eval draw with it,
    and a resume across a stage boundary continues the average bit for bit."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert _train(straight, "--ema", "0.9", "--max-steps", "8") == 0
    assert _train(split, "--ema", "0.9", "--max-steps", "4") == 0
    assert train_main(["progan", "--resume", str(split), "--max-steps", "8", "--no-progress"]) == 0
    ca, cb = Checkpoint(straight), Checkpoint(split)
    assert "G_ema" in ca.meta["modules"] and set(ca.arrays) == set(cb.arrays)
    for key in ca.arrays:
        assert np.array_equal(ca.arrays[key], cb.arrays[key]), key
    G, _ = trainer.load_generator(straight)
    ema_keys = [k for k in ca.arrays if k.startswith("G_ema/")]
    assert ema_keys and all(np.array_equal(G.state_dict()[k[len("G_ema/"):]].numpy(), ca.arrays[k])
                            for k in ema_keys)
    assert not all(np.array_equal(ca.arrays[k], ca.arrays["G/" + k[len("G_ema/"):]]) for k in ema_keys)


def test_decay_lowers_both_learning_rates_linearly_to_zero_and_resumes_exactly(tmp_path):
    """--decay F: lr constant for the first (1 - F) of the run's steps, then linear to 0 at the
    end (step t of T: lr (T - t) / (F T)); the Adam states of a run resumed inside the decay match
    an uninterrupted run's bit for bit; --decay 0 keeps lr constant."""
    config = {**trainer.DEFAULTS, "n_train": 64, "batch_size": 8, "phase_images": 16, "channels": (8, 6, 4),
              "z_dim": 8, "decay": 0.5, "lr": 0.01}
    job = trainer.ProGANJob(config, SimpleNamespace(device="cpu", data_dir=None, epochs=None))
    seen = []
    for _ in range(job.total_steps):
        job.step()
        seen.append([g["lr"] for o in job.optimizers.values() for g in o.param_groups])
    T = job.total_steps                                  # 10 steps: 5 constant, then 0.01 (10 - t) / 5
    assert seen == [[0.01 * (1.0 if t < 5 else (T - t) / 5)] * 2 for t in range(T)]
    assert [lr_factor(t, T, 0.0) for t in range(T)] == [1.0] * T
    run, again = tmp_path / "r", tmp_path / "s"
    assert _train(run, "--decay", "0.5") == 0
    assert _train(again, "--decay", "0.5", "--max-steps", "7") == 0
    assert train_main(["progan", "--resume", str(again), "--no-progress"]) == 0
    assert [r["g_loss"] for r in _metrics(again)] == [r["g_loss"] for r in _metrics(run)]
    assert json.loads((run / "config.json").read_text())["decay"] == 0.5
