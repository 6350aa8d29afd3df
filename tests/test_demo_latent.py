"""``python -m tinygan.demo latent RUN`` on tiny DCGAN and cGAN checkpoints: the PNG's layout, the
arithmetic on the generator's input, and one-line errors."""
import numpy as np
import pytest
from PIL import Image

from tinygan import demo, demo_latent
from tinygan.train import main as train_main

TINY = ["--n-train", "16", "--batch-size", "4", "--no-progress", "--max-steps", "1"]


@pytest.fixture(autouse=True)
def _small(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(demo_latent, "POOL", 200)
    monkeypatch.setattr(demo_latent, "CONFIDENT", 0.0)      # an untrained G: any reading counts


def _rows(png):
    h = Image.open(png).size[1] // 2                         # scale 2, 28 px + 2 px per row
    return (h - 2) // 30


@pytest.mark.parametrize("model, extra", [("dcgan", []), ("cgan", ["--arch", "mlp"])])
def test_latent_png_for_dcgan_and_cgan(tmp_path, model, extra):
    run = tmp_path / model
    assert train_main([model, *TINY, "--out", str(run), *extra]) == 0
    out = tmp_path / "latent.png"
    result = demo.main(["latent", str(run), "--out", str(out), "--pairs", "2", "--arithmetic", "1-1+3"])
    interp = 2 if model == "dcgan" else 4                    # cGAN: z rows and y rows
    assert out.is_file() and _rows(out) == interp + 1 + len(result["arithmetic"])
    assert Image.open(out).size[0] == 2 * (10 * 30 + 2)
    for row in result["arithmetic"]:
        assert len(row["lenet_reads"]) == demo_latent.DRAWS and min(row["averaged"]) >= 1


def test_arithmetic_on_the_cgan_input_is_on_z_and_y():
    class Fake:
        kind, z_dim, classes = "cgan", 3, 10
        inputs = demo_latent.LatentModel.inputs
    v = Fake().inputs(np.zeros((2, 3), np.float32), np.array([7, 1]))
    assert v.shape == (2, 13) and v[0, 3 + 7] == 1 and v[1, 3 + 1] == 1
    row = demo_latent.lerp_rows(np.zeros((1, 2)), np.ones((1, 2)), steps=5)
    np.testing.assert_allclose(row[:, 0], [0, 0.25, 0.5, 0.75, 1])


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    assert demo.main(["latent", str(tmp_path / "nothing"), "--out", str(tmp_path / "a.png")]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    run = tmp_path / "s"
    assert train_main(["sgan", "--n-train", "40", "--batch-size", "8", "--labels", "10", "--no-progress",
                       "--max-steps", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    assert demo.main(["latent", str(run), "--out", str(tmp_path / "b.png")]) == 1
    assert "needs one of `train dcgan` or `train cgan`" in capsys.readouterr().err
    assert demo.main(["latent", str(run), "--arithmetic", "7+1-4"]) == 1
    assert "--arithmetic '7+1-4': expected a-b+c" in capsys.readouterr().err
