"""A small job on the shared loop for tests/test_distributed_mpi.py, run as a script (under
``mpiexec -n N ... --distributed`` or as one process): an MLP with BatchNorm1d and Dropout
regressing a fixed function of x by Adam -- the pieces whose data-parallel step must equal one
process's (global-batch data and dropout masks, synchronised batch statistics, averaged
gradients). ``--dtype float64`` makes the comparison with one process tight (no float32
summation-order noise); ``--die-rank R --die-step K`` SIGKILLs rank R at step K (``--die-how raise``: an OSError
on that rank alone)."""
import os
import signal
import sys

import numpy as np

import tinygan as tg
from tinygan import distributed
from tinygan.trainers import loop
from tinygan.trainers.common import stream
from tinygan.trainers.rundir import POSITIVE, POSITIVE_INT, number_rule


class MLPJob(loop.Job):
    model = "mpi-test"
    DEFAULTS = {"lr": 1e-2, "batch_size": 12, "seed": 0, "dtype": "float32"}
    RULES = {"lr": POSITIVE, "batch_size": POSITIVE_INT, "seed": number_rule(-2**63, kind=int),
             "dtype": lambda v: v in ("float32", "float64")}
    LOSS_KEYS = {"loss": "loss"}

    @staticmethod
    def add_flags(p):
        p.add_argument("--lr", type=float)
        p.add_argument("--batch-size", type=int)
        p.add_argument("--dtype", choices=("float32", "float64"))
        p.add_argument("--die-rank", type=int, default=-1)
        p.add_argument("--die-step", type=int, default=-1)
        p.add_argument("--die-how", choices=("kill", "raise"), default="kill")
        p.add_argument("--sleep", type=float, default=0.0)
        p.add_argument("--steps", type=int, default=10)

    def __init__(self, config, args, checkpoint=None):
        self.config, self.args = config, args
        dtype = np.dtype(config["dtype"])
        init = stream(config["seed"], "init")
        self.rngs = {"data": stream(config["seed"], "data"), "dropout": stream(config["seed"], "dropout")}
        nn = tg.nn
        # no bias before BatchNorm (as the DCGAN's G): its true gradient is 0, so a bias there only
        # carries rounding noise, which Adam would scale up to ~lr * noise / eps
        self.net = nn.Sequential(nn.Linear(6, 16, bias=False, generator=init), nn.BatchNorm1d(16),
                                 nn.LeakyReLU(0.2), nn.Dropout(0.3, generator=self.rngs["dropout"]),
                                 nn.Linear(16, 1, generator=init))
        self.net.to(dtype)
        self.opt = tg.optim.Adam(self.net.parameters(), lr=config["lr"])
        self.modules, self.optimizers = {"net": self.net}, {"Adam": self.opt}
        self.batch_size, self.steps_per_epoch, self.total_steps = config["batch_size"], 4, args.steps
        self.dtype, self.steps_done = dtype, 0

    def states(self):
        return {"opt": self.opt.state_dict(),
                "rng": {k: g.get_state() for k, g in self.rngs.items()}}

    def load_states(self, states):
        self.opt.load_state_dict(states["opt"])
        for k, g in self.rngs.items():
            g.set_state(states["rng"][k])

    def step(self):
        self.steps_done += 1
        if self.steps_done == self.args.die_step and distributed.get_rank() == self.args.die_rank:
            if self.args.die_how == "raise":
                raise OSError("No space left on device (simulated)")
            os.kill(os.getpid(), signal.SIGKILL)
        if self.args.sleep:
            import time
            time.sleep(self.args.sleep)
        x = self.rngs["data"].normal((self.batch_size, 6)).astype(self.dtype)
        target = tg.tensor(np.sin(x.sum(1, keepdims=True)))     # reaches the loss directly: shard it
        out = self.net(tg.tensor(x))
        loss = ((out - distributed.shard(target)) ** 2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": float(loss.item())}

    def epoch_end(self, run_dir, epoch):
        path = run_dir / "pictures" / f"epoch_{epoch}_rank{distributed.get_rank()}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        with tg.no_grad():                       # an evaluation that advances the dropout stream
            out = self.net(tg.tensor(np.ones((4, 6), self.dtype)))
        path.write_text(repr(out.numpy().tolist()))
        return str(path)


if __name__ == "__main__":
    sys.exit(loop.main(MLPJob, sys.argv[1:]))
