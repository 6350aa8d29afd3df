"""PacGAN's packing (Lin et al. 2018): the Pack layer against its definition (concatenation of
consecutive samples), its VJP, the packed discriminator against an unpacked one fed the packs by
hand, the gradient penalty taken per pack, and ``train gan --pack`` (flags, pictures, exact resume)."""
import json

import numpy as np
import pytest

import tinygan as tg
from tinygan import nn
from tinygan.checkpoint import Checkpoint
from tinygan.models.gan import Discriminator
from tinygan.nn import gan_loss
from tinygan.study import run_config
from tinygan.testing import check_vjp
from tinygan.trainers import gan as gan_trainer
from tinygan.trainers.objectives import critic_loss, describe_objective


def _by_hand(x: np.ndarray, m: int) -> np.ndarray:
    """Packs of m consecutive samples, concatenated along axis 1 (features or channels)."""
    return np.stack([np.concatenate(list(x[i:i + m]), 0) for i in range(0, len(x), m)])


def test_pack_concatenates_consecutive_samples():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2)).astype(np.float32)
    layer = nn.Pack(3, 2)
    np.testing.assert_array_equal(layer(tg.tensor(x)).numpy(), _by_hand(x, 3))       # (2, 6)
    images = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)                  # channels side by side
    np.testing.assert_array_equal(nn.Pack(2, 2)(tg.tensor(images)).numpy(), _by_hand(images, 2))
    packed = tg.tensor(_by_hand(x, 3))
    assert layer(packed) is packed                                                 # idempotent
    with pytest.raises(ValueError, match=r"Pack\(m=3\): expected \(N, 2, \.\.\.\) with N a multiple of 3, got \(5, 2\)"):
        layer(tg.tensor(x[:5]))
    with pytest.raises(ValueError, match=r"got \(6, 5\)"):
        layer(tg.tensor(np.zeros((6, 5))))
    check_vjp(lambda t: nn.Pack(2, 3)(t), tg.tensor(rng.standard_normal((4, 3))))


def test_packed_discriminator_is_a_discriminator_of_concatenated_samples():
    packed = Discriminator(2, (8, 8), pack=3, generator=tg.Generator().manual_seed(0))
    plain = Discriminator(6, (8, 8))                      # reads 6 = 3 x 2 features, no Pack layer
    plain.load_state_dict(packed.state_dict())            # Pack has no parameters: the same weights
    x = np.random.default_rng(1).standard_normal((9, 2)).astype(np.float32)
    out = packed(tg.tensor(x)).numpy()
    assert out.shape == (3,)
    np.testing.assert_allclose(out, plain(tg.tensor(_by_hand(x, 3))).numpy(), rtol=1e-6)
    np.testing.assert_allclose(packed.features(tg.tensor(x)).numpy(),
                               plain.features(tg.tensor(_by_hand(x, 3))).numpy(), rtol=1e-6)


def test_gradient_penalty_interpolates_and_takes_norms_per_pack():
    """Under wgan-gp a packed D's penalty is the penalty of the critic on packs: one interpolation
    weight and one gradient norm per pack (the point D sees), not per sample."""
    packed = Discriminator(2, (8,), pack=2, generator=tg.Generator().manual_seed(3), dtype=tg.float64)
    plain = Discriminator(4, (8,), dtype=tg.float64)
    plain.load_state_dict(packed.state_dict())
    rng = np.random.default_rng(2)
    real, fake = rng.standard_normal((8, 2)), rng.standard_normal((8, 2))
    config = {"loss": "wgan-gp", "gp_weight": 10.0}
    loss, real_out, fake_out = critic_loss(packed, tg.tensor(real), tg.tensor(fake), config,
                                           generator=tg.Generator().manual_seed(7))
    assert real_out.shape == (4,) and fake_out.shape == (4,)
    r, f = tg.tensor(_by_hand(real, 2)), tg.tensor(_by_hand(fake, 2))
    expected = (gan_loss.discriminator_loss(plain(r), plain(f), "wgan-gp")
                + gan_loss.gradient_penalty(plain, r, f, 10.0, tg.Generator().manual_seed(7)))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)


def _args(*flags):
    return gan_trainer.make_parser("").parse_args(list(flags))


def test_pack_flag_and_study_variant():
    config = gan_trainer.resolve_config(_args("--pack", "4"))
    assert config["pack"] == 4 and gan_trainer.resolve_config(_args())["pack"] == 1
    assert "PacGAN packs of 4" in describe_objective(config)
    G, D = gan_trainer.build_models(config)
    assert D.pack.m == 4 and D.net[0].in_features == 8
    with pytest.raises(SystemExit):
        _args("--pack", "0")
    assert run_config("grid", "pacgan4", 100, 0)["pack"] == 4
    assert run_config("ring", "pacgan2", 100, 0)["pack"] == 2


def test_packed_toy_gan_draws_and_resumes_bit_for_bit(tmp_path):
    """--pack 3: the data and G supply 3 x batch samples a step, the frames draw D(x, x, x), the
    critic's estimate scores 498 of its 500 points in packs, and a resumed run is the same run."""
    config = gan_trainer.resolve_config(_args(
        "--pack", "3", "--steps", "6", "--every", "3", "--batch-size", "8",
        "--g-hidden", "16", "--d-hidden", "16"))
    full = gan_trainer.train(config, tmp_path / "a", progress=False)
    part = gan_trainer.train(config, tmp_path / "b", progress=False, max_steps=3, pictures=False)
    rest = gan_trainer.train(config, tmp_path / "b", progress=False, checkpoint=Checkpoint(part["checkpoint"]),
                             pictures=False)
    rows = lambda d: [json.loads(s) for s in (tmp_path / d / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    assert [(r["d_loss"], r["g_loss"]) for r in rows("a")] == [(r["d_loss"], r["g_loss"]) for r in rows("b")]
    assert rest["final_g_loss"] == full["final_g_loss"]
    assert np.isfinite(rows("a")[-1]["critic_estimate"])
    assert (tmp_path / "a" / "frames" / "step_000006.png").is_file()
    assert full["coverage"]["num_modes"] == 8
