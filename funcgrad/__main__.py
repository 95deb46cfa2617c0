"""``python -m funcgrad``: a short tour, redoing the PyTorch autograd lecture with funcgrad.

Each section prints what funcgrad computes and, where there is one, the value the lecture (or
calculus) gives for comparison.
"""
from __future__ import annotations

import math
import textwrap

import funcgrad as fg
import funcgrad.numpy as fnp


def _heading(title: str) -> None:
    print()
    print(title)
    print("-" * len(title))


def _seed(x, y):
    return y * fnp.log(x) + fnp.sin(y)


def gradients_of_the_seed_function() -> None:
    _heading("1. Gradients of f(x, y) = y*log(x) + sin(y) at (2, 3)")
    print("PyTorch: x.requires_grad_(); out.backward(); x.grad.  funcgrad: a function that")
    print("returns the gradient, here with respect to both arguments (argnums=(0, 1)).")
    dx, dy = fg.grad(_seed, argnums=(0, 1))(2.0, 3.0)
    print(f"  df/dx = y/x             = {dx: .4f}   (lecture:  1.5)")
    print(f"  df/dy = log(x) + cos(y) = {dy: .4f}   (lecture: -0.2968)")


def intermediate_gradient() -> None:
    _heading("2. The gradient of an intermediate: s = x + y; out = s**2 at (2, 3)")
    print("PyTorch: s.retain_grad(); s.grad.  funcgrad: mark s with fg.retain_grad(s, name)")
    print("and ask for retained=True; the marks are ignored otherwise.")

    def square_of_sum(x, y):
        s = fg.retain_grad(x + y, "s")
        return s**2

    (dx, dy), retained = fg.grad(square_of_sum, argnums=(0, 1), retained=True)(2.0, 3.0)
    print(f"  d out/dx = {dx:g}, d out/dy = {dy:g}, d out/ds = {retained['s']:g}"
          "   (expected 10, 10, 10)")


def stopped_gradient() -> None:
    _heading("3. stop_gradient: a value that gradients do not flow through")
    print("PyTorch: y.detach() or torch.no_grad().  funcgrad: fg.stop_gradient(y). By default")
    print("a gradient that cannot flow is zero, as in JAX.")

    def detached(x, y):
        return x * fg.stop_gradient(y)

    dx, dy = fg.grad(detached, argnums=(0, 1))(2.0, 3.0)
    print(f"  f(x, y) = x * stop_gradient(y):  df/dx = {dx:g}, df/dy = {dy:g}")
    print("With on_disconnected='error' the zero is an error instead, naming the argument:")
    try:
        fg.grad(detached, argnums=(0, 1), on_disconnected="error")(2.0, 3.0)
    except fg.DisconnectedGradientError as error:
        print(f"  fg.{type(error).__name__}:")
        for line in str(error).splitlines():
            print(textwrap.fill(line.strip(), width=88, initial_indent="  | ",
                                subsequent_indent="  |     "))


def ir_of_a_gradient() -> None:
    _heading("4. The IR of a gradient")
    print("Transformations trace Python functions into a typed IR; a gradient is just another")
    print("IR, which fg.make_ir prints (a forward pass, then the backward pass):")
    print(fg.make_ir(fg.grad(_seed, argnums=(0, 1)))(2.0, 3.0))


def third_derivative() -> None:
    _heading("5. A third derivative: grad(grad(grad(sin(x)*x*x))) at 1.3")
    print("Transformations compose, so higher derivatives are nested grads.")
    x = 1.3
    value = fg.grad(fg.grad(fg.grad(lambda x: fnp.sin(x) * x * x)))(x)
    exact = 6 * math.cos(x) - 6 * x * math.sin(x) - x * x * math.cos(x)
    print(f"  funcgrad:                                    {value:.10f}")
    print(f"  analytic: 6cos(x) - 6x sin(x) - x^2 cos(x) = {exact:.10f}")


def main() -> None:
    print(f"funcgrad {fg.__version__}: the PyTorch autograd lecture, redone functionally")
    gradients_of_the_seed_function()
    intermediate_gradient()
    stopped_gradient()
    ir_of_a_gradient()
    third_derivative()


if __name__ == "__main__":
    main()
