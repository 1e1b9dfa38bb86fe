"""The ELS machine's x0 estimate: per boundary class, a softmax over training patches, streamed.

For a query patch q (the P x P neighbourhood of pixel i in x_t) and the training patches phi_k of
pixel i's class with multiplicities c_k, at alpha-bar a:

    x0_hat_i = sum_k w_k centre(phi_k) / sum_k w_k,
    log w_k = log c_k - ||q - sqrt(a) phi_k||^2 / (2 (1 - a))
            = const(q) + [sqrt(a) / (1 - a)] <q, phi_k> - [a / (2 (1 - a))] |phi_k|^2 + log c_k.

The last line is one matrix product of [c1 q, c2, 1] with the bank's keys [phi, |phi|^2, log c]
(c1, c2 per query row, so a batch may mix noise levels). Chunks of the bank are folded into a
running (online) log-sum-exp; memory is bounded by query block x bank chunk.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .patches import query_patches

#: Query rows per block: with the default bank chunk the logit block stays in the L2 cache.
QUERY_BLOCK = 256


def streamed_softmax_mean(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                          chunk: int = 2048, query_block: int = QUERY_BLOCK) -> torch.Tensor:
    """sum_k softmax_k(queries @ keys^T) values_k / (its last column): rows of ``values`` are
    [centre in each of C channels, 1], so the result (rows x C) is the weighted mean of the centres."""
    out = torch.empty((queries.shape[0], values.shape[1] - 1), dtype=queries.dtype, device=queries.device)
    for q0 in range(0, queries.shape[0], query_block):
        q = queries[q0:q0 + query_block]
        top = torch.full((q.shape[0], 1), -torch.inf, dtype=q.dtype, device=q.device)
        acc = torch.zeros((q.shape[0], values.shape[1]), dtype=q.dtype, device=q.device)
        for k0 in range(0, keys.shape[0], chunk):
            logits = q @ keys[k0:k0 + chunk].T
            new_top = torch.maximum(top, logits.amax(dim=1, keepdim=True))
            logits.sub_(new_top).exp_()
            acc = acc * torch.exp(top - new_top) + logits @ values[k0:k0 + chunk]
            top = new_top
        out[q0:q0 + query_block] = acc[:, :-1] / acc[:, -1:]
    return out


def els_x0(x_t: torch.Tensor, abar: torch.Tensor, size: int, padding: str,
           banks: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], chunk: int = 2048) -> torch.Tensor:
    """The ELS estimate of x0 for ``x_t`` (B x C x H x W) at each row's alpha-bar ``abar`` (B,).

    ``banks``: per boundary class, (flat pixel indices it answers, keys, values) as made by
    :meth:`PatchBank.pixels` and :meth:`PatchBank.tensors`.
    """
    b, c, h, w = x_t.shape
    a = abar.to(device=x_t.device, dtype=x_t.dtype).view(b, 1, 1)
    q = query_patches(x_t, size, padding, abar)  # B x HW x C P^2
    c1 = a.sqrt() / (1 - a)
    c2 = (-a / (2 * (1 - a))).expand(b, h * w, 1)
    queries = torch.cat([c1 * q, c2, torch.ones_like(c2)], dim=2)
    out = torch.empty((b, h * w, c), dtype=x_t.dtype, device=x_t.device)
    for pixels, keys, values in banks:
        rows = queries[:, pixels].reshape(-1, queries.shape[2])
        out[:, pixels] = streamed_softmax_mean(rows, keys, values, chunk).view(b, len(pixels), c)
    return out.permute(0, 2, 1).reshape(b, c, h, w).contiguous()
