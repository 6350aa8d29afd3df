"""The shared training loop (tinygan.trainers.loop) on a toy job: least squares y = 2x by SGD, with
its own random stream, so that exact resume, --max-steps, the settings a resume may change, and
the one-line errors are checked independently of any GAN."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan.checkpoint import Checkpoint
from tinygan.trainers import loop
from tinygan.trainers.common import stream
from tinygan.trainers.rundir import POSITIVE, POSITIVE_INT, number_rule


class ToyJob(loop.Job):
    model = "toy"
    DEFAULTS = {"lr": 0.1, "batch_size": 4, "seed": 0}
    RULES = {"lr": POSITIVE, "batch_size": POSITIVE_INT, "seed": number_rule(-2**63, kind=int)}
    LOSS_KEYS = {"loss": "loss"}

    @staticmethod
    def add_flags(p):
        p.add_argument("--lr", type=float)
        p.add_argument("--batch-size", type=int)

    def __init__(self, config, args, checkpoint=None):
        self.config = config
        self.net = tg.nn.Linear(1, 1, generator=stream(config["seed"], "init"))
        self.opt = tg.optim.SGD(self.net.parameters(), lr=config["lr"], momentum=0.9)
        self.rng = stream(config["seed"], "data")
        self.modules, self.optimizers = {"net": self.net}, {"SGD": self.opt}
        self.batch_size, self.steps_per_epoch, self.total_steps = config["batch_size"], 3, 7
        self.pictures = []

    def states(self):
        return {"opt": self.opt.state_dict(), "rng": self.rng.get_state()}

    def load_states(self, states):
        self.opt.load_state_dict(states["opt"])
        self.rng.set_state(states["rng"])
        for group in self.opt.param_groups:
            group["lr"] = self.config["lr"]

    def step(self):
        x = tg.tensor(self.rng.normal((self.batch_size, 1)))
        loss = ((self.net(x) - 2 * x) ** 2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": float(loss.item())}

    def epoch_end(self, run_dir, epoch):
        self.pictures.append(epoch)
        return f"epoch picture {epoch}"


def _run(*argv):
    return loop.main(ToyJob, [*map(str, argv), "--no-progress"])


def _losses(run):
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_run_writes_its_folder_and_stops_at_the_end(tmp_path):
    run = tmp_path / "run"
    assert _run("--out", run) == 0
    assert len(_losses(run)) == 7
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["steps"] == 7 and summary["images"] == 28
    steps = sorted(int(p.stem[5:]) for p in (run / "checkpoints").glob("step_*.json"))
    assert steps == [3, 6, 7]                                      # each epoch's end, and the end
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "toy" and config["lr"] == 0.1 and config["total_steps"] == 7


def test_resume_is_exact_and_max_steps_stops_early(tmp_path):
    straight, split = tmp_path / "a", tmp_path / "b"
    assert _run("--out", straight) == 0
    assert _run("--out", split, "--max-steps", 4) == 0
    assert json.loads((split / "summary.json").read_text())["status"] == "stopped"
    assert _run("--resume", split) == 0
    assert _losses(straight) == _losses(split)
    a, b = Checkpoint(straight), Checkpoint(split)
    assert a.step == b.step == 7
    for key in a.arrays:
        assert np.array_equal(a.arrays[key], b.arrays[key]), key


def test_resume_keeps_settings_but_records_a_new_lr(tmp_path, capsys):
    run = tmp_path / "r"
    assert _run("--out", run, "--max-steps", 2) == 0
    with pytest.raises(SystemExit) as info:
        _run("--resume", run, "--batch-size", 8)
    assert info.value.code == 2
    assert "--batch-size 8 (checkpoint: 4)" in capsys.readouterr().err
    assert _run("--resume", run, "--lr", 0.05, "--max-steps", 3) == 0
    ckpt = Checkpoint(run)
    assert ckpt.meta["config"]["lr"] == 0.05
    assert ckpt.meta["config"]["lr_history"] == [{"step": 2, "from": 0.1, "to": 0.05}]
    assert ckpt.state("opt")["param_groups"][0]["lr"] == 0.05


def test_a_checkpoint_of_another_model_is_one_line(tmp_path, capsys):
    run = tmp_path / "r"
    assert _run("--out", run, "--max-steps", 1) == 0
    record = json.loads(Checkpoint(run).path.read_text())
    assert record["model"] == "toy"

    class Other(ToyJob):
        model = "other"
    capsys.readouterr()
    assert loop.main(Other, ["--resume", str(run), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a checkpoint of `train other`" in err[0]


def test_a_nonfinite_loss_stops_naming_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    calls = []
    real = ToyJob.step

    def step(self):
        calls.append(1)
        values = real(self)
        return {"loss": float("nan")} if len(calls) == 5 else values

    monkeypatch.setattr(ToyJob, "step", step)
    assert _run("--out", tmp_path / "r") == 1
    err = capsys.readouterr().err
    assert "non-finite loss at step 5" in err and "step_0000003.json" in err


def test_running_out_of_memory_is_one_line_and_leaves_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    """Flags that size the networks or the batch beyond the machine (``--ngf 200000``) end in one
    line, before or during training, never a traceback; a run stopped so keeps its checkpoints."""
    def too_big(self, config, args, checkpoint=None):
        raise MemoryError("Unable to allocate 584. GiB for an array with shape (6272, 5000000, 5)")

    with monkeypatch.context() as m:
        m.setattr(ToyJob, "__init__", too_big)
        assert _run("--out", tmp_path / "a") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out of memory building the networks" in err[0] and "584. GiB" in err[0]
    assert not (tmp_path / "a").exists()                 # nothing was claimed

    calls, real = [], ToyJob.step

    def step(self):
        calls.append(1)
        if len(calls) == 5:
            raise MemoryError("Unable to allocate 9 GiB")
        return real(self)

    monkeypatch.setattr(ToyJob, "step", step)
    assert _run("--out", tmp_path / "b") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out of memory while training" in err[0]
    assert Checkpoint(tmp_path / "b").step == 3           # the epoch-1 checkpoint, intact
