"""cosmos.plan: plan robot actions and evaluate policies inside any world model.

Everything here sees a world model only through the :class:`cosmos.core.WorldModel` protocol
(``encode_context`` / ``predict`` / ``decode``), never through ``DiffusionWFM`` or ``ARWFM``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
