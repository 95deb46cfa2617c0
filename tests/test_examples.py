"""The shipped examples run, and ``train_digits`` and ``cnn_digits`` reach their promised
accuracy.

The full training run (30 epochs) takes under a second once its step is in the compile cache
(about five seconds with an empty one), so it is run as shipped rather than shortened. Skipped
without scikit-learn, an optional extra (``pip install "funcgrad[examples]"``).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba")
pytest.importorskip("sklearn")

from funcgrad.examples import cnn_digits, train_digits  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_train_digits_reaches_97_percent_and_prints_it(capsys):
    result = train_digits.main([])
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert re.fullmatch(r"test accuracy: 0\.9\d{3}", lines[-1]), lines[-1]
    assert float(lines[-1].split(": ")[1]) == round(result["test_accuracy"], 4)
    assert result["test_accuracy"] >= 0.97
    # A progress line per epoch (stdout is not a terminal here) with loss and test accuracy.
    progress = [line for line in lines if line.startswith("epoch ")]
    assert len(progress) == 30 and progress[-1].startswith("epoch 30/30 [" + "#" * 24 + "]")
    assert re.search(r"loss \d\.\d{4}  test acc 0\.\d{4}", progress[-1])
    losses = result["losses"]
    assert losses[-1] < losses[0] / 10


def test_train_digits_is_deterministic_and_evaluates_in_eval_mode():
    data = train_digits.load_data(0)
    first = train_digits.train(epochs=2, progress=False, data=data)
    second = train_digits.train(epochs=2, progress=False, data=data)
    assert first["losses"] == second["losses"]
    model = train_digits.build_model()
    # accuracy() uses train=False: no key needed, and the same answer twice.
    accuracy = train_digits.accuracy(model, first["params"], first["state"], data["x_test"],
                                     data["y_test"])
    assert accuracy == first["test_accuracy"]
    assert first["state"]["1"]["mean"].dtype == np.float32


def test_python_dash_m_runs_the_example():
    done = subprocess.run([sys.executable, "-m", "funcgrad.examples.train_digits",
                           "--epochs", "2"], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^test accuracy: 0\.\d{4}$", done.stdout, re.MULTILINE), done.stdout


def test_a_missing_scikit_learn_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(SystemExit, match="needs scikit-learn"):
        train_digits.load_data()


def test_char_transformer_learns_and_writes():
    # A short eager run (no compile): the loss falls from ln(chars) and the sample continues
    # the prompt with characters of the text's alphabet.
    from funcgrad.examples import char_transformer
    result = char_transformer.train(steps=30, batch_size=8, jit=False, progress=False,
                                    sample_length=12)
    losses, alphabet = result["losses"], result["alphabet"]
    assert abs(losses[0] - np.log(len(alphabet))) < 0.3
    assert np.mean(losses[-5:]) < losses[0] - 0.8
    sample = result["sample"]
    assert sample.startswith("the fox ") and len(sample) == len("the fox ") + 12
    assert set(sample) <= set(alphabet)
    text = char_transformer.make_text(sentences=5, seed=1)
    assert text == char_transformer.make_text(sentences=5, seed=1) and text.endswith(". ")


# ------------------------------------------------------------------------------ cnn_digits
# The full run (15 epochs, 330 steps of a few milliseconds) once; the other checks take a
# few steps.

def test_cnn_digits_reaches_98_percent_and_prints_it(capsys):
    result = cnn_digits.main([])
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"test accuracy: 0\.9\d{3}", lines[-1]), lines[-1]
    assert float(lines[-1].split(": ")[1]) == round(result["test_accuracy"], 4)
    assert result["test_accuracy"] >= 0.98
    progress = [line for line in lines if line.startswith("epoch ")]
    assert len(progress) == 15 and progress[-1].startswith("epoch 15/15 [" + "#" * 24 + "]")
    assert re.search(r"loss \d\.\d{4}  test acc 0\.\d{4}", progress[-1])
    assert result["losses"][-1] < result["losses"][0] / 10


def test_cnn_digits_is_deterministic_and_evaluates_in_eval_mode():
    data = cnn_digits.load_data(0)
    assert data["x_train"].shape[1:] == (1, 8, 8) and data["x_train"].dtype == np.float32
    first = cnn_digits.train(epochs=2, progress=False, data=data, max_steps=5)
    second = cnn_digits.train(epochs=2, progress=False, data=data, max_steps=5)
    assert first["losses"] == second["losses"] and len(first["losses"]) == 2
    model = cnn_digits.build_model()
    accuracy = train_digits.accuracy(model, first["params"], first["state"], data["x_test"],
                                     data["y_test"])   # train=False: no key, no dropout
    assert accuracy == first["test_accuracy"]
    assert first["state"]["1"]["mean"].dtype == np.float32
    assert first["params"]["0"]["weight"].shape == (16, 1, 3, 3)


def test_python_dash_m_runs_the_cnn_example():
    done = subprocess.run([sys.executable, "-m", "funcgrad.examples.cnn_digits",
                           "--epochs", "1"], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^epoch 1/1 \[#+\]", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^test accuracy: 0\.\d{4}$", done.stdout, re.MULTILINE), done.stdout
