"""Run the doctests of every module under ``funcgrad/``, and the examples in README.md.

Doctests are opt-in for pytest (no ``--doctest-modules``); this file collects them instead, one
test per module. A module whose import needs an optional dependency that is not installed
(numba for the compiled backend, a benchmark peer, ...) is skipped, not failed.
"""
import doctest
import importlib
import os
import pkgutil

import pytest

import funcgrad

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
# ``__main__`` is the demo script; tests/test_demo.py runs it in a subprocess.
SKIP = {"funcgrad.__main__"}


def _module_names():
    names = ["funcgrad"]
    for info in pkgutil.walk_packages(funcgrad.__path__, prefix="funcgrad."):
        if info.name not in SKIP:
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", _module_names())
def test_doctests(module_name, capsys):
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = (error.name or "").split(".")[0]
        if missing and missing != "funcgrad":
            pytest.skip(f"{module_name} needs {missing}, which is not installed")
        raise
    failed, attempted = doctest.testmod(module, optionflags=FLAGS, report=False)
    report = capsys.readouterr().out
    assert failed == 0, f"{failed} of {attempted} doctest examples failed in {module_name}:\n" \
                        f"{report}"


README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


@pytest.mark.skipif(not os.path.exists(README), reason="README.md is not next to tests/")
def test_readme_examples(capsys):
    """Every ``>>>`` example in README.md runs and prints what the README says."""
    failed, attempted = doctest.testfile(README, module_relative=False, optionflags=FLAGS,
                                         report=False, encoding="utf-8")
    report = capsys.readouterr().out
    assert attempted > 0
    assert failed == 0, f"{failed} of {attempted} README examples failed:\n{report}"
