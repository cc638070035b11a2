"""Parity with NVIDIA's reference networks, through the public from_pretrained(folder, config=...) path.

Tolerances from shared/fixtures/tokenizer/README.md: float tensors < 1e-4, indices and codes exact.
"""

from __future__ import annotations

import pytest
import torch

from cosmos.core import Latent, TokenGrid
from cosmos.core.testing import assert_close, load_fixture_tensors

from .conftest import MODEL_FIXTURES, load_fixture_model

ATOL = 1e-4


@pytest.mark.parametrize("name", MODEL_FIXTURES)
def test_fixture_parity(name, tmp_path):
    model, meta = load_fixture_model(name, tmp_path)
    tensors = load_fixture_tensors("tokenizer", f"{name}.tensors.safetensors")
    assert sum(p.numel() for p in model.parameters()) == meta["num_parameters"]
    x = tensors["x"]
    with torch.no_grad():
        enc_out = model.encoder(x)
    assert_close(enc_out, tensors["enc_out"], atol=ATOL, name=f"{name} enc_out")
    encoded = model.encode(x)
    if model.is_discrete:
        assert isinstance(encoded, TokenGrid)
        assert encoded.vocab_size == 64000
        assert_close(encoded.indices, tensors["indices"].long(), atol=0, name=f"{name} indices")
        assert torch.equal(encoded.codes, tensors["codes"]), "codes must be exactly equal"
        with torch.no_grad():
            z_pre = model.quant_conv(enc_out)
        assert_close(z_pre, tensors["z_pre"], atol=ATOL, name=f"{name} z_pre")
        assert_close(model.decode(encoded), tensors["recon"], atol=ATOL, name=f"{name} recon")
        dec_in = tensors["dec_in_indices"].long()
        assert torch.equal(model.quantizer.indices_to_codes(dec_in), tensors["dec_codes"])
        assert_close(model.decode(dec_in), tensors["dec_out"], atol=ATOL, name=f"{name} dec_out (index grid)")
        grid = TokenGrid(dec_in, 64000, model.temporal_compression, model.spatial_compression)
        assert_close(model.decode(grid), tensors["dec_out"], atol=ATOL, name=f"{name} dec_out (TokenGrid)")
        assert_close(
            model.decode(tensors["dec_codes"]), tensors["dec_out"], atol=ATOL, name=f"{name} dec_out (codes)"
        )
    else:
        assert isinstance(encoded, Latent)
        assert_close(encoded.z, tensors["latent"], atol=ATOL, name=f"{name} latent")
        assert_close(model.decode(encoded), tensors["recon"], atol=ATOL, name=f"{name} recon")
        assert_close(model.decode(tensors["dec_in"]), tensors["dec_out"], atol=ATOL, name=f"{name} dec_out")
    assert_close(model(x).detach(), tensors["recon"], atol=ATOL, name=f"{name} forward")
