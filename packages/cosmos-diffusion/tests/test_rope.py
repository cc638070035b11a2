import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.diffusion.position import apply_rope, rope_angles, rope_axis_angles, rope_axis_dims

SCALES = {"r211": (2.0, 1.0, 1.0), "r222": (2.0, 2.0, 2.0)}


@pytest.mark.parametrize("tag", ["r211", "r222"])
@pytest.mark.parametrize("fps", [24, 30])
@pytest.mark.parametrize("precision", ["f32", "bf16_module"])
def test_rope_tables_match_reference(tensors, tag, fps, precision):
    data = tensors("rope_hd128.safetensors")
    dtype = torch.float32 if precision == "f32" else torch.bfloat16
    scale = SCALES[tag]
    prefix = f"{tag}.fps{fps}.{precision}"
    fps_tensor = torch.tensor([float(fps)])
    dim_t, dim_h, dim_w = rope_axis_dims(128)
    assert (dim_t, dim_h, dim_w) == (44, 42, 42)
    # f32: atol 1e-5 (README); the bf16 recipe is bit-exact
    atol = 1e-5 if precision == "f32" else 0.0
    actual = {
        "grid5x4x6": rope_angles((5, 4, 6), 128, scale, fps=fps_tensor, dtype=dtype),
        "axis_t": rope_axis_angles(16, dim_t, scale[0], fps=fps_tensor, dtype=dtype),
        "axis_h": rope_axis_angles(44, dim_h, scale[1], dtype=dtype),
        "axis_w": rope_axis_angles(80, dim_w, scale[2], dtype=dtype),
    }
    for key, value in actual.items():
        torch.testing.assert_close(value, data[f"{prefix}.{key}"], rtol=0.0, atol=atol, msg=key)


@pytest.mark.parametrize("tag", ["r211", "r222"])
def test_rope_image_mode(tensors, tag):
    data = tensors("rope_hd128.safetensors")
    table = rope_angles((1, 4, 6), 128, SCALES[tag], fps=None)
    torch.testing.assert_close(table, data[f"{tag}.image_fps_none.f32.grid1x4x6"], rtol=0.0, atol=1e-5)


@settings(max_examples=20, deadline=None)
@given(shift=st.integers(0, 3), t=st.integers(0, 2), h=st.integers(0, 2), w=st.integers(0, 2))
def test_rope_scores_depend_only_on_relative_position(shift, t, h, w):
    """Rotating q and k by their positions makes q.k a function of the position offset only."""
    grid = (6, 6, 6)
    angles = rope_angles(grid, 64, (2.0, 1.0, 1.0), fps=24.0)
    cos, sin = angles.cos(), angles.sin()
    generator = torch.Generator().manual_seed(0)
    q, k = torch.randn(2, 64, generator=generator, dtype=torch.float64)

    def score(pos_q, pos_k):
        index = lambda p: p[0] * 36 + p[1] * 6 + p[2]  # noqa: E731
        iq, ik = index(pos_q), index(pos_k)
        rq = apply_rope(q[None, None, None].double(), cos[iq].double(), sin[iq].double())
        rk = apply_rope(k[None, None, None].double(), cos[ik].double(), sin[ik].double())
        return (rq * rk).sum().item()

    base = score((t, h, w), (0, 0, 0))
    shifted = score((t + shift, h + shift, w + shift), (shift, shift, shift))
    assert abs(base - shifted) < 1e-4
