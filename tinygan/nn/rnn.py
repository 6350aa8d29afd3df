"""torch.nn's recurrent layers: the cells RNNCell, LSTMCell, GRUCell (one time step) and the
multi-layer, optionally bidirectional RNN, LSTM, GRU (a loop over the sequence), with torch's
constructor signatures, parameter names, shapes, gate order, default init and equations.

Everything is built from differentiable Tensor ops (linear, sigmoid, tanh, relu, slicing, stack,
cat), so autograd -- and grad of grad -- comes for free. Notation: x the input, h the hidden
state, c the LSTM cell state, sigma the logistic sigmoid, * the elementwise product; every
W_i* x + b_i* is a row of ``weight_ih`` / ``bias_ih``, every W_h* h + b_h* one of ``weight_hh`` /
``bias_hh``, stacked in torch's gate order.

- RNN (Elman):      h' = tanh(W_ih x + b_ih + W_hh h + b_hh)   (or relu)
- LSTM (Hochreiter & Schmidhuber 1997, "Long Short-Term Memory"), gates i, f, g, o:
      i = sigma(W_ii x + b_ii + W_hi h + b_hi)    f = sigma(W_if x + b_if + W_hf h + b_hf)
      g = tanh(W_ig x + b_ig + W_hg h + b_hg)     o = sigma(W_io x + b_io + W_ho h + b_ho)
      c' = f * c + i * g                          h' = o * tanh(c')
- GRU (Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder for
  Statistical Machine Translation"), gates r, z, n:
      r = sigma(W_ir x + b_ir + W_hr h + b_hr)    z = sigma(W_iz x + b_iz + W_hz h + b_hz)
      n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
      h' = (1 - z) * n + z * h

Init (torch's): every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)); float32 unless
``dtype`` says otherwise. PackedSequence inputs are not supported (out of scope), nor is the
LSTM's ``proj_size > 0``.
"""
from __future__ import annotations

import math
import numbers
import warnings

from .. import ops
from ..creation import zeros
from . import functional as F
from . import init_fills as init
from .layers import _empty
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _rnn_step(act):
    def step(gi, h, c, w_hh, b_hh):
        return act(gi + F.linear(h, w_hh, b_hh)), None
    return step


def _lstm_step(gi, h, c, w_hh, b_hh):
    gates = gi + F.linear(h, w_hh, b_hh)
    H = h.shape[-1]
    i, f = ops.sigmoid(gates[..., :H]), ops.sigmoid(gates[..., H:2 * H])
    g, o = ops.tanh(gates[..., 2 * H:3 * H]), ops.sigmoid(gates[..., 3 * H:])
    c = f * c + i * g
    return o * ops.tanh(c), c


def _gru_step(gi, h, c, w_hh, b_hh):
    gh = F.linear(h, w_hh, b_hh)
    H = h.shape[-1]
    r = ops.sigmoid(gi[..., :H] + gh[..., :H])
    z = ops.sigmoid(gi[..., H:2 * H] + gh[..., H:2 * H])
    n = ops.tanh(gi[..., 2 * H:] + r * gh[..., 2 * H:])
    return (1 - z) * n + z * h, None


_STEPS = {"RNN_TANH": _rnn_step(ops.tanh), "RNN_RELU": _rnn_step(ops.relu), "LSTM": _lstm_step,
          "GRU": _gru_step}


def _mode_of(nonlinearity, who):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{who}: unknown nonlinearity {nonlinearity!r}, expected 'tanh' or 'relu'")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _check_state(who, name, t, shape):
    if tuple(t.shape) != tuple(shape):
        raise RuntimeError(f"{who}: expected {name} of shape {tuple(shape)}, got {tuple(t.shape)}")


# ---- cells: one time step ------------------------------------------------------------------------
class _RNNCellBase(Module):
    def __init__(self, mode, input_size, hidden_size, bias, device, dtype, generator):
        super().__init__()
        self.mode = mode
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bool(bias)
        G = _GATES[mode] * self.hidden_size
        self.weight_ih = _empty((G, self.input_size), dtype, device)
        self.weight_hh = _empty((G, self.hidden_size), dtype, device)
        if bias:
            self.bias_ih, self.bias_hh = _empty((G,), dtype, device), _empty((G,), dtype, device)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator)

    def forward(self, input, hx=None):
        """(N, H_in) or (H_in,) input; hx None, a state or (LSTM) a pair of states."""
        who = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{who}: expected input of shape (N, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(input.shape)}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        n_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            states = [zeros(*shape, dtype=x.dtype, device=x.device) for _ in range(n_states)]
        else:
            states = list(hx) if n_states == 2 else [hx]
            if len(states) != n_states:
                raise RuntimeError(f"{who}: expected hx to be a pair (h, c), got {len(states)} tensors")
        for name, s in zip(("hx", "cx"), states):
            _check_state(who, name, s, shape)
        if not batched:
            states = [s.unsqueeze(0) for s in states]
        h, c = _STEPS[self.mode](F.linear(x, self.weight_ih, self.bias_ih), states[0],
                                 states[-1], self.weight_hh, self.bias_hh)
        if not batched:
            h, c = h[0], (None if c is None else c[0])
        return h if c is None else (h, c)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity=relu"
        return s


class RNNCell(_RNNCellBase):
    """One step of an Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu).

    Input (N, input_size) or (input_size,), hx (N, hidden_size) or (hidden_size,) (zeros when
    None); returns h' of hx's shape. weight_ih (hidden, input), weight_hh (hidden, hidden),
    bias_ih / bias_hh (hidden,), all ~ U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None, *, generator=None):
        super().__init__(_mode_of(nonlinearity, "RNNCell"), input_size, hidden_size, bias, device,
                         dtype, generator)
        self.nonlinearity = nonlinearity


class LSTMCell(_RNNCellBase):
    """One LSTM step (Hochreiter & Schmidhuber 1997), gates i, f, g, o:
    i, f, o = sigma(W_i* x + b_i* + W_h* h + b_h*), g = tanh(W_ig x + b_ig + W_hg h + b_hg),
    c' = f * c + i * g, h' = o * tanh(c').

    Input (N, input_size) or (input_size,), hx the pair (h, c), each (N, hidden_size) or
    (hidden_size,) (zeros when None); returns (h', c'). weight_ih (4 hidden, input), weight_hh
    (4 hidden, hidden), biases (4 hidden,), rows in gate order i, f, g, o."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *,
                 generator=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype, generator)


class GRUCell(_RNNCellBase):
    """One GRU step (Cho et al. 2014), gates r, z, n:
    r, z = sigma(W_i* x + b_i* + W_h* h + b_h*), n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h.

    Input (N, input_size) or (input_size,), hx (N, hidden_size) or (hidden_size,) (zeros when
    None); returns h'. weight_ih (3 hidden, input), weight_hh (3 hidden, hidden), biases
    (3 hidden,), rows in gate order r, z, n."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *,
                 generator=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype, generator)


# ---- multi-layer, bidirectional: a loop over time steps ------------------------------------------
class _RNNBase(Module):
    def __init__(self, mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                 bidirectional, proj_size, device, dtype, generator):
        super().__init__()
        who = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{who}: dropout should be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and int(num_layers) == 1:
            warnings.warn(f"{who}: dropout={dropout} and num_layers=1: dropout acts between layers, "
                          "so it has no effect here (as torch, which warns too)")
        if proj_size:
            raise NotImplementedError(f"{who}: proj_size > 0 is not supported by tinygan")
        if int(num_layers) < 1 or int(hidden_size) < 1:
            raise ValueError(f"{who}: num_layers and hidden_size must be positive, got "
                             f"{num_layers} and {hidden_size}")
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bool(bias), bool(batch_first)
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), 0
        self.generator = generator
        G = _GATES[mode] * self.hidden_size
        D = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            layer_in = self.input_size if layer == 0 else self.hidden_size * D
            for suffix in ("", "_reverse")[:D]:
                setattr(self, f"weight_ih_l{layer}{suffix}", _empty((G, layer_in), dtype, device))
                setattr(self, f"weight_hh_l{layer}{suffix}", _empty((G, self.hidden_size), dtype, device))
                if self.bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", _empty((G,), dtype, device))
                    setattr(self, f"bias_hh_l{layer}{suffix}", _empty((G,), dtype, device))
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound, generator)

    def _weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda name: getattr(self, name + suffix, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def forward(self, input, hx=None):
        """input (L, N, H_in) / (N, L, H_in) / unbatched (L, H_in); hx None, h0 or (h0, c0)."""
        who = type(self).__name__
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            layout = "(N, L, {0})" if self.batch_first else "(L, N, {0})"
            raise ValueError(f"{who}: expected input of shape {layout.format(self.input_size)} or "
                             f"(L, {self.input_size}), got {tuple(input.shape)}")
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        L, N = x.shape[0], x.shape[1]
        D = 2 if self.bidirectional else 1
        shape = (self.num_layers * D, N, self.hidden_size)
        n_states = 2 if self.mode == "LSTM" else 1
        if hx is None:
            states = [zeros(*shape, dtype=x.dtype, device=x.device) for _ in range(n_states)]
        else:
            states = list(hx) if n_states == 2 else [hx]
            if len(states) != n_states:
                raise RuntimeError(f"{who}: expected hx to be a pair (h_0, c_0), got {len(states)} tensors")
            for name, s in zip(("h_0", "c_0"), states):
                _check_state(who, name, s, shape if batched else shape[:1] + shape[2:])
            if not batched:
                states = [s.unsqueeze(1) for s in states]
        step = _STEPS[self.mode]
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for d in range(D):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                gi = F.linear(x, w_ih, b_ih)                # all time steps' input terms at once
                h, c = states[0][layer * D + d], states[-1][layer * D + d]
                out = [None] * L
                for t in (range(L - 1, -1, -1) if d else range(L)):
                    h, c = step(gi[t], h, c, w_hh, b_hh)
                    out[t] = h
                h_n.append(h)
                c_n.append(c)
                outputs.append(ops.stack(out, 0))
            x = outputs[0] if D == 1 else ops.cat(outputs, -1)   # (L, N, D hidden)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = ops.dropout(x, self.dropout, training=True, generator=self.generator)
        h_n = ops.stack(h_n, 0)
        c_n = ops.stack(c_n, 0) if n_states == 2 else None
        if not batched:
            x, h_n = x[:, 0], h_n[:, 0]
            c_n = None if c_n is None else c_n[:, 0]
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, (h_n if c_n is None else (h_n, c_n))

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


_SHAPES = """

    Input (L, N, input_size), (N, L, input_size) with ``batch_first``, or unbatched
    (L, input_size); h_0 (num_layers * D, N, hidden_size) (unbatched (num_layers * D, hidden_size)),
    zeros when None, D = 2 if ``bidirectional`` else 1. Returns output (L, N, D * hidden_size)
    (batch_first: (N, L, D * hidden_size); unbatched (L, D * hidden_size)) -- the last layer's h_t
    for every t, both directions concatenated -- and h_n of h_0's shape, each layer's and
    direction's final state. Parameters weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k},
    bias_hh_l{k} (and ``_reverse`` for the backward direction), as torch's. ``dropout`` drops
    each layer's output but the last's, in training mode only. PackedSequence is not supported.
    ``generator`` (keyword-only, tinygan's) seeds the init and the dropout masks."""


class RNN(_RNNBase):
    __doc__ = ("Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh) (or relu), layer by "
               "layer; layer k > 0 takes layer k-1's output as x_t." + _SHAPES)

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, *,
                 generator=None):
        super().__init__(_mode_of(nonlinearity, "RNN"), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, 0, device, dtype, generator)
        self.nonlinearity = nonlinearity


class LSTM(_RNNBase):
    __doc__ = ("LSTM (Hochreiter & Schmidhuber 1997), gates i, f, g, o: i_t, f_t, o_t = "
               "sigma(W_i* x_t + b_i* + W_h* h_(t-1) + b_h*), g_t = tanh(W_ig x_t + b_ig + "
               "W_hg h_(t-1) + b_hg), c_t = f_t * c_(t-1) + i_t * g_t, h_t = o_t * tanh(c_t)."
               + _SHAPES + "\n\n    hx is the pair (h_0, c_0) of equal shapes; returns "
               "(output, (h_n, c_n)). proj_size > 0 raises NotImplementedError.")

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None, *,
                 generator=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype, generator)


class GRU(_RNNBase):
    __doc__ = ("GRU (Cho et al. 2014), gates r, z, n: r_t, z_t = sigma(W_i* x_t + b_i* + "
               "W_h* h_(t-1) + b_h*), n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_(t-1) + b_hn)), "
               "h_t = (1 - z_t) * n_t + z_t * h_(t-1)." + _SHAPES)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, *, generator=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype, generator)
