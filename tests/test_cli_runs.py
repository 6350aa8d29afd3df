"""Runs never lose data and never save NaN, through the real command-line programs.

Two runs are trained once per module (a 2-step DCGAN on 16 digits, a 6-of-12-step toy GAN with
checkpoints at steps 3 and 6); a test that changes a run works on a copy. Each test asserts the
exit status, the one-line message and that the earlier run's files are intact byte for byte.
"""
import json
import os
import shutil
import signal
import time

import numpy as np
import pytest
from cli_helpers import cli, one_line_error, popen, rewrite_record, snapshot

from tinygan.checkpoint import Checkpoint, CheckpointError, save_checkpoint

DCGAN = ["tinygan.train", "dcgan", "--n-train", "16", "--batch-size", "4", "--no-progress"]
GAN = ["tinygan.train", "gan", "--steps", "12", "--every", "3", "--batch-size", "16", "--g-hidden", "8",
       "--d-hidden", "8", "--no-progress"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-runs")


@pytest.fixture(scope="module")
def dcgan_run(home):
    run = home / "dcgan"
    result = cli(home, *DCGAN, "--max-steps", "2", "--keep", "1", "--out", run)
    assert result.returncode == 0, result.stderr
    return run, result.stdout


@pytest.fixture(scope="module")
def gan_run(home):
    run = home / "gan"
    result = cli(home, *GAN, "--max-steps", "6", "--out", run)
    assert result.returncode == 0, result.stderr
    return run


# ----- 1: a fresh run never writes into an existing run -------------------------------------------
@pytest.mark.parametrize("which", ["dcgan", "gan"])
def test_fresh_run_refuses_a_folder_that_holds_a_run(which, home, dcgan_run, gan_run):
    run = dcgan_run[0] if which == "dcgan" else gan_run
    before = snapshot(run)
    argv = [*DCGAN, "--max-steps", "1"] if which == "dcgan" else [*GAN, "--keep", "1"]
    result = cli(home, *argv, "--out", run)
    one_line_error(result, f"--out {run} already holds a run", "--resume", prog=f"tinygan.train {which}")
    assert snapshot(run) == before


def test_resume_never_mixes_two_runs(home, dcgan_run, gan_run):
    """An older checkpoint resumed into its own folder (whose newer checkpoints it would
    interleave with), or a run resumed into another run's folder: refused, both intact."""
    before, other = snapshot(gan_run), snapshot(dcgan_run[0])
    older = gan_run / "checkpoints" / "step_0000003.json"
    one_line_error(cli(home, "tinygan.train", "gan", "--resume", older, "--no-progress"),
                   "step 3 is not the newest", "step_0000006.json", prog="tinygan.train gan")
    one_line_error(cli(home, "tinygan.train", "gan", "--resume", gan_run, "--out", dcgan_run[0]),
                   "already holds another run", prog="tinygan.train gan")
    assert snapshot(gan_run) == before and snapshot(dcgan_run[0]) == other


# ----- 2, 3, 4: nothing non-finite is saved; a lower --lr continues -------------------------------
def test_an_update_that_makes_the_weights_inf_saves_nothing(home):
    """Simultaneous updates: the step's losses are computed before the update, so they are
    finite while lr 1e39 makes every weight Inf -- the check of the weights stops the run."""
    run = home / "diverged"
    result = cli(home, *DCGAN, "--scheme", "simultaneous", "--lr", "1e39", "--max-steps", "1", "--out", run)
    one_line_error(result, "non-finite values after step 1", "Inf", "no checkpoint was written",
                   prog="tinygan.train dcgan")
    assert not list(run.glob("checkpoints/step_*"))


def test_inf_in_adams_second_moment_stops_the_run(home):
    """lr 1e10: exp_avg_sq overflows to Inf (the weights then freeze, the losses stay finite).
    Without InfoGAN's code: its Q head's cross-entropy goes NaN at step 1 first (a loss stop)."""
    run = home / "adam-inf"
    result = cli(home, *DCGAN, "--lr", "1e10", "--max-steps", "4", "--no-info-codes", "--out", run)
    one_line_error(result, "non-finite values after step", "Adam exp_avg_sq", "Inf",
                   prog="tinygan.train dcgan")
    assert not list(run.glob("checkpoints/step_*"))


def test_after_a_nan_stop_a_lower_lr_continues(home, dcgan_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(dcgan_run[0], run)
    good = run / "checkpoints" / "step_0000002.json"
    before = snapshot(run / "checkpoints")
    stop = cli(home, "tinygan.train", "dcgan", "--resume", run, "--lr", "1e39", "--max-steps", "4",
               "--no-progress")
    one_line_error(stop, "non-finite loss at step 3", f"the last good checkpoint is {good}",
                   "--resume it with a lower --lr", prog="tinygan.train dcgan")
    assert snapshot(run / "checkpoints") == before                  # the good checkpoint, intact
    again = cli(home, "tinygan.train", "dcgan", "--resume", good, "--lr", "1e-4", "--max-steps", "3",
                "--no-progress")
    assert again.returncode == 0, again.stderr
    ckpt = Checkpoint(run)
    history = [{"step": 2, "from": 4e-4, "to": 1e-4}]                # from the default lr
    assert ckpt.step == 3 and ckpt.meta["config"]["lr"] == 1e-4
    assert ckpt.meta["config"]["lr_history"] == history
    assert json.loads((run / "config.json").read_text())["lr_history"] == history
    assert {g["lr"] for side in ("min", "max") for g in ckpt.state("scheme")[side]["param_groups"]} == {1e-4}


def test_sample_and_eval_refuse_nonfinite_weights(home, dcgan_run, tmp_path):
    from tinygan.models import dcgan
    source = Checkpoint(dcgan_run[0])
    G = dcgan.Generator("tf", ngf=source.meta["config"]["ngf"])
    source.load_module("G", G)
    G.net[0].weight.data[0, :3] = np.nan
    with pytest.raises(CheckpointError, match="refusing to save step 2.*non-finite.*3 NaN"):
        save_checkpoint(tmp_path / "bad" / "checkpoints", 2, {"G": G}, meta=source.meta)
    save_checkpoint(tmp_path / "bad" / "checkpoints", 2, {"G": G},
                    meta={"model": "dcgan", "config": source.meta["config"]}, allow_nonfinite=True)
    grid = tmp_path / "grid.png"
    one_line_error(cli(home, "tinygan.sample", tmp_path / "bad", "--out", grid),
                   "holds non-finite weights", "G.net.0.weight: 3 NaN", prog="tinygan.sample")
    one_line_error(cli(home, "tinygan.eval", tmp_path / "bad", "--n", "8"),
                   "holds non-finite weights", prog="tinygan.eval")
    assert not grid.exists() and not (tmp_path / "bad" / "eval.json").exists()


# ----- 5: the training data are recorded and checked ----------------------------------------------
def _idx_folder(path, seed, n=24):
    from tinygan.data.mnist import FILES, write_idx
    rng = np.random.default_rng(seed)
    path.mkdir()
    for name, (stem, *_rest) in FILES.items():
        count = n if name.startswith("train") else 8
        shape = (count, 28, 28) if name.endswith("images") else (count,)
        write_idx(path / stem, rng.integers(0, 10 if name.endswith("labels") else 256, shape))
    return path


@pytest.mark.parametrize("which", ["dcgan", "gan"])
def test_resume_uses_and_checks_the_training_data(which, home, tmp_path):
    a, b = _idx_folder(tmp_path / "a", 0), _idx_folder(tmp_path / "b", 1)
    run = tmp_path / "run"
    argv = [*DCGAN] if which == "dcgan" else \
        ["tinygan.train", "gan", "--data", "mnist", "--steps", "6", "--every", "3", "--batch-size", "4",
         "--g-hidden", "8", "--d-hidden", "8", "--z-dim", "4", "--no-progress"]
    first = cli(home, *argv, "--data-dir", a, "--max-steps", "1", "--out", run)
    assert first.returncode == 0, first.stderr
    resume = ["tinygan.train", which, "--resume", run, "--no-progress", "--max-steps"]
    before = snapshot(run / "checkpoints")
    one_line_error(cli(home, *resume, "2", "--data-dir", b), "the training data differ from the checkpoint's",
                   f"pass --data-dir", prog=f"tinygan.train {which}")
    assert snapshot(run / "checkpoints") == before
    if which == "dcgan":                      # no --data-dir: the checkpoint's, not the shipped subset
        again = cli(home, *resume, "2")
        assert again.returncode == 0, again.stderr
        assert f"MNIST IDX files in {a}" in again.stdout
        assert Checkpoint(run).meta["data"]["data_dir"] == str(a.resolve())


# ----- 6: the checkpoint's JSON record ------------------------------------------------------------
def _small_checkpoint(folder):
    import tinygan as tg
    from tinygan import nn
    from tinygan.optim import Adam
    model = nn.Sequential(nn.Linear(3, 4, generator=tg.Generator(0)))
    opt = Adam(model.parameters(), lr=1e-3)
    return save_checkpoint(folder, 5, {"G": model}, {"opt": opt.state_dict(),
                                                     "rng": tg.Generator(3).get_state()},
                           meta={"model": "gan", "config": {"arch": "tf", "lr": 1e-3}})


def test_every_single_byte_change_of_the_record_is_caught(tmp_path):
    path = _small_checkpoint(tmp_path)
    blob, meta = path.read_bytes(), Checkpoint(path).meta
    rng = np.random.default_rng(0)
    caught = 0
    for _ in range(80):
        damaged = bytearray(blob)
        i = int(rng.integers(len(damaged)))
        damaged[i] = (damaged[i] + int(rng.integers(1, 256))) % 256
        path.write_bytes(bytes(damaged))
        try:
            loaded = Checkpoint(path)
        except CheckpointError:
            caught += 1
            continue
        assert loaded.meta == meta                       # only whitespace changed: same record
        loaded.state("rng"), loaded.state("opt")
    assert caught >= 70


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(npz="../../evil.npz"), "is not a step_N.npz file name"),
    (lambda m: m.pop("npz_sha256"), "'npz_sha256' is missing"),
    (lambda m: m.update(step="5"), "'step' is str, expected int"),
    (lambda m: m.update(shapes=[]), "'shapes' is list"),
    (lambda m: m["states"]["rng"].update(state={"__ndarray__": "state/nowhere"}), "does not hold"),
])
def test_a_record_with_a_valid_digest_is_still_validated(tmp_path, change, message):
    path = _small_checkpoint(tmp_path)
    rewrite_record(path, change)
    with pytest.raises(CheckpointError, match=message):
        Checkpoint(path).state("rng")


def test_a_damaged_record_is_a_one_line_error_for_every_program(home, gan_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(gan_run, run)
    record = run / "checkpoints" / "step_0000006.json"
    text = record.read_text()
    digit = text.index('"step": 6') + len('"step": ')
    record.write_text(text[:digit] + "7" + text[digit + 1:])    # one digit, still valid JSON
    before = snapshot(run)
    one_line_error(cli(home, "tinygan.train", "gan", "--resume", run, "--no-progress"),
                   "is corrupt", "SHA-256", prog="tinygan.train gan")
    one_line_error(cli(home, "tinygan.eval", run, "--n", "8"), "is corrupt", prog="tinygan.eval")
    assert snapshot(run) == before


def test_a_record_with_bad_settings_is_a_one_line_error(home, gan_run, dcgan_run, tmp_path):
    run = tmp_path / "gan"
    shutil.copytree(gan_run, run)
    rewrite_record(run / "checkpoints" / "step_0000006.json", lambda m: m["config"].update(g_hidden=[0]))
    one_line_error(cli(home, "tinygan.train", "gan", "--resume", run, "--no-progress"),
                   "its config has an invalid 'g_hidden' ([0])", prog="tinygan.train gan")
    folder = tmp_path / "dcgan"
    folder.mkdir()
    for path in (dcgan_run[0] / "checkpoints").iterdir():
        shutil.copy(path, folder)
    record = next(folder.glob("*.json"))
    rewrite_record(record, lambda m: m["config"].update(arch="vgg"))
    one_line_error(cli(home, "tinygan.sample", record, "--out", tmp_path / "g.png"),
                   "cannot build its generator", "vgg", prog="tinygan.sample")
    one_line_error(cli(home, "tinygan.train", "dcgan", "--resume", record, "--out", tmp_path / "r"),
                   "its config has an invalid 'arch' ('vgg')", prog="tinygan.train dcgan")


# ----- 12: leftovers, permissions, atomic rewrites, the start-up line, strict JSON ----------------
def test_leftovers_are_cleaned_and_rewrites_are_atomic(home, gan_run, dcgan_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(gan_run, run)
    ckpts = run / "checkpoints"
    (ckpts / ".step_0000009.npz.k1ll3d.tmp").write_bytes(b"half a save")
    (ckpts / "step_0000008.npz").write_bytes(b"an npz whose record was never written")
    old = {name: (run / name).read_bytes() for name in ("metrics.jsonl", "config.json")}
    for name in old:                          # a rewrite in place would change these links too
        os.link(run / name, tmp_path / name)
    result = cli(home, "tinygan.train", "gan", "--resume", run, "--max-steps", "7", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in ckpts.iterdir()) == [
        f"step_000000{s}.{ext}" for s in (3, 6, 7) for ext in ("json", "npz")]
    assert all((tmp_path / name).read_bytes() == blob for name, blob in old.items())
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == \
        list(range(1, 8))
    mask = os.umask(0o022)
    os.umask(mask)
    assert {oct(p.stat().st_mode & 0o777) for p in ckpts.iterdir()} == {oct(0o666 & ~mask)}
    assert "2 steps (--max-steps; a full run is 13125 epochs x 4 steps)" in dcgan_run[1]  # ~210k images


def test_summary_json_is_strict_json(home):
    """0 of 8 modes captured after 2 steps: the reverse KL is NaN, written as null."""
    run = home / "nan-summary"
    result = cli(home, *GAN[:3], "2", *GAN[4:], "--out", run)
    assert result.returncode == 0, result.stderr
    text = (run / "summary.json").read_text()

    def refuse(name):
        raise AssertionError(f"summary.json holds a bare {name}")
    summary = json.loads(text, parse_constant=refuse)
    assert summary["coverage"]["modes_captured"] == 0 and summary["coverage"]["reverse_kl"] is None


# ----- 13: SIGTERM saves like Ctrl-C --------------------------------------------------------------
@pytest.mark.parametrize("which", ["dcgan", "gan"])
def test_sigterm_saves_a_checkpoint_that_resumes(which, home, tmp_path):
    run = tmp_path / "run"
    argv = [*DCGAN, "--epochs", "1000"] if which == "dcgan" else [*GAN[:3], "100000", GAN[4], "100000", *GAN[6:]]
    proc = popen(home, *argv, "--out", run)
    deadline = time.monotonic() + 120
    metrics = run / "metrics.jsonl"
    while not (metrics.is_file() and len(metrics.read_text().splitlines()) >= 3):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "interrupted (SIGTERM) at step" in out
    ckpt = Checkpoint(run)
    assert ckpt.meta["tag"] == "interrupt"
    assert len(metrics.read_text().splitlines()) == ckpt.step >= 3
    again = cli(home, "tinygan.train", which, "--resume", run, "--max-steps", ckpt.step + 1, "--no-progress")
    assert again.returncode == 0, again.stderr
    assert Checkpoint(run).step == ckpt.step + 1
