"""Camera conditioning: per-pixel Plücker ray embeddings (spec §11.1; Cosmos paper Sec. 6.2, camera control).

A camera with intrinsics ``K`` and camera-to-world pose ``[R | o]`` casts through pixel ``(u, v)`` the ray with
unit direction ``d = normalize(R K^-1 [u, v, 1]^T)`` from the centre ``o``; its Plücker coordinates are
``(d, o x d) in R^6``, independent of the point chosen on the ray. The camera-control DiT receives them as
6 extra input channels at the latent resolution, one set per latent frame.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cosmos.core import ShapeError


def plucker_rays(intrinsics: Tensor, cam_to_world: Tensor, height: int, width: int) -> Tensor:
    """Plücker ray embedding of every pixel of a ``height x width`` grid.

    Args:
        intrinsics: ``[B, T, 3, 3]`` pinhole ``K`` in units of the target grid (scale ``fx, fy, cx, cy`` by
            ``1 / spatial_compression`` for a latent grid).
        cam_to_world: ``[B, T, 4, 4]`` (or ``[B, T, 3, 4]``) camera-to-world poses, e.g. normalised to the
            unit sphere as in the reference data preparation.
        height, width: grid size (the latent ``H', W'`` for the DiT).

    Returns:
        float32 ``[B, 6, T, height, width]``: channels ``(d_x, d_y, d_z, m_x, m_y, m_z)`` with ``m = o x d``.

    Raises:
        ShapeError: wrong shapes or non-finite values.
    """
    if intrinsics.ndim != 4 or intrinsics.shape[-2:] != (3, 3):
        raise ShapeError(f"intrinsics must be [B, T, 3, 3], got {tuple(intrinsics.shape)}")
    if (
        cam_to_world.ndim != 4
        or cam_to_world.shape[:2] != intrinsics.shape[:2]
        or cam_to_world.shape[-1] != 4
    ):
        raise ShapeError(
            f"cam_to_world must be [B, T, 4, 4] matching intrinsics, got {tuple(cam_to_world.shape)}"
        )
    if not (torch.isfinite(intrinsics).all() and torch.isfinite(cam_to_world).all()):
        raise ShapeError("camera intrinsics/poses contain NaN or inf")
    batch, frames = intrinsics.shape[:2]
    intrinsics, cam_to_world = intrinsics.float(), cam_to_world.float()
    v, u = torch.meshgrid(
        torch.arange(height, dtype=torch.float32, device=intrinsics.device) + 0.5,
        torch.arange(width, dtype=torch.float32, device=intrinsics.device) + 0.5,
        indexing="ij",
    )
    pixels = torch.stack([u, v, torch.ones_like(u)], dim=-1).reshape(-1, 3)  # [HW, 3]
    camera_dirs = torch.einsum("btij,nj->btni", torch.linalg.inv(intrinsics), pixels)  # [B, T, HW, 3]
    rotation, origin = cam_to_world[..., :3, :3], cam_to_world[..., :3, 3]
    directions = torch.einsum("btij,btnj->btni", rotation, camera_dirs)
    directions = directions / directions.norm(dim=-1, keepdim=True)
    moments = torch.cross(origin[:, :, None, :].expand_as(directions), directions, dim=-1)
    rays = torch.cat([directions, moments], dim=-1)  # [B, T, HW, 6]
    return rays.reshape(batch, frames, height, width, 6).permute(0, 4, 1, 2, 3).contiguous()
