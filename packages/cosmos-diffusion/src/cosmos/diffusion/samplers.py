"""Sigma schedules and ODE samplers for EDM denoisers, as free functions with one signature.

Every sampler is ``sample_x(denoiser, x, sigmas, *, callback=None) -> x0`` where

* ``denoiser(x, sigma) -> x0``: ``x`` ``[B, ...]`` and ``sigma`` ``[B]`` in the dtype of the initial state; returns the
  denoised estimate ``D(x; sigma)`` shaped like ``x`` (guidance, conditioning etc. live inside it).
* ``x``: the initial state at ``sigmas[0]`` (e.g. ``sigma_max * noise``), any float dtype.
* ``sigmas``: a decreasing 1-D schedule, float64 recommended (see :func:`karras_sigmas`).
* ``callback(info)``: called after every model evaluation with a dict
  ``{"i", "x", "sigma", "x0"}`` (``x`` is the state passed to the denoiser).

Sources: Karras et al. 2022 (EDM, Eq. 5 schedule, Algorithm 1 Euler/Heun); Zhang et al. 2023
"Improved order analysis and design of exponential integrator for diffusion models" (RES) for the
multistep "2ab" solver; spec §8 for the exact Cosmos-1.0 variant (fixture `sampler_toy`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .edm import SIGMA_MAX, SIGMA_MIN

Denoiser = Callable[[Tensor, Tensor], Tensor]
Callback = Callable[[dict], None]


def karras_sigmas(
    num_steps: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX, rho: float = 7.0
) -> Tensor:
    """Karras et al. 2022 Eq. 5 schedule with ``num_steps`` intervals (``num_steps + 1`` values), float64.

    ``sigma_i = (sigma_max^(1/rho) + i/N (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho`` for ``i = 0..N``:
    the official Cosmos ``get_rev_ts`` grid (spec §8; fixture ``edm.grid35_sigma_min0.002``). No trailing 0.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    steps = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
    max_inv_rho = sigma_max ** (1 / rho)
    min_inv_rho = sigma_min ** (1 / rho)
    return (max_inv_rho + steps * (min_inv_rho - max_inv_rho)) ** rho


def append_zero(sigmas: Tensor) -> Tensor:
    """Append a final ``sigma = 0`` (so an Euler step lands exactly on the last ``x0``)."""
    return torch.cat([sigmas, sigmas.new_zeros(1)])


def _evaluate(
    denoiser: Denoiser, x: Tensor, sigma: Tensor, i: int, callback: Callback | None, dtype: torch.dtype
) -> Tensor:
    """Call the denoiser as the official sampler does: state and sigma cast to the caller's ``dtype``."""
    x_in = x.to(dtype)
    sigma_in = sigma.to(dtype).expand(x.shape[0]).contiguous()
    x0 = denoiser(x_in, sigma_in)
    if callback is not None:
        callback({"i": i, "x": x_in, "sigma": sigma_in, "x0": x0})
    return x0.to(x.dtype)


def sample_res2ab(
    denoiser: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    callback: Callback | None = None,
    final_denoise: bool = True,
) -> Tensor:
    """Cosmos-1.0 reference sampler: RES second-order Adams-Bashforth ("2ab") in ``x0`` form (spec §8.1).

    Algorithm (``lambda = -ln sigma``), for ``i = 0..N-1`` with ``s = sigmas[i]``, ``t = sigmas[i+1]``::

        x0 = D(x; s)
        i == 0 : x <- (t/s) x + (1 - t/s) x0                       # first-order (Euler / DDIM) step
        else   : h = ln(s/t); c2 = ln(s/sigma_{i-1}) / h             # c2 < 0: the previous point
                 phi1 = (e^{-h} - 1)/(-h); phi2 = (phi1 - 1)/(-h)
                 b2 = phi2/c2; b1 = phi1 - b2
                 x <- e^{-h} x + h (b1 x0 + b2 x0_prev)             # exponential-integrator AB2
    then, with ``final_denoise``, one clean-up evaluation ``x0 = D(x; sigmas[-1])`` is returned
    (N + 1 evaluations in all). The state is kept in float64 when ``x``/``sigmas`` are float64 (as the
    reference does); the denoiser receives the state cast back to ``x``'s dtype.

    Returns:
        the final ``x0`` (``final_denoise``) or the state at ``sigmas[-1]``, ``x``'s dtype and shape.
    """
    dtype = x.dtype
    x = x.to(torch.float64)
    sigmas = sigmas.to(dtype=torch.float64, device=x.device)
    num_steps = sigmas.shape[0] - 1
    x0_prev: Tensor | None = None
    for i in range(num_steps):
        s, t = sigmas[i], sigmas[i + 1]
        x0 = _evaluate(denoiser, x, s, i, callback, dtype)
        if x0_prev is None:
            ratio = t / s
            x = ratio * x + (1 - ratio) * x0
        else:
            h = torch.log(s / t)
            c2 = torch.log(s / sigmas[i - 1]) / h
            phi1 = (torch.exp(-h) - 1) / (-h)
            phi2 = (phi1 - 1) / (-h)
            b2 = phi2 / c2
            b1 = phi1 - b2
            x = torch.exp(-h) * x + h * (b1 * x0 + b2 * x0_prev)
        x0_prev = x0
    if final_denoise:
        return _evaluate(denoiser, x, sigmas[-1], num_steps, callback, dtype).to(dtype)
    return x.to(dtype)


def sample_euler(
    denoiser: Denoiser, x: Tensor, sigmas: Tensor, *, callback: Callback | None = None
) -> Tensor:
    """EDM first-order Euler ODE sampler (Karras et al. 2022, Algorithm 1 without the Heun correction).

    ``d = (x - D(x; s)) / s``; ``x <- x + (t - s) d`` for consecutive ``(s, t)`` in ``sigmas``. A final
    ``t = 0`` (see :func:`append_zero`) lands on the last ``x0``; without it the result is the state at
    ``sigmas[-1]`` (what diffusers' ``EDMEulerScheduler`` pipelines return, spec §8.3).

    Returns:
        the state at ``sigmas[-1]`` in ``x``'s dtype and shape.
    """
    dtype = x.dtype
    x = x.to(torch.float64)
    sigmas = sigmas.to(dtype=torch.float64, device=x.device)
    for i in range(sigmas.shape[0] - 1):
        s, t = sigmas[i], sigmas[i + 1]
        x0 = _evaluate(denoiser, x, s, i, callback, dtype)
        derivative = (x - x0) / s
        x = x + (t - s) * derivative
    return x.to(dtype)


def sample_heun(denoiser: Denoiser, x: Tensor, sigmas: Tensor, *, callback: Callback | None = None) -> Tensor:
    """EDM second-order Heun ODE sampler (Karras et al. 2022, Algorithm 1, no churn).

    Euler predictor ``x' = x + (t - s) d_s``, then the trapezoidal corrector
    ``x <- x + (t - s)(d_s + d_t)/2`` with ``d_t = (x' - D(x'; t))/t``, skipped when ``t = 0``.
    Uses ``2N - 1`` evaluations for ``N`` intervals ending at 0, ``2N`` otherwise.

    Returns:
        the state at ``sigmas[-1]`` in ``x``'s dtype and shape.
    """
    dtype = x.dtype
    x = x.to(torch.float64)
    sigmas = sigmas.to(dtype=torch.float64, device=x.device)
    evaluation = 0
    for i in range(sigmas.shape[0] - 1):
        s, t = sigmas[i], sigmas[i + 1]
        d_s = (x - _evaluate(denoiser, x, s, evaluation, callback, dtype)) / s
        evaluation += 1
        x_euler = x + (t - s) * d_s
        if t == 0:
            x = x_euler
            continue
        d_t = (x_euler - _evaluate(denoiser, x_euler, t, evaluation, callback, dtype)) / t
        evaluation += 1
        x = x + (t - s) * (d_s + d_t) / 2
    return x.to(dtype)


SAMPLERS: dict[str, Callable[..., Tensor]] = {
    "res2ab": sample_res2ab,
    "euler": sample_euler,
    "heun": sample_heun,
}
"""Sampler functions by the names :meth:`DiffusionWFM.sample` accepts."""


def sigmas_for(
    sampler: str, num_steps: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX
) -> Tensor:
    """The schedule each named sampler is run with by default.

    ``res2ab``: the Cosmos-1.0 grid (``num_steps`` intervals ending at ``sigma_min``, followed by the
    final clean-up evaluation inside the sampler). ``euler``/``heun``: the same Karras grid with a final 0.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
    sigmas = karras_sigmas(num_steps, sigma_min, sigma_max)
    return sigmas if sampler == "res2ab" else append_zero(sigmas)
