"""Medusa heads and speculative decoding for the Cosmos AR transformer (spec §6; Cai et al. 2024, "Medusa").

Head ``k`` (``k = 1 .. K``) reads the final hidden state of position ``t`` (after the last RMSNorm) and predicts
the token at ``t + k + 1`` (the base output layer predicts ``t + 1``)::

    u_k      = x + SiLU(W_k x + b_k)      # ResBlock, zero-initialized (starts as the identity)
    logits_k = U_k u_k                    # U_k: own [vocab, dim] matrix, or the base output layer (shared)
"""

from __future__ import annotations

import dataclasses
import heapq
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from cosmos.core import ShapeError

from .generate import (
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    DecodeStats,
    _check_prompt,
    _synchronize,
    draw_noise,
    generate,
    sample,
)

__all__ = [
    "MedusaResBlock",
    "MedusaHeads",
    "add_medusa_heads",
    "medusa_distillation_loss",
    "medusa_generate",
    "medusa_tree",
    "chain_tree",
    "self_distillation_sequences",
    "DEFAULT_RANK_ACCURACY",
]


class MedusaResBlock(nn.Module):
    """``x + SiLU(linear(x))`` with a zero-initialized linear (Medusa paper §2.1.1). ``[..., dim]`` -> same."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear = nn.Linear(dim, dim, bias=True)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + F.silu(self.linear(x))


class MedusaHead(nn.Module):
    """One head: ``num_layers`` independent ResBlocks, then (unless shared) its own projection to the vocab."""

    def __init__(self, dim: int, vocab_size: int, *, num_layers: int, shared_output: bool):
        super().__init__()
        self.blocks = nn.Sequential(*(MedusaResBlock(dim) for _ in range(num_layers)))
        self.output = None if shared_output else nn.Linear(dim, vocab_size, bias=False)


class MedusaHeads(nn.Module):
    """K Medusa heads (spec §6.2). Head ``k`` (0-based index ``k - 1``) predicts ``k + 1`` steps ahead.

    Args:
        dim: model width.
        vocab_size: output rows.
        num_heads: K.
        num_layers: ResBlocks per head (independent weights; the Medusa repo shares them, a known quirk).
        shared_output: reuse the base model's output layer for every head (legacy Medusa layout, much smaller
            for a 64000-row vocabulary) instead of one ``[vocab, dim]`` matrix per head.
    """

    def __init__(
        self, dim: int, vocab_size: int, *, num_heads: int, num_layers: int = 1, shared_output: bool = True
    ):
        super().__init__()
        self.num_heads = num_heads
        self.heads = nn.ModuleList(
            MedusaHead(dim, vocab_size, num_layers=num_layers, shared_output=shared_output)
            for _ in range(num_heads)
        )

    def forward(self, hidden: Tensor, base_output: nn.Linear) -> Tensor:
        """Logits of every head.

        Args:
            hidden: final normalized hidden states ``[B, S, dim]``.
            base_output: the base model's output layer (used when the heads share it).
        Returns:
            ``[K, B, S, vocab]`` in the hidden dtype.
        """
        projected = torch.stack([head.blocks(hidden) for head in self.heads], dim=0)  # [K, B, S, dim]
        if all(head.output is None for head in self.heads):
            return base_output(projected)  # one matmul for all heads
        return torch.stack(
            [(head.output or base_output)(projected[k]) for k, head in enumerate(self.heads)], dim=0
        )


def add_medusa_heads(model, num_medusa_heads: int, *, num_layers: int = 1, shared_output: bool = True):
    """Attach fresh (identity-initialized) Medusa heads to a :class:`cosmos.ar.Transformer`, in place.

    The model's frozen config is replaced by one recording the heads, so ``save_pretrained`` /
    ``from_pretrained`` round-trip them. Returns the model.
    """
    if num_medusa_heads < 1:
        raise ValueError(f"num_medusa_heads must be >= 1, got {num_medusa_heads}")
    config = model.config
    weight = model.output.weight
    heads = MedusaHeads(
        config.dim,
        config.vocab_size,
        num_heads=num_medusa_heads,
        num_layers=num_layers,
        shared_output=shared_output,
    ).to(device=weight.device, dtype=weight.dtype)
    model.medusa_heads = heads
    model.config = dataclasses.replace(
        config,
        num_medusa_heads=num_medusa_heads,
        medusa_num_layers=num_layers,
        medusa_shared_output=shared_output,
    )
    return model


def medusa_distillation_loss(
    model,
    tokens: Tensor,
    *,
    context: Tensor | None = None,
    context_mask: Tensor | None = None,
    decay: float = 0.8,
) -> tuple[Tensor, Tensor]:
    """Self-distillation loss of the Medusa heads on the base model's own predictions (Medusa paper §2.3.2).

    Head ``k`` (1-based) at position ``t`` is trained towards the base model's distribution at position ``t + k``
    (the base's prediction of token ``t + k + 1``): ``sum_k decay^k * KL(p_base[t + k] || p_head_k[t])``, averaged
    over positions. The backbone runs without gradients (frozen); only the heads learn.

    Args:
        model: a :class:`cosmos.ar.Transformer` with ``medusa_heads``.
        tokens: int64 ``[B, S]`` training sequences (``S > K + 1``).
    Returns:
        ``(loss scalar float32, per-head top-1 agreement with the base [K])``.
    """
    if model.medusa_heads is None:
        raise ValueError("the model has no Medusa heads; call add_medusa_heads(model, K) first")
    num_heads = model.medusa_heads.num_heads
    if tokens.shape[1] <= num_heads + 1:
        raise ValueError(f"sequences of {tokens.shape[1]} tokens are too short for {num_heads} heads")
    with torch.no_grad():
        hidden = model.hidden_states(tokens, None, context, context_mask)  # [B, S, dim]
        base_logp = torch.log_softmax(model.output(hidden).float(), dim=-1)  # [B, S, V]
    head_logits = model.medusa_heads(hidden, model.output)  # [K, B, S, V]
    losses, agreement = [], []
    for k in range(1, num_heads + 1):
        target = base_logp[:, k:]  # base at t + k
        pred = torch.log_softmax(head_logits[k - 1, :, :-k].float(), dim=-1)  # head k at t
        kl = (target.exp() * (target - pred)).sum(dim=-1).mean()
        losses.append(decay**k * kl)
        agreement.append((pred.argmax(-1) == target.argmax(-1)).float().mean())
    return torch.stack(losses).sum(), torch.stack(agreement)


@torch.inference_mode()
def self_distillation_sequences(
    model,
    prompts: Tensor,
    num_new_tokens: int,
    *,
    context: Tensor | None = None,
    context_mask: Tensor | None = None,
    temperature: float = 0.0,
    top_p: float | None = DEFAULT_TOP_P,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = True,
) -> Tensor:
    """Training sequences for the Medusa heads generated by the base model itself (Medusa paper §2.3.2).

    Heads distilled on the base model's own continuations learn exactly what they must draft at inference; with
    ``temperature=0`` (the default) these are greedy roll-outs, the data that maximizes greedy acceptance.

    Args:
        model: a :class:`cosmos.ar.Transformer` (heads, if any, are not used).
        prompts: int64 ``[N, P]`` prompts (Video2World: ``<bov>`` + the conditioning latent frames).
        num_new_tokens: tokens to generate after each prompt.
        context, context_mask: ``[N, L, context_dim]`` / bool ``[N, L]`` cross-attention inputs, if the model has them.
        temperature, top_p: sampling settings of :func:`cosmos.ar.generate.generate` (0 = greedy).
        batch_size: prompts decoded together.
        seed: noise seed of the first batch (batch ``i`` uses ``seed + i``).
    Returns:
        int64 ``[N, P + num_new_tokens]``: each prompt followed by its continuation.
    Raises:
        ShapeError: prompts not int ``[N, P]``, a context / context_mask with other than ``N`` rows, or as
            :func:`cosmos.ar.generate.generate`.
    """
    if prompts.dim() != 2 or prompts.dtype not in (torch.int64, torch.int32):
        raise ShapeError(f"prompts must be int64 [N, P], got {tuple(prompts.shape)} {prompts.dtype}")
    for name, value in (("context", context), ("context_mask", context_mask)):
        if value is not None and value.shape[0] != prompts.shape[0]:
            raise ShapeError(f"{name} has {value.shape[0]} rows for {prompts.shape[0]} prompts")
    rows = []
    starts = range(0, prompts.shape[0], batch_size)
    for i, start in enumerate(tqdm(starts, disable=not progress, desc="self-distillation roll-outs")):
        end = start + batch_size
        new, _ = generate(
            model, prompts[start:end], num_new_tokens,
            context=None if context is None else context[start:end],
            context_mask=None if context_mask is None else context_mask[start:end],
            temperature=temperature, top_p=top_p, seed=seed + i, progress=False,
        )  # fmt: skip
        rows.append(torch.cat([prompts[start:end], new], dim=1))
    return torch.cat(rows)


# Marginal accuracy of rank r (columns) of head k's candidates (rows): P(the token the base model emits k + 1
# steps ahead is head k's r-th most likely token), measured on the shipped nano-ar heads over 16 held-out greedy
# roll-outs (similar to the Medusa paper's Vicuna-7B heads). It only shapes the default tree (speed), never outputs.
DEFAULT_RANK_ACCURACY = (
    (0.57, 0.14, 0.07, 0.03, 0.03, 0.02, 0.02, 0.01),
    (0.51, 0.14, 0.07, 0.04, 0.03, 0.02, 0.02, 0.01),
    (0.46, 0.14, 0.08, 0.04, 0.04, 0.02, 0.02, 0.01),
    (0.43, 0.15, 0.08, 0.04, 0.03, 0.02, 0.02, 0.01),
)
DEFAULT_TREE_NODES = 8
DEFAULT_FRAME_COPY = 8
COPY_RUN_FACTOR = 4  # after a round that accepted its whole copy chain: a chain this many times longer, no heads


def medusa_tree(rank_accuracy, num_nodes: int) -> tuple[tuple[int, ...], ...]:
    """A Medusa candidate tree: the ``num_nodes`` most probable paths (Medusa paper §2.1.2, "tree attention").

    A path ``(r1, .., rd)`` drafts head 1's ``r1``-th, head 2's ``r2``-th, ... candidate (0 = most likely); its
    probability of being accepted is estimated as ``prod_k rank_accuracy[k][r_k]`` (heads independent), and paths are
    taken best-first, so the result is prefix-closed (every path's parent is in it, before it).

    Args:
        rank_accuracy: ``[K][R]`` nested sequence (or tensor) of per-head, per-rank accuracies in ``[0, 1]``.
        num_nodes: tree size (draft tokens verified per forward pass), ``>= 1``.
    Returns:
        Tuple of paths (tuples of ranks), parents before children.
    Raises:
        ValueError: ``num_nodes < 1`` or an empty accuracy table.
    """
    table = [[float(a) for a in row] for row in rank_accuracy]
    if num_nodes < 1 or not table or not table[0]:
        raise ValueError(f"need num_nodes >= 1 and a non-empty [K][R] accuracy table, got {num_nodes}, {table}")
    heap = [(-acc, (rank,)) for rank, acc in enumerate(table[0])]
    heapq.heapify(heap)
    paths: list[tuple[int, ...]] = []
    while heap and len(paths) < num_nodes:
        negative, path = heapq.heappop(heap)
        paths.append(path)
        if len(path) < len(table):
            for rank, acc in enumerate(table[len(path)]):
                heapq.heappush(heap, (negative * acc, path + (rank,)))
    return tuple(paths)


def chain_tree(num_drafts: int) -> tuple[tuple[int, ...], ...]:
    """The linear draft chain as a tree: heads 1 .. ``num_drafts`` each draft their most likely token."""
    return tuple((0,) * depth for depth in range(1, num_drafts + 1))


@dataclasses.dataclass
class _Tree:
    """One round's candidate trie: node 0 is the pending token; ``parents[i] < i``."""

    tokens: list[int]
    depths: list[int]
    parents: list[int]
    children: list[dict[int, int]]

    @classmethod
    def root(cls, token: int) -> _Tree:
        return cls([token], [0], [-1], [{}])

    def add(self, parent: int, token: int) -> int:
        """The child of ``parent`` carrying ``token`` (merged with an existing one)."""
        node = self.children[parent].get(token)
        if node is None:
            node = len(self.tokens)
            self.tokens.append(token)
            self.depths.append(self.depths[parent] + 1)
            self.parents.append(parent)
            self.children.append({})
            self.children[parent][token] = node
        return node

    def mask(self) -> Tensor:
        """bool ``[S, S]``: node ``i`` sees its ancestors and itself."""
        size = len(self.tokens)
        rows: list[list[bool]] = []
        for node in range(size):
            row = list(rows[self.parents[node]]) if node else [False] * size
            row[node] = True
            rows.append(row)
        return torch.tensor(rows, dtype=torch.bool)

    def walk(self, samples: list[int]) -> list[int]:
        """Nodes accepted when each node's sample picks the child to move to ("sample and compare")."""
        path, node = [], 0
        while (node := self.children[node].get(samples[node], -1)) >= 0:
            path.append(node)
        return path


@torch.inference_mode()
def medusa_generate(
    model,
    prompt: Tensor,
    num_new_tokens: int,
    *,
    context: Tensor | None = None,
    context_mask: Tensor | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float | None = DEFAULT_TOP_P,
    top_k: int | None = None,
    seed: int = 0,
    tree=None,
    num_drafts: int | None = None,
    frame_copy: int | None = None,
    progress: bool = True,
) -> tuple[Tensor, DecodeStats]:
    """Speculative decoding with the Medusa heads and tree attention (spec §6.3; Medusa paper §2.1.2).

    Each round, the pending token ``y0`` (sampled, not yet in the cache) is the root of a candidate tree: the
    heads' top candidates, read from the hidden state that produced ``y0``, arranged by ``tree`` (head ``k``'s
    candidates at depth ``k``), plus a chain of ``frame_copy`` tokens copied from one latent frame earlier (video
    tokens mostly repeat the previous frame's token at the same place; no parameters). After a round that accepted
    its whole copy chain (a static stretch), the next round drafts a chain ``COPY_RUN_FACTOR`` times longer and
    skips the heads. The whole tree goes through **one** base forward with a tree attention mask (each node sees
    the cache and its ancestors, at the RoPE position of its depth). Then from the root: ``y`` is drawn from the
    node's base logits with the user's sampler; if a child carries ``y`` the walk moves there (draft accepted),
    otherwise ``y`` is emitted and becomes the next pending token. Every emitted token is thus a draw from the base
    model's own tempered/top-p conditional given the tokens before it, so the output distribution is exactly plain
    decoding's. Token ``j``'s noise depends only on ``(seed, j)`` (:func:`cosmos.ar.generate.draw_noise`), so for a
    seed the tokens equal :func:`generate`'s (greedy: identical by construction; sampled: up to float rounding of
    the logits). The accepted nodes' keys and values are then moved to the cache slots of their positions
    (:meth:`Transformer.move_cache`).

    Args:
        model: a :class:`cosmos.ar.Transformer` with ``medusa_heads``.
        prompt: int64 ``[B, P]`` (rows are decoded one after another).
        num_new_tokens: tokens to generate per row.
        tree: candidate paths (see :func:`medusa_tree`); default ``medusa_tree(DEFAULT_RANK_ACCURACY,
            DEFAULT_TREE_NODES)`` restricted to the model's heads.
        num_drafts: instead of ``tree``, the linear chain of heads ``1 .. num_drafts`` (:func:`chain_tree`).
        frame_copy: length of the previous-frame copy chain (default ``DEFAULT_FRAME_COPY``; 0 = Medusa heads
            only); tokens are copied at a distance of the model's tokens per latent frame, at most one frame
            deep. With ``tree=()`` the heads are not used (a model without heads decodes with the copies alone).
        Others: as :func:`cosmos.ar.generate.generate`.
    Returns:
        ``(new tokens int64 [B, num_new_tokens], DecodeStats)``; ``stats.mean_accepted_length`` = tokens per
        forward pass after the prefill (accepted drafts + 1).
    Raises:
        ValueError: the model has no Medusa heads (and the tree is not empty), a tree path uses a head the model
            does not have or lacks its parent, or ``frame_copy < 0``.
        ShapeError: as :func:`generate`.
    """
    wants_heads = tree is None or num_drafts is not None or len(tree) > 0
    if model.medusa_heads is None and wants_heads:
        raise ValueError(
            "the model has no Medusa heads; load a model with num_medusa_heads > 0 or add_medusa_heads() "
            "(or pass tree=() to decode with the frame-copy drafts only)"
        )
    num_heads = 0 if model.medusa_heads is None else model.medusa_heads.num_heads
    if num_drafts is not None:
        tree = chain_tree(min(num_drafts, num_heads))
    elif tree is None:
        tree = medusa_tree(DEFAULT_RANK_ACCURACY[:num_heads], DEFAULT_TREE_NODES)
    tree = tuple(tuple(path) for path in tree)
    paths = set(tree)
    for path in tree:
        ranks_ok = all(0 <= rank < model.config.vocab_size for rank in path)
        if not 1 <= len(path) <= num_heads or not ranks_ok or (len(path) > 1 and path[:-1] not in paths):
            raise ValueError(
                f"tree paths must have 1 .. {num_heads} ranks in [0, vocab) (one per Medusa head) and their parents in the "
                f"tree, got {path}"
            )
    frame_copy = DEFAULT_FRAME_COPY if frame_copy is None else frame_copy
    if frame_copy < 0:
        raise ValueError(f"frame_copy must be >= 0, got {frame_copy}")
    total = _check_prompt(model, prompt, num_new_tokens, context, context_mask)
    rows, passes, prefill_seconds, decode_seconds = [], 0, 0.0, 0.0
    for row in range(prompt.shape[0]):
        tokens, row_passes, row_prefill, row_decode = _medusa_row(
            model, prompt, row, num_new_tokens, total,
            context=None if context is None else context[row : row + 1],
            context_mask=None if context_mask is None else context_mask[row : row + 1],
            sampling=dict(temperature=temperature, top_p=top_p, top_k=top_k),
            seed=seed, tree=tree, frame_copy=frame_copy, progress=progress,
        )  # fmt: skip
        rows.append(tokens)
        passes += row_passes
        prefill_seconds += row_prefill
        decode_seconds += row_decode
    return torch.stack(rows), DecodeStats(num_new_tokens, len(rows), passes, prefill_seconds, decode_seconds)


def _medusa_row(
    model, prompt, row, num_new_tokens, total, *, context, context_mask, sampling, seed, tree, frame_copy, progress
):
    batch, prompt_len = prompt.shape
    device, config = prompt.device, model.config
    vocab = config.vocab_size
    greedy = sampling["temperature"] == 0
    num_ranks = 1 + max((max(path) for path in tree), default=0)
    copy_distance = config.tokens_per_frame
    first_copy_source = int(config.has_bov)  # tokens before it (the <bov>) are not video tokens

    # noise of not-yet-emitted indices, kept across rounds (a rejected position's noise is reused next round)
    drawn: dict[int, Tensor] = {}

    def noise(first: int, count: int) -> Tensor | None:
        # the noise of token j is row `row` of plain decoding's [B, V] draw for index j
        if greedy:
            return None
        for index in [index for index in drawn if index < first]:
            del drawn[index]
        for index in range(first, first + count):
            if index not in drawn:
                drawn[index] = draw_noise(seed, index, (batch, vocab), device)[row]
        return torch.stack([drawn[index] for index in range(first, first + count)])

    # tree nodes take cache slots beyond the sequence: room for the largest tree, within the RoPE table
    cache_len = min(total + len(tree) + COPY_RUN_FACTOR * frame_copy + 1, config.resolved_max_seq_len)
    model.setup_cache(1, cache_len)
    try:
        start = time.perf_counter()
        hidden = model.hidden_states(
            prompt[row : row + 1], torch.arange(prompt_len, device=device), context, context_mask
        )
        last_hidden = hidden[:, -1:]  # [1, 1, dim]: produced the pending token
        pending = sample(model.output(last_hidden)[0], noise(0, 1), **sampling)  # [1]
        _synchronize(device)
        prefill_seconds = time.perf_counter() - start
        sequence = prompt[row].tolist() + pending.tolist()  # every token so far; the pending one is last
        num_emitted, position, passes = 1, prompt_len, 0
        bar = tqdm(total=num_new_tokens, initial=1, disable=not progress, desc="medusa decoding", unit="tok")
        start = time.perf_counter()
        in_copy_run = False  # the last round accepted its whole copy chain: a static stretch of video
        while num_emitted < num_new_tokens:
            remaining = num_new_tokens - num_emitted  # deepest useful node: `remaining` drafts, then overflow
            room = cache_len - position  # cache slots left for this round's nodes
            use_heads = bool(tree) and not in_copy_run
            copy_len = frame_copy * (COPY_RUN_FACTOR if in_copy_run else 1)
            candidates = (
                model.medusa_heads(last_hidden, model.output)[:, 0, -1].topk(num_ranks, dim=-1).indices.tolist()
                if use_heads
                else []
            )  # [K][R]
            nodes = _Tree.root(sequence[-1])
            path_nodes = {(): 0}
            for path in tree if use_heads else ():
                if len(path) <= remaining and len(nodes.tokens) < room:
                    path_nodes[path] = nodes.add(path_nodes[path[:-1]], candidates[len(path) - 1][path[-1]])
            parent = 0  # the copy chain: depth d drafts the token one latent frame before position + d
            for depth in range(1, min(copy_len, remaining, copy_distance) + 1):
                source = position + depth - copy_distance
                token = sequence[source] if source >= first_copy_source else None
                if token is None or (token not in nodes.children[parent] and len(nodes.tokens) >= room):
                    break
                parent = nodes.add(parent, token)
            depths = torch.tensor(nodes.depths, device=device)
            hidden = model.hidden_states(
                torch.tensor([nodes.tokens], device=device), position + depths, tree_mask=nodes.mask().to(device)
            )
            logits = model.output(hidden)[0]  # [S, V]: node i predicts the token after it
            step_noise = noise(num_emitted, max(nodes.depths) + 1)
            samples = sample(logits, None if step_noise is None else step_noise[depths], **sampling).tolist()
            accepted = nodes.walk(samples)  # one sync per round (the .tolist above)
            last = accepted[-1] if accepted else 0
            in_copy_run = parent != 0 and last == parent
            new = [nodes.tokens[node] for node in accepted] + [samples[last]]
            if accepted and accepted != list(range(1, len(accepted) + 1)):
                model.move_cache(
                    position + torch.tensor(accepted, device=device),
                    position + torch.arange(1, len(accepted) + 1, device=device),
                )
            sequence.extend(new)
            num_emitted += len(new)
            position += len(new)
            last_hidden = hidden[:, last : last + 1]
            passes += 1
            bar.update(min(len(new), num_new_tokens - bar.n))
        bar.close()
        _synchronize(device)
        decode_seconds = time.perf_counter() - start
    finally:
        model.clear_cache()
    new_tokens = torch.tensor(sequence[prompt_len : prompt_len + num_new_tokens], device=device)
    return new_tokens, passes, prefill_seconds, decode_seconds
