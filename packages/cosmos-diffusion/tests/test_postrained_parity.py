"""NVIDIA reference parity of the post-trained action and camera models (fixture README §6-§7, spec §11).

Everything goes through the public path: ``DiT.from_pretrained(folder, config=net_kwargs)``,
``net(..., action=...)`` / ``net(..., camera=...)``, ``Conditioning(zero_condition_region=...)``, ``denoise`` /
``guided_denoiser``, ``sample_res2ab`` and ``cosmos.diffusion.camera.reference_plucker_rays``.
"""

import pytest
import torch

from cosmos.diffusion import DiT
from cosmos.diffusion.camera import (
    reference_padding_mask,
    reference_plucker_rays,
    unit_sphere_poses,
)
from cosmos.diffusion.denoiser import Conditioning, denoise, guided_denoiser
from cosmos.diffusion.samplers import karras_sigmas, sample_res2ab
from cosmos.diffusion.wfm import initial_noise

NET = {"rtol": 1e-4, "atol": 2e-5, "rel_l2": 1e-5}
GUIDED = {"rtol": 1e-4, "atol": 1e-4, "rel_l2": 2e-5}
SAMPLE = {"rtol": 1e-3, "atol": 5e-4, "rel_l2": 5e-5}
RAYS = {"rtol": 0, "atol": 1e-5}


@pytest.fixture(scope="module", params=["actioncond_tiny", "cameracond_tiny"])
def name(request):
    return request.param


def _net_args(data):
    return [
        data[k]
        for k in (
            "in.x",
            "in.timesteps",
            "in.crossattn_emb",
            "in.crossattn_mask",
            "in.fps",
            "in.padding_mask",
            "in.condition_video_input_mask",
        )
    ]


def _conditioning_input(name, data):
    """The post-trained model's extra input as the network takes it."""
    if name.startswith("action"):
        return {"action": data["in.action"]}
    return {"camera": data["in.condition_video_pose"]}


def test_released_config_from_official_kwargs(net_kwargs):
    action = DiT.coerce_config(net_kwargs("actioncond_tiny"))
    assert (action.action_embedding, action.action_dim, action.extra_pos_embed) == ("predict1", 7, False)
    assert action.in_channels == 18 and action.camera_channels == 0
    camera = DiT.coerce_config(net_kwargs("cameracond_tiny"))
    # 23 official in_channels = 16 latent + condition mask + 6 rays (not 22 latent channels); + padding = 24
    assert (camera.latent_channels, camera.camera_channels, camera.in_channels) == (16, 6, 24)


def test_net_forward(fixture_net, tensors, check, name):
    net = fixture_net(name)
    data = tensors(f"{name}.net.safetensors")
    with torch.no_grad():
        out = net(*_net_args(data), **_conditioning_input(name, data))
    check(out, data["out.x"], **NET, name="out.x")


def test_net_intermediates(fixture_net, tensors, check, name):
    net = fixture_net(name)
    data = tensors(f"{name}.net.safetensors")
    x, timesteps, context, _, fps, padding_mask, condition_mask = _net_args(data)
    extra = _conditioning_input(name, data)
    batch = x.shape[0]
    with torch.no_grad():
        x_in = net.concat_input_channels(x, padding_mask, condition_mask, extra.get("camera"))
        check(x_in, data["tap.x_embedder.in"], **NET, name="x_embedder.in")
        tokens = net.patch_embed(net.patchify(x_in))
        check(tokens, data["tap.x_embedder.out"], **NET, name="x_embedder.out")
        sinusoid, emb, adaln_lora = net.time_conditioning(timesteps, extra.get("action"))
        check(sinusoid, data["tap.t_embedder.emb_B_D"], **NET, name="t_embedder.emb_B_D")
        check(emb, data["tap.affline_norm.out"], **NET, name="affline_norm.out")
        if name.startswith("action"):
            a_emb, a_lora = net.action_embed(extra["action"])
            check(a_emb, data["tap.action_embedder_B_D.out"], **NET, name="action_embedder_B_D")
            check(a_lora, data["tap.action_embedder_B_3D.out"], **NET, name="action_embedder_B_3D")
            check(adaln_lora - a_lora, data["tap.t_embedder.adaln_lora_B_3D"], **NET, name="adaln_lora")
            assert net.pos_embed is None
            pos = None
        else:
            check(adaln_lora, data["tap.t_embedder.adaln_lora_B_3D"], **NET, name="adaln_lora")
            grid = tuple(tokens.shape[1:4])
            pos = net.pos_embed(grid)
            check(pos.reshape(*grid, -1).expand(batch, *grid, -1), data["tap.extra_pos_embedder.out"], **NET)
        grid = tuple(tokens.shape[1:4])
        h = tokens.reshape(batch, -1, net.config.model_channels)
        rope = net.rope(grid, fps, x.device)
        for index, block in enumerate(net.blocks):
            h = block(h, emb, adaln_lora, context, rope, pos)
            check(h.reshape(batch, *grid, -1), data[f"tap.block{index}.out"], **NET, name=f"block{index}")


def test_what_the_fixtures_detect(fixture_net, tensors, check, name):
    """The alternative wirings the fixtures record are not what we compute (and the recorded ones are)."""
    net = fixture_net(name)
    data = tensors(f"{name}.net.safetensors")
    args = _net_args(data)
    with torch.no_grad():
        if name.startswith("action"):
            zero = net(*args, action=torch.zeros_like(data["in.action"]))
            check(zero, data["alt.out_x_action_zero"], **NET, name="action zero")
            # only action[:, 0] counts: later vectors change nothing
            longer = torch.cat([data["in.action"], torch.randn_like(data["in.action"])], dim=1)
            torch.testing.assert_close(net(*args, action=longer), data["out.x"], rtol=1e-4, atol=2e-5)
        else:
            rays = data["in.condition_video_pose"]
            check(net(*args, camera=torch.zeros_like(rays)), data["alt.out_x_pose_zero"], **NET)
            swapped = torch.cat([rays[:, 3:], rays[:, :3]], dim=1)  # direction first: the old, wrong order
            check(net(*args, camera=swapped), data["alt.out_x_pose_dir_first"], **NET)


def _denoise_conditionings(name, data):
    """The fixture's three branches as Conditionings (batch 2; the reference ran batch 1 per sample)."""
    batch = data["in.xt"].shape[0]
    K = int(data["in.K"])  # noqa: N806
    if "in.aug_noise" in data:
        noise = data["in.aug_noise"]
    else:
        noise = initial_noise(1, (1, *data["in.xt"].shape[1:]))  # arch_invariant_rand(seed 1)
    extra = {}
    if name.startswith("action"):
        extra["action"] = data["cond.net_in.action"]
        fps = 4.0
    else:
        extra["camera"] = data["in.plucker_embeddings"].permute(0, 2, 1, 3, 4)  # [B, 6, 17, h, w]
        torch.testing.assert_close(extra["camera"], data["cond.net_in.condition_video_pose"])
        # sample 1 carries the masked rays and, as camera_ctrl.py does, the same pixel padding mask
        pixel_mask = reference_padding_mask((32, 48, 32, 32))[0]
        extra["padding_mask"] = torch.cat([torch.zeros_like(pixel_mask), pixel_mask])
        fps = 24.0
    cond = Conditioning(
        data["cond.net_in.crossattn_emb"],
        fps=fps,
        condition_latent=data["in.latent"],
        num_condition_frames=torch.full((batch,), K),
        augment_noise=noise.expand_as(data["in.latent"]),
        augment_sigma=0.001,
        **extra,
    )
    uncond = cond.replace(crossattn_emb=data["uncond.net_in.crossattn_emb"])
    noinput = cond.replace(
        crossattn_emb=data["uncond_noinput.net_in.crossattn_emb"], zero_condition_region=True
    )
    return {"cond": cond, "uncond": uncond, "uncond_noinput": noinput}


def test_denoise_branches_and_guidance(fixture_net, tensors, check, name):
    net = fixture_net(name)
    data = tensors(f"{name}.denoise.safetensors")
    x_t, sigma = data["in.xt"], data["in.sigma"]
    branches = _denoise_conditionings(name, data)
    with torch.no_grad():
        for branch, cond in branches.items():
            x0, logvar = denoise(net, x_t, sigma, cond, return_logvar=True)
            check(x0, data[f"{branch}.x0"], **NET, name=f"{branch}.x0")
            check(logvar, data[f"{branch}.logvar"], **NET, name=f"{branch}.logvar")
            eps = (x_t - x0) / sigma.reshape(-1, 1, 1, 1, 1)
            check(eps, data[f"{branch}.eps"], **NET, name=f"{branch}.eps")
        cond = branches["cond"]
        guided0 = guided_denoiser(net, cond, branches["uncond"], 7.0)(x_t, sigma)
        check(guided0, data["guided7.aifg0"], **GUIDED, name="guided7.aifg0")
        guided1 = guided_denoiser(net, cond, branches["uncond_noinput"], 7.0)(x_t, sigma)
        check(guided1, data["guided7.aifg1"], **GUIDED, name="guided7.aifg1")


def test_action_five_step_sample(fixture_net, tensors, check):
    net = fixture_net("actioncond_tiny")
    data = tensors("actioncond_tiny.sample.safetensors")
    action = tensors("actioncond_tiny.net.safetensors")["in.action"][:1]
    x_max = data["in.x_sigma_max"]
    text = torch.zeros(1, 8, net.config.crossattn_channels)
    cond = Conditioning(
        text,
        fps=4.0,
        condition_latent=data["in.latent"],
        num_condition_frames=torch.ones(1, dtype=torch.int64),
        augment_noise=x_max / 80,
        action=action,
    )
    trace = []
    with torch.no_grad():
        out = sample_res2ab(
            guided_denoiser(net, cond, cond, 7.0), x_max, karras_sigmas(5), callback=trace.append
        )
    check(out, data["out.sample"], **SAMPLE, name="out.sample")
    for i, step in enumerate(trace):
        check(step["x"], data[f"trace.{i}.x"], **SAMPLE, name=f"trace.{i}.x")
        check(step["x0"], data[f"trace.{i}.x0"], **SAMPLE, name=f"trace.{i}.x0")
    assert torch.equal(out[:, :, :1], data["in.latent"][:, :, :1])


def test_reference_plucker_rays(tensors, check):
    data = tensors("cameracond_tiny.rays.safetensors")
    poses, size = data["in.transform_matrix"], data["in.image_size"].long().tolist()
    check(reference_plucker_rays(poses, data["in.K_normalized"], size), data["out.plucker_normK"], **RAYS)
    check(reference_plucker_rays(poses, data["in.K_pixels"], size), data["out.plucker_pixelK"], **RAYS)
    window = reference_plucker_rays(poses[1:17], data["in.K_normalized"], size)  # training-prep frames 1..16
    check(window, data["out.plucker_train_window"], **RAYS)
    check(unit_sphere_poses(poses)[:, :3, 3], data["out.translation_unit_sphere"], **RAYS)
    check(reference_padding_mask(size)[1], data["out.padding_mask_latent"], rtol=0, atol=0)
    masked = reference_plucker_rays(poses, data["in.K_normalized"], size, mask_padding=True)
    check(masked, data["out.plucker_masked"], **RAYS)
    camera_json = {
        "fl_x": 0.9,
        "fl_y": 1.35,
        "cx": 0.53125,
        "cy": 0.484375,
    }  # config.json camera_json_normalized
    from_json = reference_plucker_rays(poses.numpy(), camera_json, data["in.image_size"])
    check(from_json, data["out.plucker_normK"], **RAYS)


def test_rays_feed_the_network(tensors):
    """The net fixture's sample-0 rays are the ray fixture's normalised-intrinsics rays, in the network layout."""
    rays = tensors("cameracond_tiny.rays.safetensors")
    net_in = tensors("cameracond_tiny.net.safetensors")["in.condition_video_pose"]
    camera = rays["out.plucker_normK"].permute(1, 0, 2, 3)[None]  # [N, 6, h, w] -> [1, 6, N, h, w]
    torch.testing.assert_close(net_in[:1], camera, rtol=0, atol=1e-5)
    torch.testing.assert_close(
        net_in[1:], rays["out.plucker_masked"].permute(1, 0, 2, 3)[None], rtol=0, atol=1e-5
    )
