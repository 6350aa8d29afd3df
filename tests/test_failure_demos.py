"""The failure demos (python -m tinygan.demo parallel-lines | graphical | vanishing-gradient) and
the coverage study (python -m tinygan.study coverage): closed forms, what they print and write."""
import json
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan import demo, demo_failures, study


def test_parallel_lines_from_samples_match_the_closed_forms():
    s = demo_failures.sample_divergences(0.5)
    assert s["kl"] == math.inf and s["js"] == pytest.approx(math.log(2), abs=1e-12)
    assert 0.5 <= s["w"] < 0.52                       # |theta|, plus the y's mismatch of a sample
    assert demo_failures.sample_divergences(0.0)["w"] < 0.05


def test_trained_critic_recovers_theta_and_the_discriminator_saturates():
    t = demo_failures.trained_estimates(1.0, steps=150)
    assert t["js_discriminator"] == pytest.approx(math.log(2), abs=0.01)
    assert abs(t["grad_discriminator"]) < 1e-2          # log(1 - D) is flat: no signal for G
    assert t["w_critic"] == pytest.approx(1.0, abs=0.15)
    assert t["grad_critic"] == pytest.approx(1.0, abs=0.2)


def test_max_v_is_minus_log_4_plus_twice_js():
    assert demo_failures.max_v(0.0) == pytest.approx(-math.log(4), abs=1e-9)
    assert demo_failures.max_v(40.0) == pytest.approx(0.0, abs=1e-6)   # JS -> log 2
    values = [demo_failures.max_v(m) for m in (0.5, 1.0, 2.0)]
    assert values == sorted(values)


def test_graphical_training_reaches_the_minimum(tmp_path, capsys):
    result = demo.main(["graphical", "--out", str(tmp_path), "--steps", "120"])
    last = result["trajectory"][-1]
    assert abs(last["mu"]) < 0.2 and last["max_v"] == pytest.approx(-math.log(4), abs=0.01)
    assert (tmp_path / "graphical.png").is_file()
    assert "D* = [" in capsys.readouterr().out


def test_saturation_slopes_against_closed_forms():
    curves = demo_failures.saturation_curves()
    assert curves["minimax"]["error"] < 1e-12 and curves["nonsaturating"]["error"] < 1e-12
    rejected = curves["minimax"]["d_fake"] < 0.001      # D confidently rejects the fakes
    assert np.abs(curves["minimax"]["grad"][rejected]).max() < 1e-3
    assert np.abs(curves["nonsaturating"]["grad"][rejected]).min() > 0.999


def test_coverage_study_smoke(tmp_path, capsys):
    out = tmp_path / "study"
    argv = ["coverage", "--steps", "40", "--seeds", "0", "--data", "ring", "--variants", "vanilla",
            "wgan", "--out", str(out)]
    assert study.main(argv) == 0
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert [(r["data"], r["variant"], r["seed"]) for r in runs] == [("ring", "vanilla", 0), ("ring", "wgan", 0)]
    assert all(0 <= r["modes"] <= 8 and 0 <= r["high_quality"] <= 1 for r in runs)
    assert "| vanilla |" in (out / "results.md").read_text() and (out / "samples.png").is_file()
    assert study.main(argv) == 0                        # the second time: reused, not retrained
    assert "40 steps each" in capsys.readouterr().out
    assert study.main([*argv[:2], "80", *argv[3:]]) == 1   # another length in the same folder
    assert "give another --out" in capsys.readouterr().err



def test_coverage_study_continues_a_run_it_stopped_exactly(tmp_path, capsys):
    """A run stopped mid-way (here by max_steps; Ctrl-C writes the same kind of summary) is resumed
    from its checkpoint, and ends where an uninterrupted study's run ends."""
    argv = ["coverage", "--steps", "40", "--seeds", "0", "--data", "ring", "--variants", "vanilla", "--no-plot"]
    assert study.main([*argv, "--out", str(tmp_path / "straight")]) == 0
    run_dir = study._run_dir(tmp_path / "split", "ring", "vanilla", 40, 0)
    summary = study.gan.train(study.run_config("ring", "vanilla", 40, 0), run_dir, progress=False,
                              keep=1, max_steps=25, pictures=False)
    assert summary["status"] != "finished"
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert study.main([*argv, "--collect", "--out", str(tmp_path / "split")]) == 0     # trains nothing
    assert json.loads((tmp_path / "split" / "results.json").read_text())["runs"] == []
    capsys.readouterr()
    assert study.main([*argv, "--out", str(tmp_path / "split")]) == 0
    assert "resuming it" in capsys.readouterr().out
    a, b = (json.loads((tmp_path / d / "results.json").read_text())["runs"][0] for d in ("straight", "split"))
    assert (a["modes"], a["high_quality"], a["reverse_kl"]) == (b["modes"], b["high_quality"], b["reverse_kl"])
    assert b["cpu_seconds"] is None and a["cpu_seconds"] > 0

@pytest.mark.slow
def test_coverage_study_one_seed_every_variant(tmp_path):
    """The issue's smoke test: the whole study on one seed for a few hundred steps. A parallel C++
    kernel runs here first: forked workers would then hang in their own (GNU OpenMP)."""
    x = np.random.default_rng(0).standard_normal((100, 64, 5)).astype(np.float32)
    tg.cdist(tg.tensor(x), tg.tensor(x), p=1)
    assert study.main(["coverage", "--steps", "200", "--seeds", "0", "--jobs", "2", "--no-plot",
                       "--out", str(tmp_path)]) == 0
    runs = json.loads((tmp_path / "results.json").read_text())["runs"]
    assert len(runs) == 2 * len(study.VARIANTS)
