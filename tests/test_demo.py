"""``python -m funcgrad`` runs and prints every result of the autograd lecture."""
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_demo_prints_the_lecture_results():
    result = subprocess.run([sys.executable, "-m", "funcgrad"], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # 1. gradients of y*log(x) + sin(y) at (2, 3)
    assert "=  1.5000" in out and "= -0.2968" in out, out
    # 2. intermediate gradient of (x + y)**2 via retain_grad
    assert "d out/dx = 10, d out/dy = 10, d out/ds = 10" in out, out
    # 3. stop_gradient: zero gradient, then the "error" policy's message
    assert "df/dx = 3, df/dy = 0" in out, out
    assert "fg.DisconnectedGradientError:" in out, out
    assert "argument 1 ('y')" in out, out
    # 4. the IR of a gradient, in the jaxpr text style
    assert "{ lambda ; a:f64[] b:f64[]. let" in out, out
    assert "log a" in out and "cos b" in out, out
    # 5. third derivative of sin(x)*x*x at 1.3 = 6cos(x) - 6x sin(x) - x^2 cos(x)
    assert out.count("-6.3628338949") == 2, out
