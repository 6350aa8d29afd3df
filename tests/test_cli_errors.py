"""Every command-line program's bad input ends with a one-line message naming the flag, file or
variable and a non-zero exit -- never a traceback -- and leaves existing files as they were."""
import os
import sys

import pytest
from cli_helpers import cli, one_line_error, snapshot

GAN = ["tinygan.train", "gan", "--steps", "4", "--every", "2", "--batch-size", "16", "--g-hidden", "8",
       "--d-hidden", "8", "--no-progress"]
DCGAN = ["tinygan.train", "dcgan", "--n-train", "16", "--batch-size", "4", "--no-progress", "--max-steps", "1"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli-errors")
    (home / "a-file").write_text("not a folder\n")
    (home / "a-folder").mkdir()
    run = home / "gan"
    result = cli(home, *GAN, "--max-steps", "2", "--out", run)
    assert result.returncode == 0, result.stderr
    corrupt = home / "corrupt-mnist"          # four IDX files, one of them cut short
    from tinygan.data.mnist import FILES, write_idx
    corrupt.mkdir()
    for name, (stem, *_rest) in FILES.items():
        write_idx(corrupt / stem, [[[0] * 28] * 28] * 4 if name.endswith("images") else [1, 2, 3, 4])
    images = corrupt / FILES["train_images"][0]
    images.write_bytes(images.read_bytes()[:-100])
    return home


# A folder no one can create or write in: /proc refuses (root included).
READ_ONLY = "/proc/self/tinygan-out"


@pytest.mark.parametrize("argv, fragments, prog", [
    # 8: --out that is a file, under a file, or not writable
    (DCGAN + ["--out", "{home}/a-file"], ["--out {home}/a-file is a file, not a folder"], "tinygan.train dcgan"),
    (DCGAN + ["--out", READ_ONLY], [f"--out {READ_ONLY}: cannot create the folder"], "tinygan.train dcgan"),
    (GAN + ["--out", "{home}/a-file"], ["--out {home}/a-file is a file, not a folder"], "tinygan.train gan"),
    (GAN + ["--out", "{home}/a-file/run"], ["--out {home}/a-file/run: cannot create the folder"], "tinygan.train gan"),
    (["tinygan.sample", "{home}/gan", "--out", "{home}/a-folder"], ["--out {home}/a-folder is a folder"], "tinygan.sample"),
    (["tinygan.sample", "{home}/gan", "--out", "{home}/a-file/g.png"], ["{home}/a-file is a file"], "tinygan.sample"),
    (["tinygan.sample", "{home}/gan", "--out", READ_ONLY + "/g.png"], ["--out", "cannot create"], "tinygan.sample"),
    (["tinygan.eval", "{home}/gan", "--out", "{home}/a-file"], ["--out {home}/a-file is a file"], "tinygan.eval"),
    (["tinygan.eval", "{home}/gan", "--out", READ_ONLY], ["--out", "cannot create the folder"], "tinygan.eval"),
    # 8: train gan's settings and data
    (GAN + ["--betas", "1.5", "0.9"], ["argument --betas: must be in [0, 1), got 1.5"], None),
    (GAN + ["--d-dropout", "1.5"], ["argument --d-dropout: must be in [0, 1), got 1.5"], None),
    (GAN + ["--g-hidden", "0"], ["argument --g-hidden: must be > 0, got 0"], None),
    (GAN + ["--g-hidden", "-4"], ["argument --g-hidden: must be > 0, got -4"], None),
    (GAN + ["--data", "mnist", "--batch-size", "5000", "--out", "{home}/big-batch"],
     ["--batch-size 5000 is larger than the 4500 training digits"], "tinygan.train gan"),
    (GAN + ["--data", "mnist", "--data-dir", "{home}/corrupt-mnist", "--out", "{home}/bad-data"],
     ["train-images-idx3-ubyte", "truncated or corrupt"], "tinygan.train gan"),
    # 8: the other programs
    (["tinygan.bench", "--backend", "bogus"], ["argument --backend: invalid choice: 'bogus'", "numpy"], None),
    (["tinygan.bench", "--batch", "0"], ["argument --batch: must be > 0, got 0"], None),
    (["tinygan.bench", "--threads", "0"], ["argument --threads: must be > 0, got 0"], None),
    (["tinygan.train", "bilinear", "--steps", "-3"], ["argument --steps: must be > 0, got -3"], None),
    (["tinygan.eval", "{home}/gan", "--parzen-n", "0"], ["--parzen-n must be >= 2"], None),
    # 9: silent bad hyper-parameters
    (["tinygan.train", "bilinear", "--lr", "nan"], ["argument --lr: must be a finite number, got nan"], None),
    (["tinygan.demo", "transpose_conv", "--iters", "-5"], ["argument --iters: must be > 0, got -5"], None),
    (DCGAN + ["--lr", "inf"], ["argument --lr: must be a finite number, got inf"], None),
    # networks no machine can hold (terabytes): one line, no traceback
    (DCGAN + ["--ngf", "1000000000", "--out", "{home}/huge-g"], ["out of memory building the networks"],
     "tinygan.train dcgan"),
    (GAN + ["--g-hidden", "1000000000000", "--out", "{home}/huge-mlp"], ["out of memory"], "tinygan.train gan"),
    (["tinygan.eval", "{home}/gan", "--n", "100000000000", "--out", "{home}/huge-eval"], ["out of memory for --n"],
     "tinygan.eval"),
])
def test_bad_input_is_a_one_line_error(home, argv, fragments, prog):
    before = snapshot(home / "gan")
    result = cli(home, *(a.format(home=home) for a in argv))
    line = one_line_error(result, *(f.format(home=home) for f in fragments), prog=prog)
    if prog is None:                          # argparse: exit 2, "<prog>: error: <message>"
        assert result.returncode == 2 and (": error: argument" in line or ": error: --" in line), line
    else:
        assert result.returncode == 1
    assert snapshot(home / "gan") == before
    assert (home / "a-file").read_text() == "not a folder\n"


def test_data_command_with_a_corrupt_cache(home, tmp_path):
    import shutil
    shutil.copytree(home / "corrupt-mnist", tmp_path / "cache" / "mnist")
    result = cli(home, "tinygan.data", "mnist", TINYGAN_DATA=tmp_path / "cache")
    one_line_error(result, "train-images-idx3-ubyte", "truncated or corrupt", "--download",
                   prog="tinygan.data")


# ----- 7: TINYGAN_BACKEND is checked like --backend -----------------------------------------------
@pytest.mark.parametrize("argv", [DCGAN, GAN, ["tinygan.sample", "{home}/gan"], ["tinygan.eval", "{home}/gan"],
                                  ["tinygan.bench", "--no-step"], ["tinygan.train", "bilinear"],
                                  ["tinygan.demo", "transpose_conv", "--no-plots"]])
def test_unknown_tinygan_backend_is_refused(home, argv):
    before = snapshot(home / "gan")
    result = cli(home, *(a.format(home=home) for a in argv), TINYGAN_BACKEND="bogus")
    one_line_error(result, "TINYGAN_BACKEND='bogus' is not a backend", "numpy")
    assert result.returncode == 1 and not (home / "runs").exists()
    assert snapshot(home / "gan") == before


def test_unavailable_tinygan_backend_is_refused(home):
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed: the cuda backend may load here")
    except ImportError:
        pass
    result = cli(home, *DCGAN, TINYGAN_BACKEND="cuda")
    one_line_error(result, "TINYGAN_BACKEND='cuda': backend 'cuda' is unavailable", prog="tinygan.train dcgan")


def test_library_refuses_an_unknown_tinygan_backend(monkeypatch):
    from tinygan import backends
    monkeypatch.setenv("TINYGAN_BACKEND", "bogus")
    with pytest.raises(ValueError, match="TINYGAN_BACKEND='bogus' is not a backend"):
        backends.current("cpu")
    with pytest.raises(ValueError, match="is not a backend"):
        backends.check_env()
    monkeypatch.setenv("TINYGAN_BACKEND", "numpy")
    assert backends.check_env() == "numpy" and backends.current("cpu") == "numpy"


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder_for_a_normal_user(home, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    one_line_error(cli(home, *GAN, "--out", locked / "run"), "cannot create the folder",
                   prog="tinygan.train gan")


def test_out_of_memory_leaves_no_run_folder_of_its_own_and_keeps_the_users(home, tmp_path):
    huge = ["--g-hidden", "1000000000000"]                 # terabytes: no machine holds them
    one_line_error(cli(home, *GAN, *huge, "--out", tmp_path / "new"), "out of memory",
                   prog="tinygan.train gan")
    assert not (tmp_path / "new").exists()                 # the folder it had just made, removed
    (tmp_path / "mine").mkdir()
    one_line_error(cli(home, *GAN, *huge, "--out", tmp_path / "mine"), "out of memory",
                   prog="tinygan.train gan")
    assert (tmp_path / "mine").is_dir()                    # an empty folder the user made stays
