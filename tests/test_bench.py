"""``python -m tinygan.bench``: the front door runs end to end on tiny batches and writes its
table and JSON (what the numbers are is benchmarks/README.md's business, never a test's)."""
from __future__ import annotations

import json

import pytest

from tinygan import bench


@pytest.fixture(autouse=True)
def _no_pauses(monkeypatch):
    """The bench pauses 0.3 s whenever it switches library; the smoke tests need no such care."""
    monkeypatch.setattr(bench.time, "sleep", lambda seconds: None)


def test_bench_smoke(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "bench.json"
    assert bench.main(["--backend", "numpy", "--batch", "2", "--reps", "5", "--threads", "1",
                       "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| batch | layer | kernel |" in text and "DCGAN train step" in text
    report = json.loads(out.read_text())
    numpy_report = report["backends"]["numpy"]
    assert len(numpy_report["kernels"]) == 15 + 6 + 3      # 5 conv layers x 3 kernels + 3 BN x 2 + minibatch disc.
    for row in numpy_report["kernels"]:
        assert row["tinygan_ms"] > 0 and row["torch_ms"] > 0
        assert row.get("max_rel_err", 0) < 1e-3             # checked against torch on the same inputs
    (step,) = numpy_report["train_step"]
    assert step["batch"] == 2 and step["steps_timed"] == 15
    assert step["tinygan_images_per_s"] > 0 and step["torch_images_per_s"] > 0
    assert numpy_report["compile_seconds"] is None


def test_bench_rejects_too_few_reps(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--reps", "2"])
    assert "--reps must be at least 5" in capsys.readouterr().err


def test_bench_without_torch_prints_tinygans_figures(monkeypatch, capsys, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)       # `import torch` now raises ImportError
    out = tmp_path / "bench.json"
    assert bench.main(["--batch", "2", "--reps", "5", "--threads", "1", "--no-kernels",
                       "--json", str(out)]) == 0
    assert "torch is not installed" in capsys.readouterr().out
    (step,) = next(iter(json.loads(out.read_text())["backends"].values()))["train_step"]
    assert step["tinygan_images_per_s"] > 0 and "torch_images_per_s" not in step
