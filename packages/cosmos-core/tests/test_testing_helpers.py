import pytest
import torch

from cosmos.core.testing import assert_close, fixture_path, fixtures_root


def test_assert_close_reports_the_worst_element():
    expected = torch.zeros(2, 3)
    actual = expected.clone()
    actual[1, 2] = 0.5
    with pytest.raises(AssertionError, match=r"max \|diff\| = 5.000e-01 at \(1, 2\)"):
        assert_close(actual, expected, atol=1e-4, name="recon")
    assert_close(actual, expected, atol=0.6)
    with pytest.raises(AssertionError, match="shape"):
        assert_close(actual, torch.zeros(3, 2), atol=1)
    with pytest.raises(AssertionError, match="integer elements differ"):
        assert_close(torch.tensor([1, 2]), torch.tensor([1, 3]), atol=10)


def test_missing_fixture_fails_under_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setenv("COSMOS_FIXTURES", str(tmp_path))
    assert fixtures_root() == tmp_path
    with pytest.raises(pytest.fail.Exception, match="COSMOS_FIXTURES is set"):
        fixture_path("tokenizer", "nothing.safetensors")
    (tmp_path / "here.json").write_text("{}")
    assert fixture_path("here.json") == tmp_path / "here.json"
    monkeypatch.delenv("COSMOS_FIXTURES")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        fixture_path("tokenizer", "nothing.safetensors")
