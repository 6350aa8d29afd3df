"""A PyTorch training program, written against PyTorch's API, run unchanged on tinygan (the name
``torch`` resolved to ``tinygan``) and on PyTorch: the losses agree to float32 rounding.

It uses a device chosen as pytorch/examples do, dtype names, ``x.max(1)`` as (values, indices) and
``view_as``. It does not shuffle: the two libraries draw different random orders.
"""
from __future__ import annotations

import builtins
import importlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

PROGRAM = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 32)
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def train(model, loader, optimizer, criterion):
    model.train()
    losses = []
    for data, target in loader:
        optimizer.zero_grad()
        loss = criterion(model(data), target)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        losses.append(loss.item())
    return losses


def test(model, device, loader, criterion):
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            total += criterion(output, target).item() * len(data)
            _, pred = output.max(1)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return total / len(loader.dataset), correct


def main(x, y, init, path, epochs=4):
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    dataset = TensorDataset(torch.tensor(x, dtype=torch.float), torch.tensor(y, dtype=torch.long))
    loader = DataLoader(dataset, batch_size=16, drop_last=False)
    model = Net().to(device)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    history = []
    for epoch in range(epochs // 2):
        history += train(model, loader, optimizer, criterion)
        scheduler.step()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict()}, path)

    checkpoint = torch.load(path, weights_only=True)            # a fresh run resumes from it
    model = Net()
    model.load_state_dict(checkpoint["model"])
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    scheduler.load_state_dict(checkpoint["scheduler"])
    for epoch in range(epochs // 2, epochs):
        history += train(model, loader, optimizer, criterion)
        scheduler.step()
    test_loss, correct = test(model, device, loader, criterion)
    return history, test_loss, correct, scheduler.get_last_lr()
'''


def _torch_as_tinygan(name, globals=None, locals=None, fromlist=(), level=0):
    """``__import__`` with ``torch`` and ``torch.*`` resolved to ``tinygan`` and ``tinygan.*``."""
    if level == 0 and (name == "torch" or name.startswith("torch.")):
        module = importlib.import_module("tinygan" + name[len("torch"):])
        return module if fromlist else importlib.import_module("tinygan")
    return builtins.__import__(name, globals, locals, fromlist, level)


def _run(resolve_to_tinygan: bool, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(72, 8)).astype(np.float32)
    y = (x[:, :4].argmax(1) + (x[:, 4] > 1)) % 4
    init_model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    init = {k.replace("0.", "fc1.").replace("2.", "fc2."): v.detach().numpy().copy()
            for k, v in init_model.state_dict().items()}
    namespace = {"__name__": "program"}
    if resolve_to_tinygan:
        namespace["__builtins__"] = {**vars(builtins), "__import__": _torch_as_tinygan}
    exec(compile(PROGRAM, "program.py", "exec"), namespace)
    assert namespace["torch"].__name__ == ("tinygan" if resolve_to_tinygan else "torch")
    assert namespace["DataLoader"].__module__.startswith(namespace["torch"].__name__)
    return namespace["main"](x, y.astype(np.int64), init, str(tmp_path / "ckpt.pt"))


def test_pytorch_program_runs_unchanged_on_tinygan_with_the_same_losses(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    torch.manual_seed(0)
    theirs = _run(False, tmp_path / "a")
    torch.manual_seed(0)
    ours = _run(True, tmp_path / "b")
    history, test_loss, correct, last_lr = ours
    assert len(history) == len(theirs[0]) == 4 * 5                  # 72 samples: 5 batches an epoch
    np.testing.assert_allclose(history, theirs[0], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(test_loss, theirs[1], rtol=2e-5)
    assert correct == theirs[2]
    assert last_lr == pytest.approx(theirs[3], rel=1e-15)
    assert history[-1] < history[0]                                  # it learned something
