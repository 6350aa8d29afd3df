"""Random numbers: explicit :class:`Generator` objects and a default one seeded by ``manual_seed``.

Same seed, same numbers: every random op (``randn``, ``rand``, dropout masks, initialisers) takes an
optional ``generator=`` and otherwise draws from ``default_generator``. Numbers are drawn on the CPU
with NumPy's PCG64 and moved to the tensor's device, so a seed gives the same numbers on every device.
"""
from __future__ import annotations

import math

import numpy as np

from . import backends

DEFAULT_SEED = 67280421310721  # fixed like torch's: an unseeded program is still reproducible


class Generator:
    """A seeded stream of random numbers (NumPy PCG64 underneath).

    ``get_state()`` returns a JSON-safe dict (big integers as strings) so checkpoints need no pickle.
    """

    def __init__(self, seed: int | None = None):
        self.manual_seed(DEFAULT_SEED if seed is None else seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self.rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        state = self.rng.bit_generator.state
        inner = state["state"]
        return {"bit_generator": state["bit_generator"], "seed": str(self._seed),
                "state": str(inner["state"]), "inc": str(inner["inc"]),
                "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}

    def set_state(self, state: dict) -> "Generator":
        if state.get("bit_generator") != "PCG64":
            raise ValueError(f"Generator.set_state: expected a PCG64 state, got {state.get('bit_generator')!r}")
        self._seed = int(state["seed"])
        self.rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int(state["state"]), "inc": int(state["inc"])},
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}
        return self

    # Draws (numpy arrays on the CPU).
    def normal(self, shape, dtype=np.float32) -> np.ndarray:
        dtype = np.dtype(dtype)
        if dtype in (np.float32, np.float64):
            return self.rng.standard_normal(shape, dtype=dtype)
        return self.rng.standard_normal(shape).astype(dtype)

    def uniform(self, shape, dtype=np.float32) -> np.ndarray:
        dtype = np.dtype(dtype)
        if dtype in (np.float32, np.float64):
            return self.rng.random(shape, dtype=dtype)
        return self.rng.random(shape).astype(dtype)

    def keep_mask(self, shape, p: float, device: str = "cpu"):
        """Dropout's mask: a bool array, each entry True with probability ``1 - p`` -- 32 random
        bits per entry (the halves of this generator's next ``ceil(n / 2)`` 64-bit draws) compared
        with ``ceil(p * 2**32)``: exact on the 2**-32 grid. The comparison is the registry kernel
        ``keep_mask`` of ``device`` (the C++ one jumps the PCG64 stream ahead per thread; on
        "cuda" the mask is made on the GPU where the backend has the kernel, else on the CPU),
        and every backend gives NumPy's bits, so a seed fixes the mask whatever the backend or
        device. The array lives on ``device`` or on the CPU (callers move it)."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"keep_mask: p must be in [0, 1], got {p}")
        shape = tuple(int(s) for s in shape)
        n = math.prod(shape)
        bits = self.rng.bit_generator
        state = bits.state["state"]
        try:
            kernel = backends.get("keep_mask", device)
        except NotImplementedError:       # a GPU backend without the kernel: draw on the CPU
            kernel = backends.get("keep_mask", "cpu")
        keep = kernel(state["state"], state["inc"], n, math.ceil(p * 2.0 ** 32))
        bits.advance((n + 1) // 2)
        return keep.reshape(shape)

    def integers(self, low, high, shape) -> np.ndarray:
        return self.rng.integers(low, high, size=shape, dtype=np.int64)

    def permutation(self, n: int) -> np.ndarray:
        return self.rng.permutation(n)


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (``tinygan.manual_seed(0)``); returns it."""
    return default_generator.manual_seed(seed)


def get_generator(generator: Generator | None) -> Generator:
    return default_generator if generator is None else generator
