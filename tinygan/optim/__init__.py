"""Optimizers (torch.optim's names and update rules) and the minimax schemes of Ryu's lecture.

    opt = tinygan.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loss.backward(); opt.step(); opt.zero_grad()

    scheme = tinygan.optim.AlternatingGDA(Adam(G.parameters()), Adam(D.parameters()))
    scheme.step(g_loss_fn, d_loss_fn)    # D steps, then G steps against the updated D
"""
from .adam import Adam  # noqa: F401
from .minimax import (SCHEMES, AlternatingGDA, AlternatingMultiAscent, Extragradient,  # noqa: F401
                      MinimaxOptimizer, OptimisticGDA, SimultaneousGDA, TTUR)
from .optimizer import Optimizer  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "MinimaxOptimizer", "SimultaneousGDA",
           "AlternatingGDA", "AlternatingMultiAscent", "Extragradient", "OptimisticGDA", "TTUR",
           "SCHEMES"]
# torch.optim's AdamW and Adadelta; learning-rate schedules (optim.lr_scheduler)
from .adamw import Adadelta, AdamW  # noqa: F401,E402
from . import lr_scheduler  # noqa: F401,E402
__all__ += ["AdamW", "Adadelta", "lr_scheduler"]
