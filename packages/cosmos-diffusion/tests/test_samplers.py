import pytest
import torch

from cosmos.diffusion.samplers import (
    append_zero,
    karras_sigmas,
    sample_euler,
    sample_heun,
    sample_res2ab,
    sigmas_for,
)


@pytest.mark.parametrize("num_steps", [5, 35])
def test_karras_grid_matches_reference(tensors, num_steps):
    data = tensors("edm.safetensors")
    assert torch.equal(karras_sigmas(num_steps), data[f"grid{num_steps}_sigma_min0.002"])


def _toys(data):
    mu, std = data["in.toy_b_mu"], data["in.toy_b_std"]

    def toy_a(x, sigma):
        sigma = sigma.reshape(-1, 1, 1, 1, 1)
        return x * (0.25 / (sigma**2 + 0.25))

    def toy_b(x, sigma):
        sigma = sigma.reshape(-1, 1, 1, 1, 1)
        var = (std**2).to(x.dtype)
        return mu.to(x.dtype) + var / (var + sigma**2) * (x - mu.to(x.dtype))

    return {"toy_a": toy_a, "toy_b": toy_b}


@pytest.mark.parametrize("toy", ["toy_a", "toy_b"])
@pytest.mark.parametrize("num_steps", [5, 35])
@pytest.mark.parametrize("precision", ["f32", "f64"])
def test_res2ab_matches_reference(tensors, check, toy, num_steps, precision):
    data = tensors("sampler_toy.safetensors")
    x = data["in.x_sigma_max"] if precision == "f32" else data["in.x_sigma_max"].double()
    tolerance = {"f32": 1e-5, "f64": 1e-12}[precision]
    trace = []
    out = sample_res2ab(_toys(data)[toy], x, karras_sigmas(num_steps), callback=trace.append)
    prefix = f"{toy}.steps{num_steps}.{precision}"
    assert out.dtype == x.dtype and len(trace) == num_steps + 1
    check(out, data[f"{prefix}.out"], rtol=tolerance, atol=tolerance, name="out")
    check(
        torch.stack([t["x"] for t in trace]),
        data[f"{prefix}.trace_x"],
        rtol=tolerance,
        atol=tolerance,
        name="trace_x",
    )
    check(
        torch.stack([t["sigma"] for t in trace]),
        data[f"{prefix}.trace_sigma"],
        rtol=tolerance,
        atol=tolerance,
        name="trace_sigma",
    )
    if precision == "f32":
        check(
            torch.stack([t["x0"] for t in trace]),
            data[f"{prefix}.trace_x0"],
            rtol=tolerance,
            atol=tolerance,
            name="trace_x0",
        )


@pytest.mark.parametrize("toy", ["toy_a", "toy_b"])
def test_euler_and_heun_converge_to_exact_ode(tensors, toy):
    data = tensors("sampler_toy.safetensors")
    denoiser = _toys(data)[toy]
    x = data["in.x_sigma_max"].double()
    exact = data[f"{toy}.exact_ode_out"]

    def error(out):
        return ((out - exact).norm() / exact.norm()).item()

    # exact ODE solution at sigma_min followed by the clean-up denoise, as in the fixture
    sigmas = karras_sigmas(35)
    euler = denoiser(sample_euler(denoiser, x, sigmas), torch.full((2,), 0.002, dtype=torch.float64))
    heun = denoiser(sample_heun(denoiser, x, sigmas), torch.full((2,), 0.002, dtype=torch.float64))
    res = sample_res2ab(denoiser, x, sigmas)
    assert error(heun) < error(res) < error(euler) < 0.2, (error(heun), error(res), error(euler))
    assert error(heun) < 0.02


def test_heun_evaluation_count_and_zero_end():
    calls = []

    def denoiser(x, sigma):
        calls.append(sigma[0].item())
        return torch.zeros_like(x)

    x = torch.randn(1, 2, 3)
    out = sample_heun(denoiser, x, append_zero(karras_sigmas(4)))
    assert len(calls) == 2 * 5 - 1
    assert torch.allclose(out, torch.zeros_like(out))  # lands on x0 = 0 exactly
    assert sigmas_for("res2ab", 4).shape == (5,) and sigmas_for("euler", 4)[-1] == 0
    with pytest.raises(ValueError, match="unknown sampler"):
        sigmas_for("ddim", 4)
