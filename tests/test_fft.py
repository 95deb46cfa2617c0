"""``funcgrad.numpy.fft``: every function against NumPy (values and dtypes, with ``n``, ``s``,
``axis``/``axes`` and each ``norm``), on concrete and traced arrays and under ``jit`` and
``vmap``; derivatives to second order in both modes (check_grads, complex inputs perturbed in
both parts); gradients against ``jax.numpy.fft`` (float64) and ``torch.fft`` where installed.

The ``fft`` primitive itself has rows in tests/test_primitives.py (FFT_ROWS).
"""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:   # optional
    jax = jnp = None

rng = np.random.default_rng(7)
X = rng.standard_normal((4, 6))
Z = X + 1j * rng.standard_normal((4, 6))
X3 = rng.standard_normal((2, 3, 4))

# name -> (function of (module, array), input): the module is numpy, funcgrad.numpy or jax.numpy
CASES = {
    "fft": (lambda m, a: m.fft.fft(a), Z),
    "fft_pad_axis0_ortho": (lambda m, a: m.fft.fft(a, n=8, axis=0, norm="ortho"), Z),
    "fft_crop_of_real": (lambda m, a: m.fft.fft(a, n=3), X),
    "ifft_forward": (lambda m, a: m.fft.ifft(a, norm="forward"), Z),
    "fft2": (lambda m, a: m.fft.fft2(a), Z),
    "ifft2_resized": (lambda m, a: m.fft.ifft2(a, s=(5, 7)), Z),
    "fftn_permuted_axes": (lambda m, a: m.fft.fftn(a, axes=(1, 0)), Z),
    "ifftn_ortho": (lambda m, a: m.fft.ifftn(a, norm="ortho"), Z),
    "fftn_3d_two_axes": (lambda m, a: m.fft.fftn(a, axes=(0, 2)), X3),
    "rfft": (lambda m, a: m.fft.rfft(a), X),
    "rfft_odd_ortho": (lambda m, a: m.fft.rfft(a, n=5, norm="ortho"), X),
    "rfft_axis0_padded": (lambda m, a: m.fft.rfft(a, axis=0, n=7), X),
    "irfft": (lambda m, a: m.fft.irfft(a), Z),
    "irfft_odd_ortho": (lambda m, a: m.fft.irfft(a, n=9, norm="ortho"), Z),
    "irfft_even_forward": (lambda m, a: m.fft.irfft(a, n=8, norm="forward"), Z),
    "irfft_axis0": (lambda m, a: m.fft.irfft(a, axis=0), Z),
    "rfft2": (lambda m, a: m.fft.rfft2(a), X),
    "irfft2": (lambda m, a: m.fft.irfft2(a), Z),
    "rfftn_resized": (lambda m, a: m.fft.rfftn(a, s=(3, 5), axes=(0, 1)), X),
    "rfftn_permuted": (lambda m, a: m.fft.rfftn(a, axes=(1, 0)), X),
    "rfftn_3d": (lambda m, a: m.fft.rfftn(a, axes=(0, 2), norm="forward"), X3),
    "irfftn_resized": (lambda m, a: m.fft.irfftn(a, s=(4, 7), axes=(0, 1)), Z),
    "irfftn_permuted": (lambda m, a: m.fft.irfftn(a, axes=(1, 0)), Z),
    "hfft": (lambda m, a: m.fft.hfft(a), Z),
    "hfft_odd_ortho": (lambda m, a: m.fft.hfft(a, n=7, norm="ortho"), Z),
    "ihfft": (lambda m, a: m.fft.ihfft(a), X),
    "ihfft_forward": (lambda m, a: m.fft.ihfft(a, n=5, norm="forward"), X),
    "fftshift": (lambda m, a: m.fft.fftshift(a), Z),
    "ifftshift_axis1": (lambda m, a: m.fft.ifftshift(a, axes=1), X),
    "fftshift_3d": (lambda m, a: m.fft.fftshift(a, axes=(0, 2)), X3),
}


def _traced(fn, *args):
    return fg.make_ir(fn)(*args), fg.jit(fn)(*args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_dtypes_match_numpy(name):
    fn, a = CASES[name]
    want = fn(np, a)
    concrete = fn(fnp, a)
    assert isinstance(concrete, fg.Array)
    np.testing.assert_array_equal(concrete, want)
    traced = fg.jit(lambda a: fn(fnp, a))(a)
    assert traced.dtype == want.dtype and traced.shape == want.shape
    np.testing.assert_allclose(traced, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["fft", "rfft_odd_ortho", "irfft_even_forward", "hfft",
                                  "ihfft", "rfftn_permuted", "irfft2"])
def test_single_precision_stays_single(name):
    fn, a = CASES[name]
    a = a.astype(np.complex64 if a.dtype.kind == "c" else np.float32)
    want = fn(np, a)
    got = fg.jit(lambda a: fn(fnp, a))(a)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    grad = fg.grad(lambda a: fnp.sum(fnp.abs(fn(fnp, a)) ** 2))(a)
    assert grad.dtype == a.dtype


@pytest.mark.parametrize("name", sorted(CASES))
def test_derivatives_to_second_order(name):
    fn, a = CASES[name]
    fg.check_grads(lambda a: fn(fnp, a), (a,), order=2)


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_matches_a_loop(name):
    fn, a = CASES[name]
    batch = np.stack([a, 2.0 * a - 1.0, a[::-1]])
    want = np.stack([fn(np, example) for example in batch])
    np.testing.assert_allclose(fg.vmap(lambda a: fn(fnp, a))(batch), want, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(fg.vmap(lambda a: fn(fnp, a), in_axes=1)(np.moveaxis(batch, 0, 1)),
                               want, rtol=1e-12, atol=1e-12)


def _loss(m, fn, weights):
    """A real loss of a transform: a weighted real part plus the energy."""
    def loss(a):
        out = fn(m, a)
        return m.sum(m.real(out * weights) + m.abs(out) ** 2)
    return loss


def _weights(fn, a):
    shape = fn(np, a).shape
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


@pytest.mark.skipif(jax is None, reason="JAX is not installed")
@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_jax(name):
    fn, a = CASES[name]
    weights = _weights(fn, a)
    want = np.asarray(jax.grad(_loss(jnp, fn, weights))(jnp.asarray(a)))
    got = fg.grad(_loss(fnp, fn, weights))(a)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fg.jit(fg.grad(_loss(fnp, fn, weights)))(a), want, rtol=1e-10,
                               atol=1e-10)


def test_reverse_mode_matches_torch():
    """PyTorch's gradient of a real loss of complex z is conj(JAX's) (it returns dL/dx +
    i dL/dy); of real inputs the two agree."""
    torch = pytest.importorskip("torch")
    for transform, torch_transform, a in (
            (fnp.fft.fft, torch.fft.fft, Z), (fnp.fft.rfft, torch.fft.rfft, X),
            (lambda a: fnp.fft.irfft(a, n=9), lambda a: torch.fft.irfft(a, n=9), Z),
            (fnp.fft.fft2, torch.fft.fft2, Z)):
        out = np.asarray(transform(a))
        w = rng.standard_normal(out.shape) + (1j * rng.standard_normal(out.shape)
                                              if out.dtype.kind == "c" else 0.0)

        def loss(a, transform=transform, w=w):
            return fnp.sum(fnp.real(transform(a) * w)) + fnp.sum(fnp.abs(transform(a)) ** 2)

        leaf = torch.tensor(a, requires_grad=True)
        out = torch_transform(leaf)
        value = torch.sum(torch.real(out * torch.tensor(w))) + torch.sum(torch.abs(out) ** 2)
        value.backward()
        want = leaf.grad.numpy()
        got = fg.grad(loss)(a)
        np.testing.assert_allclose(got, np.conj(want), rtol=1e-10, atol=1e-10)


def test_parseval_gradient():
    x = np.array([1.0, 2.0, 0.0, -1.0])
    np.testing.assert_allclose(fg.grad(lambda x: fnp.sum(fnp.abs(fnp.fft.fft(x)) ** 2))(x),
                               2 * len(x) * x)


def test_frequencies():
    np.testing.assert_array_equal(fnp.fft.fftfreq(5, 0.1), np.fft.fftfreq(5, 0.1))
    np.testing.assert_array_equal(fnp.fft.rfftfreq(6), np.fft.rfftfreq(6))
    np.testing.assert_allclose(fg.jit(lambda d: fnp.fft.fftfreq(6, d))(0.5),
                               np.fft.fftfreq(6, 0.5))
    np.testing.assert_allclose(fg.grad(lambda d: fnp.sum(fnp.fft.rfftfreq(6, d)))(0.5),
                               -np.sum(np.fft.rfftfreq(6)) / 0.25)


def test_errors():
    with pytest.raises(ValueError, match="invalid norm"):
        fg.jit(lambda z: fnp.fft.fft(z, norm="sideways"))(Z)
    with pytest.raises(TypeError, match="takes real arrays"):
        fg.jit(fnp.fft.rfft)(Z)
    with pytest.raises(ValueError, match="invalid number of data points"):
        fg.jit(lambda z: fnp.fft.fft(z, n=0))(Z)
    with pytest.raises(TypeError, match="out="):
        fg.jit(lambda z: fnp.fft.fft(z, out=np.empty(6, complex)))(Z)


def test_integer_input_is_float64():
    a = np.arange(6)
    assert fg.jit(fnp.fft.fft)(a).dtype == np.fft.fft(a).dtype
    assert fg.jit(fnp.fft.rfft)(a).dtype == np.fft.rfft(a).dtype


def test_compiled_program_around_a_transform():
    """Under jit the transform is a call into pocketfft between fused kernels."""
    pytest.importorskip("numba")

    def spectrum_energy(x):
        return fnp.sum(fnp.abs(fnp.fft.rfft(fnp.sin(x) * 2.0)) ** 2)

    grad = fg.jit(fg.grad(spectrum_energy))
    np.testing.assert_allclose(grad.compile(X)(X), fg.grad(spectrum_energy)(X), rtol=1e-12)
