"""``import funcgrad``: what it loads, and what the package offers."""
import subprocess
import sys
import textwrap

LAZY = ("nn", "optim", "random")


def run_fresh(code: str) -> list[str]:
    """What ``code`` prints in a fresh interpreter (nothing of funcgrad imported yet), split."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_nn_optim_and_random_are_imported_on_first_use():
    out = run_fresh(f"""
        import sys
        import funcgrad as fg
        fg.grad(lambda x: x * x)(3.0)
        print(*[f"funcgrad.{{name}}" in sys.modules for name in {LAZY}])
        print(*[name in dir(fg) for name in {LAZY}])
        from funcgrad import nn
        import funcgrad.optim
        print(fg.nn is nn is sys.modules["funcgrad.nn"], fg.optim.adam is funcgrad.optim.adam,
              fg.random.key(0).shape == (2,), hasattr(fg, "no_such_name"))
    """)
    assert out == ["False"] * 3 + ["True"] * 3 + ["True", "True", "True", "False"]


def test_star_import_binds_the_lazy_submodules():
    out = run_fresh(f"""
        import sys
        from funcgrad import *
        print(*[globals()[name] is sys.modules[f"funcgrad.{{name}}"] for name in {LAZY}])
    """)
    assert out == ["True"] * 3
