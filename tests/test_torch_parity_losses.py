"""tinygan.ops.loss_extra and tinygan.ops.similarity (F.smooth_l1_loss, huber_loss, kl_div,
margin_ranking_loss, soft_margin_loss, hinge_embedding_loss, cosine_embedding_loss,
triplet_margin_loss, poisson_nll_loss, gaussian_nll_loss, cosine_similarity, pairwise_distance)
and their nn modules against torch: values, dtypes, gradients and grads of grads in float64 and
float32 (tolerances: tests/torch_parity.py ELEMENTWISE) on the numpy and cpp backends, every
reduction, the kinks (|d| = beta, margins met exactly), torch's errors; check_vjp in float64."""
import numpy as np
import pytest

import tinygan as tg
import tinygan.nn.functional as TF
from tinygan import nn
from tinygan.testing import check_vjp

try:
    from torch_parity import BACKENDS, ELEMENTWISE, compare_with, same_error
except ImportError:  # pragma: no cover - tests/ imported as a package
    from tests.torch_parity import BACKENDS, ELEMENTWISE, compare_with, same_error

compare = compare_with(ELEMENTWISE)
# kl_div's reduction="mean" warns in both libraries (checked in test_kl_div_zero_targets_and_mean_warning);
# torch's modules warn about the legacy size_average / reduce flags that MODULES passes on purpose
pytestmark = [pytest.mark.filterwarnings("ignore:.*'batchmean' divides only by the batch size"),
              pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")]

torch = pytest.importorskip("torch")
F = torch.nn.functional
DTYPES = [np.float64, np.float32]
REDUCTIONS = ["mean", "sum", "none"]


def _kinky_pair(rng, shape, kinks):
    """(input, target) with input - target hitting each kink exactly (halves are exact in both
    dtypes) besides random differences."""
    target = rng.integers(-4, 5, shape) / 2.0
    d = rng.normal(size=shape) * 2
    flat = d.reshape(-1)
    for i, k in enumerate(kinks):
        flat[i % flat.size] = k
    return target + d, target


def _pm1(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


# id: (tinygan f, torch f, inputs(rng), diff (None: all floating inputs), extra compare kwargs)
def _cases():
    c = {}
    for red in REDUCTIONS:
        for beta in (1.0, 0.5, 0.0):
            c[f"smooth_l1-{red}-beta{beta}"] = (
                lambda x, t, red=red, b=beta: TF.smooth_l1_loss(x, t, reduction=red, beta=b),
                lambda x, t, red=red, b=beta: F.smooth_l1_loss(x, t, reduction=red, beta=b),
                lambda r, b=beta: _kinky_pair(r, (4, 3), (b, -b, 0.0)), None, {})
        for delta in (1.0, 2.5):
            c[f"huber-{red}-delta{delta}"] = (
                lambda x, t, red=red, d=delta: TF.huber_loss(x, t, reduction=red, delta=d),
                lambda x, t, red=red, d=delta: F.huber_loss(x, t, reduction=red, delta=d),
                lambda r, d=delta: _kinky_pair(r, (4, 3), (d, -d, 0.0)), None, {})
        c[f"huber_weight-{red}"] = (
            lambda x, t, w, red=red: TF.huber_loss(x, t, reduction=red, weight=w),
            lambda x, t, w, red=red: F.huber_loss(x, t, reduction=red, weight=w),
            lambda r: _kinky_pair(r, (4, 3), (1.0,)) + (r.uniform(0.5, 2, (4, 3)),), None, {})
        c[f"soft_margin-{red}"] = (
            lambda x, y, red=red: TF.soft_margin_loss(x, y, reduction=red),
            lambda x, y, red=red: F.soft_margin_loss(x, y, reduction=red),
            lambda r: (r.normal(size=(5, 2)) * 3, _pm1(r, (5, 2))), [0], {})
        for log_target in (False, True):
            for kred in REDUCTIONS + ["batchmean"]:
                if red != "mean":
                    continue
                c[f"kl_div-{kred}-log_target{log_target}"] = (
                    lambda x, t, k=kred, lt=log_target: TF.kl_div(x, t, reduction=k, log_target=lt),
                    lambda x, t, k=kred, lt=log_target: F.kl_div(x, t, reduction=k, log_target=lt),
                    lambda r, lt=log_target: (np.log(r.dirichlet(np.ones(4), 3)),
                                              np.log(r.dirichlet(np.ones(4), 3)) if lt
                                              else r.dirichlet(np.ones(4), 3)), None, {})
        c[f"margin_ranking-{red}"] = (
            lambda a, b, y, red=red: TF.margin_ranking_loss(a, b, y, margin=0.5, reduction=red),
            lambda a, b, y, red=red: F.margin_ranking_loss(a, b, y, margin=0.5, reduction=red),
            lambda r: (np.array([1.0, 0.0, 2.0, -1.0, 0.3, 1.5]), np.array([0.5, 0.5, 0.0, 1.0, 0.9, -2.0]),
                       np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])), None, {})   # first: margin met exactly
        c[f"margin_ranking_broadcast-{red}"] = (
            lambda a, b, y, red=red: TF.margin_ranking_loss(a, b, y, reduction=red),
            lambda a, b, y, red=red: F.margin_ranking_loss(a, b, y, reduction=red),
            lambda r: (r.normal(size=(4,)), r.normal(size=(1,)), _pm1(r, (4,))), None, {})
        c[f"hinge_embedding-{red}"] = (
            lambda x, y, red=red: TF.hinge_embedding_loss(x, y, margin=1.5, reduction=red),
            lambda x, y, red=red: F.hinge_embedding_loss(x, y, margin=1.5, reduction=red),
            lambda r: (np.array([[1.5, -0.5, 2.0], [0.3, 3.0, -1.0]]),
                       np.array([[-1.0, -1.0, 1.0], [0.0, -1.0, 1.0]])), [0], {})   # 0: neither
        c[f"cosine_embedding-{red}"] = (
            lambda a, b, y, red=red: TF.cosine_embedding_loss(a, b, y, margin=0.2, reduction=red),
            lambda a, b, y, red=red: F.cosine_embedding_loss(a, b, y, margin=0.2, reduction=red),
            lambda r: (r.normal(size=(5, 3)), r.normal(size=(5, 3)), np.array([1, -1, 1, -1, -1])),
            None, {})
        c[f"cosine_embedding_1d-{red}"] = (
            lambda a, b, y, red=red: TF.cosine_embedding_loss(a, b, y, reduction=red),
            lambda a, b, y, red=red: F.cosine_embedding_loss(a, b, y, reduction=red),
            lambda r: (r.normal(size=(3,)), r.normal(size=(3,)), np.array(-1.0)), [0, 1], {})
        for swap in (False, True):
            for p in (2, 1, 3):
                c[f"triplet-{red}-swap{swap}-p{p}"] = (
                    lambda a, q, n, red=red, s=swap, p=p: TF.triplet_margin_loss(a, q, n, margin=0.7, p=p, swap=s, reduction=red),
                    lambda a, q, n, red=red, s=swap, p=p: F.triplet_margin_loss(a, q, n, margin=0.7, p=p, swap=s, reduction=red),
                    lambda r: (r.normal(size=(6, 4)), r.normal(size=(6, 4)), r.normal(size=(6, 4))), None, {})
        c[f"triplet_1d-{red}"] = (
            lambda a, q, n, red=red: TF.triplet_margin_loss(a, q, n, reduction=red),
            lambda a, q, n, red=red: F.triplet_margin_loss(a, q, n, reduction=red),
            lambda r: (r.normal(size=(4,)), r.normal(size=(4,)), r.normal(size=(4,))), None, {})
        for log_input in (True, False):
            for full in (False, True):
                c[f"poisson-{red}-log{log_input}-full{full}"] = (
                    lambda x, t, red=red, li=log_input, f=full: TF.poisson_nll_loss(x, t, log_input=li, full=f, reduction=red),
                    lambda x, t, red=red, li=log_input, f=full: F.poisson_nll_loss(x, t, log_input=li, full=f, reduction=red),
                    lambda r, li=log_input: (r.normal(size=(3, 4)) if li else r.uniform(0.1, 3, (3, 4)),
                                             np.array([[0.5, 1.0, 2.0, 3.5]] * 3) + r.uniform(0, 0.2, (3, 4))),
                    None, {})
        for full in (False, True):
            c[f"gaussian-{red}-full{full}"] = (
                lambda x, t, v, red=red, f=full: TF.gaussian_nll_loss(x, t, v, full=f, reduction=red),
                lambda x, t, v, red=red, f=full: F.gaussian_nll_loss(x, t, v, full=f, reduction=red),
                lambda r: (r.normal(size=(4, 3)), r.normal(size=(4, 3)), r.uniform(0.2, 2, (4, 3))), None, {})
    for vshape in [(4,), (4, 1), (1, 3)]:
        c[f"gaussian_var{vshape}"] = (
            lambda x, t, v: TF.gaussian_nll_loss(x, t, v), lambda x, t, v: F.gaussian_nll_loss(x, t, v),
            lambda r, s=vshape: (r.normal(size=(4, 3)), r.normal(size=(4, 3)), r.uniform(0.2, 2, s)), None, {})
    c["gaussian_var_below_eps"] = (      # the clamp changes the value, not the gradient (as torch)
        lambda x, t, v: TF.gaussian_nll_loss(x, t, v, eps=1e-2, reduction="none"),
        lambda x, t, v: F.gaussian_nll_loss(x, t, v, eps=1e-2, reduction="none"),
        lambda r: (r.normal(size=(5,)), r.normal(size=(5,)), np.array([0.0, 1e-3, 5e-3, 0.5, 2.0])),
        None, {})
    c["gaussian_var_number"] = (
        lambda x, t: TF.gaussian_nll_loss(x, t, 0.5), lambda x, t: F.gaussian_nll_loss(x, t, 0.5),
        lambda r: (r.normal(size=(4, 3)), r.normal(size=(4, 3))), None, {})
    for dim in (1, 0, -1):
        c[f"cosine_similarity-dim{dim}"] = (
            lambda a, b, d=dim: TF.cosine_similarity(a, b, d), lambda a, b, d=dim: F.cosine_similarity(a, b, d),
            lambda r: (r.normal(size=(3, 4, 2)), r.normal(size=(3, 4, 2))), None, {})
    c["cosine_similarity-broadcast"] = (
        lambda a, b: TF.cosine_similarity(a, b, dim=-1), lambda a, b: F.cosine_similarity(a, b, dim=-1),
        lambda r: (r.normal(size=(3, 1, 4)), r.normal(size=(5, 4))), None, {})
    c["cosine_similarity-tiny-and-zero"] = (   # norms below eps: clamped value, unclamped gradient
        lambda a, b: TF.cosine_similarity(a, b, eps=1e-3), lambda a, b: F.cosine_similarity(a, b, eps=1e-3),
        lambda r: (np.array([[1e-4, 2e-4, 0.0], [0.0, 0.0, 0.0], [1.0, -2.0, 0.5]]), r.normal(size=(3, 3))),
        None, {"finite_where_torch_nan": True})
    c["cosine_similarity-1d"] = (
        lambda a, b: TF.cosine_similarity(a, b, dim=0), lambda a, b: F.cosine_similarity(a, b, dim=0),
        lambda r: (r.normal(size=(5,)), r.normal(size=(5,))), None, {})
    for p in (2.0, 1.0, 3.0, 0.5, float("inf")):
        for keepdim in (False, True):
            c[f"pairwise_distance-p{p}-keepdim{keepdim}"] = (
                lambda a, b, p=p, k=keepdim: TF.pairwise_distance(a, b, p, keepdim=k),
                lambda a, b, p=p, k=keepdim: F.pairwise_distance(a, b, p, keepdim=k),
                lambda r: (r.normal(size=(5, 4)), r.normal(size=(5, 4))), None, {})
    c["pairwise_distance-broadcast"] = (
        lambda a, b: TF.pairwise_distance(a, b, eps=1e-3), lambda a, b: F.pairwise_distance(a, b, eps=1e-3),
        lambda r: (r.normal(size=(2, 3, 4)), r.normal(size=(4,))), None, {})
    c["pairwise_distance-1d-and-0d"] = (
        TF.pairwise_distance, F.pairwise_distance,
        lambda r: (r.normal(size=(3,)), r.normal(size=())), None, {})
    return c


CASES = _cases()
# ids whose check_vjp is skipped: kinks hit on purpose (the finite difference straddles them)
KINKED = ("smooth_l1", "huber", "margin_ranking-", "hinge", "gaussian_var_below_eps",
          "cosine_similarity-tiny", "pairwise_distance-p0.5", "pairwise_distance-pinf")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, dtype, backend):
    ours, theirs, make, diff, kw = CASES[name]
    inputs = make(np.random.default_rng(len(name)))
    with tg.set_backend(backend):
        out = compare(ours, theirs, inputs, dtype, diff=diff, **kw)
    assert out.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name", sorted(n for n in CASES if not any(k in n for k in KINKED)))
def test_check_vjp(name):
    ours, _, make, _, _ = CASES[name]
    check_vjp(ours, *make(np.random.default_rng(len(name) + 1)))


@pytest.mark.parametrize("name, f, g, make", [
    ("smooth_l1", TF.smooth_l1_loss, F.smooth_l1_loss, lambda r: _kinky_pair(r, (6,), ())),
    ("huber", lambda x, t: TF.huber_loss(x, t, delta=0.7), lambda x, t: F.huber_loss(x, t, delta=0.7),
     lambda r: _kinky_pair(r, (6,), ())),
    ("margin_ranking", lambda a, b, y: TF.margin_ranking_loss(a, b, y, 0.2),
     lambda a, b, y: F.margin_ranking_loss(a, b, y, 0.2), lambda r: (r.normal(size=6), r.normal(size=6), _pm1(r, 6))),
    ("hinge", TF.hinge_embedding_loss, F.hinge_embedding_loss,   # an integer y: check_vjp keeps it
     lambda r: (r.normal(size=6), _pm1(r, 6).astype(np.int64))),
    ("pairwise_inf", lambda a, b: TF.pairwise_distance(a, b, float("inf")),
     lambda a, b: F.pairwise_distance(a, b, float("inf")), lambda r: (r.normal(size=(3, 4)), r.normal(size=(3, 4)))),
])
def test_check_vjp_away_from_kinks(name, f, g, make):
    """The kinked losses at random points (kinks a.s. missed) -- the hand-placed kink values are
    compared with torch above."""
    inputs = make(np.random.default_rng(7))
    check_vjp(f, *inputs)
    compare(f, g, inputs)


def test_kl_div_zero_targets_and_mean_warning():
    """t = 0 contributes 0 (torch's xlogy); torch's target gradient is NaN there, so only the
    input's gradient is compared. reduction 'mean' warns as torch."""
    x = np.log(np.random.default_rng(0).dirichlet(np.ones(4), 3))
    t = np.array([[0.0, 0.5, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0], [0.25] * 4])
    for red in ("sum", "batchmean", "none"):
        compare(lambda a, b: TF.kl_div(a, b, reduction=red), lambda a, b: F.kl_div(a, b, reduction=red), [x, t], diff=[0])
    with pytest.warns(UserWarning, match="batchmean"):
        TF.kl_div(tg.tensor(x), tg.tensor(t))
    assert TF.kl_div(tg.tensor(np.array(-1.0)), tg.tensor(np.array(0.5)), reduction="batchmean").shape == ()


def test_empty_inputs_follow_torch():
    e = np.zeros((0, 3))
    for red in REDUCTIONS:
        for ours, theirs in [(TF.smooth_l1_loss, F.smooth_l1_loss), (TF.huber_loss, F.huber_loss),
                             (TF.soft_margin_loss, F.soft_margin_loss), (TF.poisson_nll_loss, F.poisson_nll_loss)]:
            compare(lambda a, b: ours(a, b, reduction=red), lambda a, b: theirs(a, b, reduction=red), [e, e],
                    diff=[0])


BAD_REDUCTION = [
    ("smooth_l1_loss", 2), ("huber_loss", 2), ("kl_div", 2), ("soft_margin_loss", 2),
    ("hinge_embedding_loss", 2), ("margin_ranking_loss", 3), ("cosine_embedding_loss", 3),
    ("triplet_margin_loss", 3), ("poisson_nll_loss", 2), ("gaussian_nll_loss", 3),
]


@pytest.mark.parametrize("name, n_args", BAD_REDUCTION)
def test_bad_reduction_is_torchs_value_error(name, n_args):
    r = np.random.default_rng(0)
    arrays = [r.uniform(0.1, 1, (3, 2)) for _ in range(n_args)]
    if name == "cosine_embedding_loss":
        arrays[2] = np.ones(3)
    same_error(lambda: getattr(TF, name)(*[tg.tensor(a) for a in arrays], reduction="avg"),
               lambda: getattr(F, name)(*[torch.tensor(a) for a in arrays], reduction="avg"))
    with pytest.raises(ValueError, match=f"{name}: avg is not a valid value for reduction"):
        getattr(TF, name)(*[tg.tensor(a) for a in arrays], reduction="avg")


def _t(*arrays):
    return [tg.tensor(np.asarray(a)) for a in arrays], [torch.tensor(np.asarray(a)) for a in arrays]


@pytest.mark.parametrize("name, arrays, kw", [
    ("smooth_l1_loss", (np.ones(3), np.ones(3)), {"beta": -1.0}),
    ("huber_loss", (np.ones(3), np.ones(3)), {"delta": 0.0}),
    ("huber_loss", (np.ones(3), np.ones(3)), {"delta": -1.0}),
    ("margin_ranking_loss", (np.ones(3), np.ones((3, 1)), np.ones(3)), {}),
    ("cosine_embedding_loss", (np.ones((3, 2)), np.ones((3, 2)), np.ones(())), {}),
    ("cosine_embedding_loss", (np.ones((3, 2)), np.ones((3, 2)), np.ones((1, 3))), {}),
    ("cosine_embedding_loss", (np.ones(2), np.ones(2), np.ones(2)), {}),
    ("triplet_margin_loss", (np.ones((3, 2)), np.ones((3, 2)), np.ones(2)), {}),
    ("triplet_margin_loss", (np.ones((3, 2)), np.ones((3, 2)), np.ones((3, 2))), {"margin": -1.0}),
    ("gaussian_nll_loss", (np.ones(3), np.ones(3), np.ones(2)), {}),
    ("gaussian_nll_loss", (np.ones((2, 3)), np.ones((2, 3)), np.ones((1, 1))), {}),
    ("gaussian_nll_loss", (np.ones(3), np.ones(3), -np.ones(3)), {}),
    ("cosine_similarity", (np.ones((3, 4)), np.ones(4)), {"dim": 2}),
])
def test_bad_arguments_raise_torchs_errors(name, arrays, kw):
    ours, theirs = _t(*arrays)
    same_error(lambda: getattr(TF, name)(*ours, **kw), lambda: getattr(F, name)(*theirs, **kw))
    with pytest.raises(Exception, match=f"^{name}: "):
        getattr(TF, name)(*ours, **kw)


def test_shapes_that_do_not_broadcast():
    """torch's RuntimeError; tinygan's broadcasting errors are ValueErrors naming the shapes."""
    with pytest.raises(ValueError, match=r"cosine_similarity: shapes \(3, 4\) and \(5,\)"):
        TF.cosine_similarity(tg.tensor(np.ones((3, 4))), tg.tensor(np.ones(5)))
    with pytest.raises(ValueError, match=r"pairwise_distance: shapes \(3, 4\) and \(5,\)"):
        TF.pairwise_distance(tg.tensor(np.ones((3, 4))), tg.tensor(np.ones(5)))


def test_gaussian_nll_negative_number_var():
    x = np.ones(3)
    same_error(lambda: TF.gaussian_nll_loss(tg.tensor(x), tg.tensor(x), -1.0),
               lambda: F.gaussian_nll_loss(torch.tensor(x), torch.tensor(x), -1.0))


def test_regression_losses_require_equal_shapes():
    """torch broadcasts a target of another shape (with a warning); tinygan refuses it, as its
    mse_loss and l1_loss do: a one-line error naming both shapes."""
    for f in (TF.smooth_l1_loss, TF.huber_loss, TF.soft_margin_loss):
        with pytest.raises(ValueError, match=r"input shape \(3,\) and target shape \(3, 1\) differ"):
            f(tg.tensor(np.ones(3)), tg.tensor(np.ones((3, 1))))


# ---- modules ----------------------------------------------------------------------------------
MODULES = [
    ("SmoothL1Loss", {}, 2), ("SmoothL1Loss", {"beta": 0.5, "reduction": "sum"}, 2),
    ("SmoothL1Loss", {"size_average": False}, 2),
    ("HuberLoss", {}, 2), ("HuberLoss", {"delta": 2.0, "reduction": "none"}, 2),
    ("KLDivLoss", {"reduction": "batchmean"}, 2), ("KLDivLoss", {"reduction": "sum", "log_target": True}, 2),
    ("KLDivLoss", {"reduce": False}, 2),
    ("MarginRankingLoss", {}, 3), ("MarginRankingLoss", {"margin": 0.3, "reduction": "sum"}, 3),
    ("SoftMarginLoss", {}, 2), ("SoftMarginLoss", {"reduction": "none"}, 2),
    ("HingeEmbeddingLoss", {}, 2), ("HingeEmbeddingLoss", {"margin": 2.0}, 2),
    ("CosineEmbeddingLoss", {}, 3), ("CosineEmbeddingLoss", {"margin": 0.1, "reduction": "none"}, 3),
    ("TripletMarginLoss", {}, 3), ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, 3),
    ("PoissonNLLLoss", {}, 2), ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-6}, 2),
    ("GaussianNLLLoss", {}, 3), ("GaussianNLLLoss", {"full": True, "eps": 1e-3, "reduction": "sum"}, 3),
    ("CosineSimilarity", {}, 2), ("CosineSimilarity", {"dim": 0, "eps": 1e-6}, 2),
    ("PairwiseDistance", {}, 2), ("PairwiseDistance", {"p": 1.0, "eps": 0.0, "keepdim": True}, 2),
]


def _module_inputs(name, n, r):
    x = [r.normal(size=(4, 3)) for _ in range(n)]
    if name in ("KLDivLoss",):
        x = [np.log(r.dirichlet(np.ones(3), 4)), r.dirichlet(np.ones(3), 4)]
    if name in ("MarginRankingLoss",):
        x = [r.normal(size=4), r.normal(size=4), _pm1(r, 4)]
    if name in ("SoftMarginLoss", "HingeEmbeddingLoss"):
        x[1] = _pm1(r, (4, 3))
    if name == "CosineEmbeddingLoss":
        x[2] = _pm1(r, 4)
    if name == "PoissonNLLLoss":
        x = [r.uniform(0.1, 2, (4, 3)), r.uniform(0, 3, (4, 3))]
    if name == "GaussianNLLLoss":
        x[2] = r.uniform(0.1, 2, (4, 3))
    return x


@pytest.mark.parametrize("k", range(len(MODULES)))
def test_modules_match_torch(k):
    name, kw, n = MODULES[k]
    ours, theirs = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    public = {a: v for a, v in vars(theirs).items() if not a.startswith("_") and a != "training"}
    assert public, name
    for attr, value in public.items():
        assert getattr(ours, attr) == value, f"{name}.{attr}"
    assert list(ours.parameters()) == [] and ours.state_dict() == {} == dict(theirs.state_dict())
    inputs = _module_inputs(name, n, np.random.default_rng(k))
    diff = [0] if name in ("SoftMarginLoss", "HingeEmbeddingLoss") else None
    compare(ours, theirs, inputs, diff=diff)


def test_module_constructor_errors():
    for args in [{"margin": 0.0}, {"margin": -1.0}]:
        same_error(lambda: nn.TripletMarginLoss(**args), lambda: torch.nn.TripletMarginLoss(**args))
    with pytest.raises(ValueError, match="KLDivLoss: reduction"):
        nn.KLDivLoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
