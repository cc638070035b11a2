"""The multi-view driving DiT against NVIDIA's reference (fixture README §4, ``shared/spec/multiview.md``).

Public path only: ``MultiViewDiT.from_pretrained(folder, config=net_kwargs)``, ``net(..., frame_repeat=,
trajectory=)``, ``Conditioning(frame_repeat=, trajectory=)`` through ``denoise`` / ``guided_denoiser`` and
``sample_res2ab``. Tolerances as the README's.
"""

import dataclasses
import shutil

import pytest
import torch
from safetensors.torch import load_file

from cosmos.core import CheckpointError, ShapeError
from cosmos.core.testing import fixture_path
from cosmos.diffusion import MULTIVIEW_PRESETS, DiT, MultiViewDiT, MultiViewDiTConfig
from cosmos.diffusion.denoiser import Conditioning, condition_indicator, denoise, guided_denoiser
from cosmos.diffusion.samplers import karras_sigmas, sample_res2ab

NET = {"rtol": 1e-4, "atol": 2e-5, "rel_l2": 1e-5}
GUIDED = {"rtol": 1e-4, "atol": 1e-4, "rel_l2": 2e-5}
SAMPLE = {"rtol": 1e-3, "atol": 5e-4, "rel_l2": 5e-5}
NAMES = ["multiview_t2w_tiny", "multiview_traj_tiny", "multiview_v2w_tiny"]


@pytest.fixture(scope="module", params=NAMES)
def name(request):
    return request.param


@pytest.fixture(scope="module")
def mv_folder(tmp_path_factory):
    """The fixture weights under a released file name: ``model.safetensors`` or a bf16 ``model.pt``."""

    def make(name: str, fmt: str = "safetensors"):
        folder = tmp_path_factory.mktemp(f"{name}_{fmt}")
        source = fixture_path("diffusion", f"{name}.weights.safetensors")
        if fmt == "safetensors":
            shutil.copy(source, folder / "model.safetensors")
        else:  # the released model.pt layout: a flat torch.save dict of bf16 tensors
            torch.save(load_file(source), folder / "model.pt")
        return folder

    return make


@pytest.fixture(scope="module")
def mv_net(mv_folder, net_kwargs):
    cache = {}

    def get(name: str) -> MultiViewDiT:
        if name not in cache:
            cache[name] = MultiViewDiT.from_pretrained(
                mv_folder(name), config=net_kwargs(name), dtype=torch.float32
            )
        return cache[name]

    return get


def _net_args(data):
    keys = ("in.x", "in.timesteps", "in.crossattn_emb", "in.crossattn_mask", "in.fps", "in.padding_mask")
    args = [data[k] for k in keys]
    if "in.condition_video_input_mask" in data:
        args.append(data["in.condition_video_input_mask"])
    return args, {"frame_repeat": data["in.frame_repeat"], "trajectory": data.get("in.trajectory")}


def test_config_from_official_kwargs_and_presets(net_kwargs):
    t2w = MultiViewDiT.coerce_config(net_kwargs("multiview_t2w_tiny"))
    assert isinstance(t2w, MultiViewDiTConfig)
    assert (t2w.num_views, t2w.view_condition_dim, t2w.in_channels, t2w.rope_scale) == (
        3,
        6,
        23,
        (2.0, 1.0, 1.0),
    )
    assert MultiViewDiT.coerce_config(net_kwargs("multiview_traj_tiny")).in_channels == 35
    assert MultiViewDiT.coerce_config(net_kwargs("multiview_v2w_tiny")).in_channels == 24
    # predict1's spelling of the same network
    renamed = dict(net_kwargs("multiview_t2w_tiny"))
    renamed["n_views"] = renamed.pop("n_cameras")
    renamed["view_condition_dim"] = renamed.pop("camera_condition_dim")
    renamed["concat_view_embedding"] = renamed.pop("concat_camera_embedding")
    assert MultiViewDiT.coerce_config(renamed) == t2w
    with pytest.raises(ValueError, match="MultiViewDiT"):
        DiT.coerce_config(net_kwargs("multiview_t2w_tiny"))
    widths = {name: MULTIVIEW_PRESETS[name].in_channels * 4 for name in MULTIVIEW_PRESETS}
    assert widths["Cosmos-1.1-Diffusion-7B-Text2World-Sample-Driving-Multiview"] == 92
    assert widths["Cosmos-Predict1-7B-Video2World-Sample-AV-Multiview"] == 96
    assert widths["Cosmos-1.0-Diffusion-7B-Text2World-Sample-MultiView-TrajectoryCond"] == 140
    assert all(config.num_views == 6 for config in MULTIVIEW_PRESETS.values())


@pytest.mark.parametrize("fmt", ["safetensors", "model.pt"])
def test_net_forward_from_released_files(mv_folder, net_kwargs, tensors, check, name, fmt):
    net = MultiViewDiT.from_pretrained(mv_folder(name, fmt), config=net_kwargs(name))
    assert net.patch_embed.weight.dtype == torch.float32  # bf16 files are upcast to the model's float32
    data = tensors(f"{name}.net.safetensors")
    args, kwargs = _net_args(data)
    with torch.no_grad():
        out = net(*args, **kwargs)
    check(out, data["out.x"], **NET, name="out.x")


def test_net_intermediates(mv_net, tensors, check, name):
    net = mv_net(name)
    data = tensors(f"{name}.net.safetensors")
    (x, timesteps, context, _, fps, padding_mask, *rest), kwargs = _net_args(data)
    condition_mask = rest[0] if rest else None
    batch = x.shape[0]
    with torch.no_grad():
        check(net.view_embed.weight, data["mid.view_embedding"], **NET, name="view_embedding")
        repeat = net.frame_repeat_embed(kwargs["frame_repeat"][..., None])
        check(repeat, data["mid.frame_repeat_embedding"], **NET, name="frame_repeat_embedding")
        if "mid.traj_embedding" in data:
            trajectory = net.trajectory_embed(kwargs["trajectory"])
            check(trajectory, data["mid.traj_embedding"], **NET, name="traj_embedding")
        x_in = net.concat_input_channels(x, padding_mask, condition_mask, **kwargs)
        check(x_in, data["mid.patch_embed_input"], **NET, name="patch_embed_input")
        tokens = net.patch_embed(net.patchify(x_in))
        check(tokens, data["mid.patch_embed_out"], **NET, name="patch_embed_out")
        grid = tuple(tokens.shape[1:4])
        sinusoid, emb, adaln_lora = net.time_conditioning(timesteps)
        check(sinusoid, data["mid.t_sinusoid"], **NET, name="t_sinusoid")
        check(adaln_lora, data["mid.adaln_lora"], **NET, name="adaln_lora")
        check(emb, data["mid.affline_emb"], **NET, name="affline_emb")
        cos, sin = net.rope(grid, fps, x.device)
        angles = data["mid.rope_angles"]
        check(torch.atan2(sin, cos), torch.atan2(angles.sin(), angles.cos()), rtol=0, atol=1e-5, name="rope")
        pos = net.pos_embed(grid)
        check(pos.reshape(*grid, -1), data["mid.extra_pos_emb"], **NET, name="extra_pos_emb")
        h = tokens.reshape(batch, -1, net.config.model_channels)
        block = net.blocks[0]
        after_sa = block.self_attn(h + pos, emb, adaln_lora, rope=(cos, sin))
        after_ca = block.cross_attn(after_sa, emb, adaln_lora, context=context, num_views=net.num_views)
        check(after_ca.reshape(batch, *grid, -1), data["mid.block0_ca_out"], **NET, name="block0_ca_out")
        for index, block in enumerate(net.blocks):
            h = block(h, emb, adaln_lora, context, (cos, sin), pos, num_views=net.num_views)
            check(h.reshape(batch, *grid, -1), data[f"mid.block{index}_out"], **NET, name=f"block{index}")
        final = net.final_layer(h, emb, adaln_lora)
        final = final.reshape(batch, grid[0], grid[1] * grid[2], -1).flatten(0, 1)
        check(final, data["mid.final_layer_out"], **NET, name="final_layer_out")


def _conditionings(data, *, augment_noise=None, num_condition_frames=None):
    """Conditional and negative-prompt conditionings of a denoise/sample file (frame_repeat raw / 10)."""
    kwargs = {
        "fps": data["in.fps"],
        "padding_mask": data["in.padding_mask"],
        "frame_repeat": data["in.frame_repeat"] / 10,
        "trajectory": data.get("in.trajectory"),
    }
    if "in.condition_latent" in data:
        kwargs.update(
            condition_latent=data["in.condition_latent"],
            num_condition_frames=data["in.num_condition_t"].reshape(-1)
            if num_condition_frames is None
            else num_condition_frames,
            augment_noise=data["in.aug_noise"] if augment_noise is None else augment_noise,
            augment_sigma=0.001,
        )
    cond = Conditioning(data["in.t5_text_embeddings"], **kwargs)
    return cond, cond.replace(crossattn_emb=data["in.neg_t5_text_embeddings"])


def test_denoiser_and_guidance(mv_net, tensors, check, name):
    net = mv_net(name)
    data = tensors(f"{name}.denoise.safetensors")
    cond, negative = _conditionings(data)
    zero = cond.replace(crossattn_emb=torch.zeros_like(cond.crossattn_emb))
    x_t, sigma = data["in.x_t"], data["in.sigma"]
    guidance = float(data["in.guidance"])
    with torch.no_grad():
        x0, logvar = denoise(net, x_t, sigma, cond, return_logvar=True)
        check(x0, data["out.cond.x0"], **NET, name="cond.x0")
        check(logvar, data["out.cond.logvar"], **NET, name="cond.logvar")
        check((x_t - x0) / sigma.reshape(-1, 1, 1, 1, 1), data["out.cond.eps"], **NET, name="cond.eps")
        check(denoise(net, x_t, sigma, zero), data["out.uncond_zero.x0"], **NET, name="uncond_zero.x0")
        check(denoise(net, x_t, sigma, negative), data["out.uncond_neg.x0"], **NET, name="uncond_neg.x0")
        guided = guided_denoiser(net, cond, zero, guidance)(x_t, sigma)
        check(guided, data["out.guided_zero.x0"], **GUIDED, name="guided_zero.x0")
        if "out.guided_neg.x0" in data:
            guided = guided_denoiser(net, cond, negative, guidance, batch_branches=False)(x_t, sigma)
            check(guided, data["out.guided_neg.x0"], **GUIDED, name="guided_neg.x0")
        if "out.uncond_zero_notraj.x0" in data:  # the other candidate unconditional branch (spec §2.4)
            no_traj = zero.replace(trajectory=torch.zeros_like(cond.trajectory))
            check(denoise(net, x_t, sigma, no_traj), data["out.uncond_zero_notraj.x0"], **NET, name="notraj")
            guided = guided_denoiser(net, cond, no_traj, guidance)(x_t, sigma)
            check(guided, data["out.guided_zero_notraj.x0"], **GUIDED, name="guided_zero_notraj")
        if "in.condition_latent" in data:
            from cosmos.diffusion.denoiser import video2world_input

            x_net, indicator, mask = video2world_input(x_t, sigma, cond, num_views=net.num_views)
            check(x_net, data["out.cond.xt"], **NET, name="cond.xt")
            check(indicator, data["mid.cond.indicator"], rtol=0, atol=0, name="indicator")
            check(mask, data["mid.cond.net_in_condition_mask"], rtol=0, atol=0, name="condition mask")
            add_frames = guided_denoiser(net, cond, zero.replace(zero_condition_mask=True), guidance)(
                x_t, sigma
            )
            check(
                add_frames,
                data["out.guided_zero_add_input_frames_guidance.x0"],
                **GUIDED,
                name="add_input_frames_guidance",
            )


def test_five_step_sampling(mv_net, tensors, check, name):
    net = mv_net(name)
    data = tensors(f"{name}.sample.safetensors")
    x_max = data["in.x_sigma_max"]
    cond, _ = _conditionings(data, augment_noise=x_max / 80)
    zero = cond.replace(crossattn_emb=torch.zeros_like(cond.crossattn_emb))  # the pipeline's CFG branch
    trace = []
    with torch.no_grad():
        out = sample_res2ab(
            guided_denoiser(net, cond, zero, 7.0), x_max, karras_sigmas(5), callback=trace.append
        )
    check(out, data["out.sample"], **SAMPLE, name="out.sample")
    check(torch.stack([t["x"] for t in trace]), data["trace.x"], **SAMPLE, name="trace.x")
    check(torch.stack([t["sigma"] for t in trace]), data["trace.sigma"], **SAMPLE, name="trace.sigma")
    check(torch.stack([t["x0"] for t in trace]), data["trace.x0"], **SAMPLE, name="trace.x0")
    if "in.condition_latent" in data:  # every view's first frame is its conditioning frame, exactly
        per_view = out.shape[2] // net.num_views
        for view in range(net.num_views):
            frame = view * per_view
            assert torch.equal(out[:, :, frame], data["in.condition_latent"][:, :, frame])


def test_condition_indicator_is_per_view():
    m = condition_indicator(torch.tensor([2]), 9, num_views=3).reshape(-1)
    assert m.tolist() == [1, 1, 0, 1, 1, 0, 1, 1, 0]
    with pytest.raises(ShapeError, match="num_condition_frames"):
        condition_indicator(torch.tensor([4]), 9, num_views=3)
    with pytest.raises(ShapeError, match="views"):
        condition_indicator(torch.tensor([1]), 8, num_views=3)


def test_bad_inputs_raise_named_errors(mv_net, tensors):
    net = mv_net("multiview_traj_tiny")
    data = tensors("multiview_traj_tiny.net.safetensors")
    args, kwargs = _net_args(data)
    x = args[0]
    cases = [
        ({**kwargs, "trajectory": None}, "trajectory-conditioned"),
        ({**kwargs, "trajectory": kwargs["trajectory"][:, :96]}, r"trajectory must be"),
        ({**kwargs, "trajectory": torch.full_like(kwargs["trajectory"], float("nan"))}, "non-finite"),
        ({**kwargs, "frame_repeat": kwargs["frame_repeat"][:, :2]}, r"frame_repeat must be \[B, V\]"),
    ]
    for bad, match in cases:
        with pytest.raises(ShapeError, match=match):
            net(*args, **bad)
    with pytest.raises(ShapeError, match="views"):  # 5 latent frames cannot hold 3 views
        net(x[:, :, :5], *args[1:], **kwargs)
    with pytest.raises(ShapeError, match="one caption per view"):
        net(x, args[1], args[2][:, :23], *args[3:], **kwargs)
    # [B, 64, 3] is the same trajectory, flattened point-major; no frame_repeat = zeros (the bias stays)
    with torch.no_grad():
        flat = net(*args, **kwargs)
        points = net(*args, **{**kwargs, "trajectory": kwargs["trajectory"].reshape(-1, 64, 3)})
        absent = net(*args, **{**kwargs, "frame_repeat": None})
        zeros = net(*args, **{**kwargs, "frame_repeat": torch.zeros_like(kwargs["frame_repeat"])})
    assert torch.equal(flat, points)
    assert torch.equal(absent, zeros)
    t2w = mv_net("multiview_t2w_tiny")
    t2w_args, t2w_kwargs = _net_args(tensors("multiview_t2w_tiny.net.safetensors"))
    with pytest.raises(ShapeError, match="no trajectory"):
        t2w(*t2w_args, frame_repeat=t2w_kwargs["frame_repeat"], trajectory=kwargs["trajectory"])


def test_checkpoint_fixes_view_dim_and_rejects_view_count(mv_folder, net_kwargs, tmp_path):
    """``view_condition_dim`` comes from the checkpoint (post-trained 5-view nets use 3); a view count that
    does not match the checkpoint is a CheckpointError before any weights are assigned."""
    config = MultiViewDiT.coerce_config(net_kwargs("multiview_t2w_tiny"))
    small = dataclasses.replace(config, view_condition_dim=3, num_views=5)
    model = MultiViewDiT(small)
    folder = tmp_path / "five_views"
    folder.mkdir()
    from cosmos.diffusion.checkpoints import to_official

    torch.save(to_official(model.state_dict()), folder / "model.pt")
    loaded = MultiViewDiT.from_pretrained(folder, config=dataclasses.replace(config, num_views=5))
    assert (loaded.config.num_views, loaded.config.view_condition_dim, loaded.config.in_channels) == (
        5,
        3,
        20,
    )
    with pytest.raises(CheckpointError, match="5-view"):
        MultiViewDiT.from_pretrained(folder, config=config)
    with pytest.raises(CheckpointError, match="3-view"):
        MultiViewDiT.from_pretrained(
            mv_folder("multiview_t2w_tiny"),
            config="Cosmos-1.1-Diffusion-7B-Text2World-Sample-Driving-Multiview",
        )


def test_our_layout_round_trip(mv_net, tensors, tmp_path):
    net = mv_net("multiview_v2w_tiny")
    loaded = MultiViewDiT.from_pretrained(net.save_pretrained(tmp_path / "ours"))
    args, kwargs = _net_args(tensors("multiview_v2w_tiny.net.safetensors"))
    with torch.no_grad():
        assert torch.equal(net(*args, **kwargs), loaded(*args, **kwargs))


def test_from_base_single_view_starts_at_the_base_model():
    """One view, no per-block table: the multi-view net grown from a single-view DiT computes the same thing
    (view channels start at zero weight); with three views the copied weights are shared and it runs."""
    from cosmos.diffusion import DiTConfig

    tiny = {
        "model_channels": 64,
        "num_blocks": 2,
        "num_heads": 2,
        "crossattn_channels": 16,
        "adaln_lora_dim": 8,
    }
    torch.manual_seed(0)
    base = DiT(DiTConfig(**tiny, extra_pos_embed=False)).eval()
    for parameter in base.parameters():  # non-trivial weights everywhere (the zero AdaLN init hides bugs)
        torch.nn.init.normal_(parameter, std=0.1)
    single = MultiViewDiT.from_base(
        base, MultiViewDiTConfig(**tiny, num_views=1, extra_pos_embed=False)
    ).eval()
    x, t, text = torch.randn(2, 16, 3, 4, 6), torch.tensor([0.1, -0.5]), torch.randn(2, 5, 16)
    with torch.no_grad():
        expected = base(x, t, text, None, 24.0)
        got = single(x, t, text, None, 24.0, frame_repeat=torch.rand(2, 1))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    views = MultiViewDiT.from_base(
        base, MultiViewDiTConfig(**tiny, num_views=3, condition_mask=True, trajectory_dim=4)
    )
    assert torch.equal(views.blocks[1].mlp.op.fc1.weight, base.blocks[1].mlp.op.fc1.weight)
    with torch.no_grad():
        out = views(
            torch.randn(1, 16, 6, 4, 6),
            t[:1],
            torch.randn(1, 6, 16),
            None,
            24.0,
            None,
            torch.ones(1, 1, 6, 4, 6),
            trajectory=torch.randn(1, 64, 3),
        )
    assert out.shape == (1, 16, 6, 4, 6)
    with pytest.raises(ValueError, match="same backbone"):
        MultiViewDiT.from_base(base, MultiViewDiTConfig(**{**tiny, "num_blocks": 3}, num_views=3))
