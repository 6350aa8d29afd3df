"""MNIST data: the IDX reader on files the tests write, the cache, the shipped subset, the
download path (a fake transport only: tests never touch the network) and the resumable loader."""
import gzip
import hashlib
import urllib.error

import numpy as np
import pytest

from tinygan import Generator
from tinygan.data import BatchLoader, mnist
from tinygan.data.__main__ import main as data_main


def _write_mnist(folder, n_train=20, n_test=10, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        stem = mnist.FILES[name][0]
        mnist.write_idx(folder / (stem + (".gz" if gz else "")), array)
    return arrays


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_raw_and_gzip(tmp_path, suffix):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28) % 256
    path = mnist.write_idx(tmp_path / f"imgs{suffix}", images)
    raw = gzip.decompress(path.read_bytes()) if suffix else path.read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3])                        # magic 0x00000803 = 2051
    assert int.from_bytes(raw[4:8], "big") == 3
    back = mnist.read_idx(path)
    assert back.dtype == np.uint8 and back.shape == (3, 28, 28)
    assert np.array_equal(back, images)


def test_idx_bad_magic_is_a_clear_error(tmp_path):
    path = tmp_path / "bad-idx"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(mnist.MNISTFormatError, match="bad IDX magic number 0x504b0304"):
        mnist.read_idx(path)


def test_idx_truncated_raw_file(tmp_path):
    path = mnist.write_idx(tmp_path / "imgs", np.zeros((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(mnist.MNISTFormatError, match=r"shape \(4, 28, 28\).*truncated"):
        mnist.read_idx(path)


def test_idx_truncated_gzip_file(tmp_path):
    path = mnist.write_idx(tmp_path / "imgs.gz", np.ones((50, 28, 28), np.uint8) * 7)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(mnist.MNISTFormatError, match="imgs.gz"):
        mnist.read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_load_from_data_dir_says_its_source_once(tmp_path, capsys, gz):
    arrays = _write_mnist(tmp_path / "m", gz=gz)
    train = mnist.load_mnist("train", data_dir=tmp_path / "m")
    test = mnist.load_mnist("test", data_dir=tmp_path / "m", verbose=False)
    assert np.array_equal(train.images, arrays["train_images"])
    assert np.array_equal(test.labels, arrays["test_labels"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "MNIST IDX files in" in out


def test_labels_file_with_the_wrong_magic(tmp_path):
    _write_mnist(tmp_path)
    mnist.write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((20, 28, 28), np.uint8))
    with pytest.raises(mnist.MNISTFormatError, match="train-labels.*expected 0x00000801"):
        mnist.load_mnist("train", data_dir=tmp_path)


def test_image_and_label_counts_must_agree(tmp_path):
    _write_mnist(tmp_path)
    mnist.write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(9, np.uint8))
    with pytest.raises(mnist.MNISTFormatError, match="10 test images but 9 test labels"):
        mnist.load_mnist("test", data_dir=tmp_path)


def test_missing_data_dir_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        mnist.load_mnist("train", data_dir=tmp_path)


def test_cache_dir_is_used_when_it_has_the_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path))
    arrays = _write_mnist(tmp_path / "mnist", gz=True)
    data = mnist.load_mnist("train")
    assert np.array_equal(data.labels, arrays["train_labels"])
    assert str(tmp_path / "mnist") in capsys.readouterr().out


def test_shipped_subset_is_real_stratified_and_fixed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TINYGAN_DATA", str(tmp_path))          # empty cache: the fallback
    train, test = mnist.load_mnist("train"), mnist.load_mnist("test")
    assert "5,000-digit MNIST subset" in capsys.readouterr().out
    assert train.images.shape == (4500, 28, 28) and test.images.shape == (500, 28, 28)
    assert np.bincount(train.labels).tolist() == [450] * 10
    assert np.bincount(test.labels).tolist() == [50] * 10
    assert train.labels[:50].std() > 1.0                         # shuffled, not sorted by class
    assert np.array_equal(mnist.load_mnist("test", verbose=False).images, test.images)
    seen = {im.tobytes() for im in train.images}
    assert sum(im.tobytes() in seen for im in test.images) == 0  # disjoint splits
    # Real digits: mostly black background, bright strokes.
    assert 0.7 < (train.images == 0).mean() < 0.9 and train.images.max() == 255
    x = mnist.to_model_input(train.images[:8])
    assert x.shape == (8, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0


def test_download_with_a_fake_transport(tmp_path, monkeypatch):
    payloads = {stem: gzip.compress(bytes([0, 0, 8, 1]) + (1).to_bytes(4, "big") + bytes([k]))
                for k, (stem, *_rest) in enumerate(mnist.FILES.values())}
    files = {name: (stem, hashlib.sha256(payloads[stem]).hexdigest(), magic, shape)
             for name, (stem, _sha, magic, shape) in mnist.FILES.items()}
    monkeypatch.setattr(mnist, "FILES", files)
    calls = []

    def fetch(url, timeout):
        calls.append(url)
        return payloads[url.rsplit("/", 1)[1][:-3]]

    dest = mnist.download(tmp_path / "dl", timeout=1.0, fetch=fetch)
    assert len(calls) == 4 and all(url.startswith(mnist.MIRRORS[0]) for url in calls)
    assert mnist.read_idx(dest / "t10k-labels-idx1-ubyte.gz").tolist() == [3]
    mnist.download(tmp_path / "dl", fetch=fetch)                 # verified files are kept
    assert len(calls) == 4


def test_download_rejects_a_wrong_checksum(tmp_path):
    with pytest.raises(mnist.DownloadError, match="SHA-256"):
        mnist.download(tmp_path, fetch=lambda url, timeout: b"not mnist")
    assert not list(tmp_path.glob("*.gz"))


def test_download_offline_fails_fast_with_advice(tmp_path, monkeypatch, capsys):
    calls = []

    def offline(url, timeout):
        calls.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(mnist, "_urlopen_fetch", offline)
    assert data_main(["mnist", "--download", "--dest", str(tmp_path), "--timeout", "1"]) == 1
    assert len(calls) == 1                                       # no waiting on every mirror
    err = capsys.readouterr().err
    assert "Name or service not known" in err and "5,000 real digits" in err


def test_loader_epochs_and_exact_resume():
    data = np.arange(10)
    a = BatchLoader(data, 3, Generator(5))
    assert len(a) == 3                                           # drop_last: 3 batches of 3
    first = [a.next_batch() for _ in range(5)]                   # 1 epoch + 2 batches
    assert len(set(np.concatenate(first[:3]).tolist())) == 9     # no repeats within an epoch
    assert a.epoch == 1 and a.position == 2
    state = a.state_dict()
    rest_a = [a.next_batch() for _ in range(6)]
    b = BatchLoader(data, 3, Generator(123))                     # a different generator...
    b.load_state_dict(state)                                     # ...restored from the state
    rest_b = [b.next_batch() for _ in range(6)]
    assert all(np.array_equal(x, y) for x, y in zip(rest_a, rest_b))
    with pytest.raises(ValueError, match="batches of 4"):
        BatchLoader(data, 4, Generator(0)).load_state_dict(state)
