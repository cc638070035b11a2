import importlib


def test_package_imports_into_namespace():
    module = importlib.import_module("cosmos.ar")
    assert module.__version__ == "0.1.0"
    import cosmos

    assert not hasattr(cosmos, "__file__") or cosmos.__file__ is None, "cosmos must stay a PEP 420 namespace"
