"""cosmos.diffusion: skeleton; the implementation lands with its issue."""

__version__ = "0.1.0"
