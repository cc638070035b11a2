"""Medusa heads and speculative decoding: exactness under greedy decoding, distribution under sampling, training."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.ar import Transformer
from cosmos.ar.generate import generate, logits_to_probs
from cosmos.ar.medusa import (
    add_medusa_heads,
    chain_tree,
    medusa_distillation_loss,
    medusa_generate,
    medusa_tree,
    self_distillation_sequences,
)
from cosmos.core import ShapeError


@functools.cache
def _model(tiny_model, **overrides):
    return tiny_model(seed=11, dtype=torch.float64, num_medusa_heads=3, **overrides)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**16), prompt_len=st.integers(1, 12), num_drafts=st.integers(1, 3))
def test_greedy_medusa_equals_plain_greedy(tiny_model, seed, prompt_len, num_drafts):
    model = _model(tiny_model)
    generator = torch.Generator().manual_seed(seed)
    prompt = torch.randint(0, 32, (1, prompt_len), generator=generator)
    num_new = model.config.seq_len - prompt_len
    plain, _ = generate(model, prompt, num_new, temperature=0.0, progress=False)
    fast, stats = medusa_generate(
        model, prompt, num_new, temperature=0.0, num_drafts=num_drafts, progress=False
    )
    assert torch.equal(fast, plain)
    assert stats.num_forward_passes <= num_new - 1


def test_medusa_tree_is_best_first_and_prefix_closed():
    # path probabilities: (0,) .6, (0, 0) .3, (1,) .2, (0, 1) .18, (1, 0) .1, ...
    assert medusa_tree([[0.6, 0.2], [0.5, 0.3]], 4) == ((0,), (0, 0), (1,), (0, 1))
    tree = medusa_tree([[0.5, 0.2, 0.1]] * 4, 30)
    assert len(tree) == 30 and len(set(tree)) == 30
    assert all(path[:-1] in tree[:i] for i, path in enumerate(tree) if len(path) > 1)
    assert chain_tree(3) == ((0,), (0, 0), (0, 0, 0))
    with pytest.raises(ValueError, match="num_nodes"):
        medusa_tree([[0.5]], 0)


def test_tree_attention_matches_sequential_decoding(tiny_model):
    """Each node of a token tree, run in one cached forward with a tree mask, gets the logits of its own path."""
    model = _model(tiny_model)
    prompt = torch.tensor([[3, 1, 4, 1, 5]])
    parents, tokens = [-1, 0, 0, 1, 1, 2, 3], [9, 2, 6, 5, 3, 5, 8]  # node 0 = the token after the prompt
    depths = [0, 1, 1, 2, 2, 2, 3]
    mask = torch.zeros(7, 7, dtype=torch.bool)
    for node in range(7):
        if node:
            mask[node] = mask[parents[node]]
        mask[node, node] = True
    with torch.no_grad():
        model.setup_cache(1, 16)
        model.hidden_states(prompt, torch.arange(5))
        tree_logits = model.output(
            model.hidden_states(torch.tensor([tokens]), 5 + torch.tensor(depths), tree_mask=mask)
        )
        model.clear_cache()
        for node in range(7):
            path, walk = [], node
            while walk >= 0:
                path.insert(0, tokens[walk])
                walk = parents[walk]
            expected = model(torch.cat([prompt, torch.tensor([path])], dim=1))[0, -1]
            torch.testing.assert_close(tree_logits[0, node], expected, rtol=0, atol=1e-10)


def _oracle_heads(model, sequence: torch.Tensor, ranks: tuple[int, ...]):
    """Heads that rank the true greedy continuation at ``ranks[k]`` for head ``k`` (position found from the hidden
    state by nearest neighbour among the teacher-forced hidden states of ``sequence``)."""
    with torch.no_grad():
        states = model.hidden_states(sequence)[0]  # [S, dim]
    vocab = model.config.vocab_size

    def forward(hidden, base_output):
        position = int((states - hidden[0, -1]).norm(dim=-1).argmin())
        logits = torch.zeros(len(ranks), 1, 1, vocab, dtype=hidden.dtype)
        for k, rank in enumerate(ranks):
            target = (
                position + k + 2
            )  # head k + 1 drafts the token k + 2 after the one that produced `hidden`
            if target < sequence.shape[1]:
                order = [t for t in range(vocab) if t != int(sequence[0, target])]
                order.insert(rank, int(sequence[0, target]))
                logits[k, 0, 0, order] = torch.arange(vocab, 0, -1, dtype=hidden.dtype)
        return logits

    return forward


def test_move_cache_copies_slots_and_rejects_bad_input(tiny_model):
    model = _model(tiny_model)
    with pytest.raises(ShapeError, match="setup_cache"):
        model.move_cache(torch.tensor([3]), torch.tensor([1]))
    model.setup_cache(1, 8)
    with torch.no_grad():
        model.hidden_states(torch.tensor([[1, 2, 3, 4, 5]]), torch.arange(5))
        model.move_cache(torch.tensor([3, 4]), torch.tensor([6, 7]))
        for layer in model.layers:
            torch.testing.assert_close(
                layer.attention.kv_cache.key[:, :, 6:8], layer.attention.kv_cache.key[:, :, 3:5]
            )
    with pytest.raises(ShapeError, match="one length"):
        model.move_cache(torch.tensor([3, 4]), torch.tensor([1]))
    model.clear_cache()


def test_greedy_tree_accepts_off_first_branches_and_equals_plain(tiny_model, monkeypatch):
    """Heads whose right answer is a second candidate: accepted nodes are not the first slots of the tree, so their
    cached keys must be moved; the output still equals plain greedy decoding."""
    model = _model(tiny_model)
    prompt = torch.tensor([[2, 7, 1]])
    num_new = model.config.seq_len - 3
    plain, _ = generate(model, prompt, num_new, temperature=0.0, progress=False)
    monkeypatch.setattr(
        model.medusa_heads, "forward", _oracle_heads(model, torch.cat([prompt, plain], dim=1), (1, 1, 0))
    )
    tree = ((0,), (1,), (0, 0), (1, 0), (1, 1), (1, 1, 0))
    fast, stats = medusa_generate(
        model, prompt, num_new, temperature=0.0, tree=tree, frame_copy=0, progress=False
    )
    assert torch.equal(fast, plain)
    assert (
        stats.num_forward_passes <= 6
    )  # 20 tokens: (1,) -> (1, 1) -> (1, 1, 0) accepted (4 a pass) but near the end


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    num_nodes=st.integers(1, 10),
    frame_copy=st.integers(0, 14),
    temperature=st.sampled_from([0.0, 1.0]),
)
def test_tree_and_frame_copy_equal_plain_decoding(tiny_model, seed, num_nodes, frame_copy, temperature):
    model = _model(tiny_model)
    generator = torch.Generator().manual_seed(seed)
    prompt = torch.randint(0, 32, (2, 5), generator=generator)
    num_new = model.config.seq_len - 5
    accuracy = torch.rand(3, 4, generator=generator)
    kwargs = dict(temperature=temperature, top_p=0.8, seed=seed, progress=False)
    plain, _ = generate(model, prompt, num_new, **kwargs)
    fast, _ = medusa_generate(
        model, prompt, num_new, tree=medusa_tree(accuracy, num_nodes), frame_copy=frame_copy, **kwargs
    )
    assert torch.equal(fast, plain)


def test_frame_copy_alone_needs_no_heads(tiny_model):
    """tree=() decodes with the previous-frame copies only; a model whose output repeats accepts them."""
    model = tiny_model(seed=3, dtype=torch.float64, video_latent_shape=(4, 3, 4))
    with (
        torch.no_grad()
    ):  # all logits 0: greedy always picks token 0; after a frame of 0s every copy is right
        model.norm.weight.zero_()
    prompt = torch.zeros(1, 12, dtype=torch.int64)
    num_new = model.config.seq_len - 12
    plain, _ = generate(model, prompt, num_new, temperature=0.0, progress=False)
    assert not plain.any()
    fast, stats = medusa_generate(
        model, prompt, num_new, temperature=0.0, tree=(), frame_copy=8, progress=False
    )
    assert torch.equal(fast, plain)
    assert stats.mean_accepted_length > 3.0
    with pytest.raises(ValueError, match="no Medusa heads"):
        medusa_generate(model, prompt, 4, progress=False)


def test_bad_trees_are_rejected(tiny_model):
    model = _model(tiny_model)
    for tree in [((0, 0),), ((0,), (0, 0), (0, 0, 0), (0, 0, 0, 0)), ((-1,),)]:
        with pytest.raises(ValueError, match="tree paths"):
            medusa_generate(model, torch.tensor([[1]]), 4, tree=tree, progress=False)
    with pytest.raises(ValueError, match="frame_copy"):
        medusa_generate(model, torch.tensor([[1]]), 4, frame_copy=-1, progress=False)


def test_sampled_medusa_equals_plain_for_a_seed(tiny_model):
    model = _model(tiny_model, training_type="text_to_video", apply_abs_pos_emb=True, insert_cross_attn=True)
    prompt = torch.tensor([[32, 3, 4, 5], [32, 7, 7, 1]])
    context = torch.randn(2, 3, 16, dtype=torch.float64)
    kwargs = dict(context=context, temperature=1.0, top_p=0.8, seed=5, progress=False)
    plain, _ = generate(model, prompt, 20, **kwargs)
    fast, stats = medusa_generate(model, prompt, 20, **kwargs)
    assert torch.equal(fast, plain)
    assert stats.num_sequences == 2


def test_sampled_medusa_matches_the_base_distribution(tiny_model):
    """Chi-square of 3-token continuations drawn by Medusa against the exact base distribution (enumerated)."""
    torch.manual_seed(0)
    model = tiny_model(seed=12, dtype=torch.float64, vocab_size=6, num_medusa_heads=2)
    with torch.no_grad():  # heads that often guess right: copy the base output into a 1-step-shifted guess
        model.medusa_heads.heads[0].blocks[0].linear.weight.normal_(0, 0.2)
    prompt = torch.tensor([[1, 2, 3]])
    sampling = dict(temperature=1.3, top_p=0.9)
    exact = {}
    with torch.no_grad():
        for sequence in torch.cartesian_prod(*[torch.arange(6)] * 3):
            tokens = torch.cat([prompt[0], sequence])[None]
            probs = logits_to_probs(model(tokens)[0, 2:5], **sampling)  # rows predict the three new tokens
            exact[tuple(sequence.tolist())] = math.prod(float(probs[i, sequence[i]]) for i in range(3))
    counts: dict[tuple, int] = {}
    rows, draws = 400, 5
    passes = 0
    for seed in range(draws):
        out, stats = medusa_generate(model, prompt.repeat(rows, 1), 3, seed=seed, progress=False, **sampling)
        passes += stats.num_forward_passes
        for row in out.tolist():
            counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    total = rows * draws
    assert passes < total * 2  # some drafts were accepted (fewer than 2 passes per sequence)
    assert set(counts) <= {key for key, p in exact.items() if p > 0}  # nothing outside the top-p support
    # pool cells with small expected counts, then chi-square
    big = [key for key, p in exact.items() if p * total >= 5]
    observed = [counts.get(key, 0) for key in big] + [total - sum(counts.get(key, 0) for key in big)]
    expected = [exact[key] * total for key in big] + [total * (1 - sum(exact[key] for key in big))]
    cells = [(o, e) for o, e in zip(observed, expected) if e > 0]
    chi2 = sum((o - e) ** 2 / e for o, e in cells)
    dof = len(cells) - 1
    # reject at p < 1e-3: Wilson-Hilferty approximation of the chi-square quantile
    z = 3.09
    critical = dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3
    assert chi2 < critical, f"chi2 {chi2:.1f} >= {critical:.1f} (dof {dof})"


def test_distillation_trains_heads_and_raises_acceptance(tiny_model, tmp_path):
    torch.manual_seed(0)
    model = tiny_model(seed=13)
    add_medusa_heads(model, 2)
    assert model.config.num_medusa_heads == 2
    for param in model.parameters():
        param.requires_grad_(False)
    for param in model.medusa_heads.parameters():
        param.requires_grad_(True)
    # training data: the base model's own greedy continuations of random prompts (Medusa §2.3.2)
    prompts = torch.randint(0, 32, (16, 4))
    data = self_distillation_sequences(model, prompts, 20, batch_size=5, progress=False)
    assert data.shape == (16, 24) and torch.equal(data[:, :4], prompts)
    assert torch.equal(data[:, 4:], generate(model, prompts, 20, temperature=0.0, progress=False)[0])
    with pytest.raises(ShapeError, match="prompts must be"):
        self_distillation_sequences(model, prompts[0], 20, progress=False)
    with pytest.raises(ShapeError, match="context has 2 rows for 16 prompts"):
        self_distillation_sequences(model, prompts, 20, context=torch.zeros(2, 3, 8), progress=False)
    prompt = data[:1, :4]
    _, before = medusa_generate(model, prompt, 20, temperature=0.0, progress=False)
    optimizer = torch.optim.AdamW(model.medusa_heads.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss, agreement = medusa_distillation_loss(model, data)
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first
    base_params = {name: p for name, p in model.named_parameters() if "medusa" not in name}
    assert all(p.grad is None for p in base_params.values())
    tokens, after = medusa_generate(model, prompt, 20, temperature=0.0, progress=False)
    plain, _ = generate(model, prompt, 20, temperature=0.0, progress=False)
    assert torch.equal(tokens, plain)
    assert after.mean_accepted_length > before.mean_accepted_length
    assert after.mean_accepted_length > 1.5
    model.save_pretrained(tmp_path / "m")
    loaded = Transformer.from_pretrained(tmp_path / "m")
    assert loaded.config.num_medusa_heads == 2
    assert torch.equal(medusa_generate(loaded, prompt, 20, temperature=0.0, progress=False)[0], plain)


def test_medusa_requires_heads(tiny_model):
    with pytest.raises(ValueError, match="no Medusa heads"):
        medusa_generate(tiny_model(seed=1), torch.tensor([[1, 2]]), 4, progress=False)


def test_medusa_repo_key_names_convert(tiny_model):
    from cosmos.ar import ReferenceStateDictAdapter

    model = tiny_model(seed=14, num_medusa_heads=2, medusa_num_layers=2, medusa_shared_output=False)
    ours = {k: v for k, v in model.state_dict().items() if k.startswith("medusa_heads.")}
    theirs = {}
    for key, value in ours.items():
        _, _, head, kind, *rest = key.split(".")
        if kind == "blocks":
            theirs[f"model.medusa_head.{head}.{rest[0]}.linear.{rest[-1]}"] = value
        else:
            theirs[f"model.medusa_head.{head}.2.weight"] = value  # after the 2 ResBlocks
    assert ReferenceStateDictAdapter().convert(theirs).keys() == ours.keys()
