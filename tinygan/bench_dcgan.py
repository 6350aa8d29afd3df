"""The DCGAN that ``python -m tinygan.bench`` and ``bench_gpu`` time: its layers (CMU 11-695's
"GAN II" notes, tinygan/models/dcgan.py) and the same network and alternating step in torch.

torch is passed in by the caller (imported by the benches only, never by tinygan)."""
from __future__ import annotations

import numpy as np

# (name, kind, C_in, C_out, H_in, kernel, stride, padding, output_padding): CMU 11-695's layers.
# For a transposed layer the forward pass is conv2d_dgrad, its input gradient conv2d_fwd, and its
# weight gradient conv2d_wgrad with the roles of x and dy swapped.
CONV_LAYERS = [
    ("G convT 256->128 s1 7x7", "transpose", 256, 128, 7, 5, 1, 2, 0),
    ("G convT 128->64 s2 7->14", "transpose", 128, 64, 7, 5, 2, 2, 1),
    ("G convT 64->1 s2 14->28", "transpose", 64, 1, 14, 5, 2, 2, 1),
    ("D conv 1->64 s2 28->14", "conv", 1, 64, 28, 5, 2, 2, 0),
    ("D conv 64->128 s2 14->7", "conv", 64, 128, 14, 5, 2, 2, 0),
]
BN_LAYERS = [("G BN1d 12544", (12544,)), ("G BN2d 128 @7x7", (128, 7, 7)),
             ("G BN2d 64 @14x14", (64, 14, 14))]


def torch_train_step(torch, G, D, real, z, device: str = "cpu"):
    """The same DCGAN in torch (weights copied from tinygan's, which must be on the CPU), on
    ``device``, and its alternating step."""
    nn = torch.nn
    tG = nn.Sequential(
        nn.Linear(100, 12544, bias=False), nn.BatchNorm1d(12544, eps=1e-3, momentum=0.01), nn.LeakyReLU(0.3),
        nn.Unflatten(1, (256, 7, 7)),
        nn.ConvTranspose2d(256, 128, 5, 1, 2, bias=False), nn.BatchNorm2d(128, eps=1e-3, momentum=0.01),
        nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(128, 64, 5, 2, 2, 1, bias=False), nn.BatchNorm2d(64, eps=1e-3, momentum=0.01),
        nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(64, 1, 5, 2, 2, 1, bias=False), nn.Tanh())
    tD = nn.Sequential(nn.Conv2d(1, 64, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
                       nn.Conv2d(64, 128, 5, 2, 2), nn.LeakyReLU(0.3), nn.Dropout(0.3),
                       nn.Flatten(), nn.Linear(6272, 1))
    for tmod, mod in ((tG, G.net), (tD, D.net)):
        tmod.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in mod.state_dict().items()})
        tmod.to(device)
    optG = torch.optim.Adam(tG.parameters(), 2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(tD.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.functional.binary_cross_entropy_with_logits
    treal, tz = torch.from_numpy(real).to(device), torch.from_numpy(z).to(device)
    ones, zeros = torch.ones(len(real), 1, device=device), torch.zeros(len(real), 1, device=device)

    def step():
        fake = tG(tz)
        d_loss = bce(tD(treal), ones) + bce(tD(fake.detach()), zeros)
        optD.zero_grad()
        d_loss.backward()
        optD.step()
        for q in tD.parameters():
            q.requires_grad_(False)
        g_loss = bce(tD(fake), ones)
        optG.zero_grad()
        g_loss.backward()
        optG.step()
        for q in tD.parameters():
            q.requires_grad_(True)
    return step
