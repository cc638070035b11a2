import pytest
import torch

from cosmos.core import ShapeError, attention, make_generator, randn


@pytest.mark.parametrize("heads_kv", [4, 2, 1])
@pytest.mark.parametrize("is_causal", [False, True])
def test_sdpa_and_math_backends_agree(heads_kv, is_causal):
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(2, 4, 5, 8, generator=generator)
    key = torch.randn(2, heads_kv, 5, 8, generator=generator)
    value = torch.randn(2, heads_kv, 5, 8, generator=generator)
    fast = attention(query, key, value, is_causal=is_causal)
    slow = attention(query, key, value, is_causal=is_causal, backend="math")
    assert fast.shape == (2, 4, 5, 8)
    assert torch.allclose(fast, slow, atol=1e-5)


def test_causal_attention_ignores_the_future():
    generator = torch.Generator().manual_seed(1)
    query, key, value = (torch.randn(1, 2, 6, 4, generator=generator) for _ in range(3))
    out = attention(query, key, value, is_causal=True)
    key2, value2 = key.clone(), value.clone()
    key2[:, :, 4:] += 10
    value2[:, :, 4:] -= 10
    out2 = attention(query, key2, value2, is_causal=True)
    assert torch.allclose(out[:, :, :4], out2[:, :, :4], atol=1e-6)


def test_boolean_mask_and_errors():
    query = torch.randn(1, 2, 3, 4)
    key = value = torch.randn(1, 2, 5, 4)
    mask = torch.zeros(1, 1, 3, 5, dtype=torch.bool)
    mask[..., :2] = True
    out = attention(query, key, value, attn_mask=mask, backend="math")
    assert torch.allclose(out, attention(query, key[:, :, :2], value[:, :, :2]), atol=1e-5)
    with pytest.raises(ShapeError, match="multiple"):
        attention(torch.randn(1, 3, 2, 4), torch.randn(1, 2, 2, 4), torch.randn(1, 2, 2, 4))
    with pytest.raises(ValueError, match="unknown attention backend"):
        attention(query, key, value, backend="flash9")
    with pytest.raises(ShapeError, match=r"\[B, heads, L, D\]"):
        attention(torch.randn(2, 3, 4), key, value)


def test_seeded_draws_are_reproducible_and_device_independent():
    a = randn((2, 3), generator=make_generator(7))
    b = randn((2, 3), generator=make_generator(7), dtype=torch.float64)
    assert torch.equal(a, randn((2, 3), generator=make_generator(7)))
    assert torch.allclose(a.double(), b)
    assert not torch.equal(a, randn((2, 3), generator=make_generator(8)))
    with pytest.raises(ValueError, match="seed"):
        make_generator(-1)
