"""Direct transcriptions of the FGGP authors' released pruning rules, for tests.

Each function transcribes the released code: the counts from
main_proposed_class_schedule_cifar.py (S) and the mask computation of
prune_and_reconnect.py (P), applied as global_unstructure_double_importance_scores.py
applies it (G 130-174: the method only sees the active entries, flattened in order). They
use torch.topk as the released code does; the suite's selectors use `smallest_k`, so
agreement is a check of the rule, not of shared code.
"""

from __future__ import annotations

import functools

import torch


def two_stage_mask(
    first: torch.Tensor, second: torch.Tensor, amount_prune: int, amount_add: int
) -> torch.Tensor:
    """P 668-688 (Prune_WfromGrad_Add_Grad) and P 238-259 (Prune_GradfromW_Add_Grad):
    mask the `amount_prune` entries of smallest |first|, then restore the `amount_add` of
    them with largest |second|. Returns the kept mask over the given (active) entries."""
    mask = torch.ones_like(first)
    if amount_prune != 0:
        pruned = torch.topk(torch.abs(first).view(-1), k=amount_prune, largest=False)
        mask.view(-1)[pruned.indices] = 0
        second = second * (mask == 0)
        restored = torch.topk(torch.abs(second).view(-1), k=amount_add, largest=True)
        mask.view(-1)[restored.indices] = 1
    return mask


def on_active(weight, grad, active, first_is_grad, amount_prune, amount_add) -> torch.Tensor:
    """G 130-174: compute the mask on the active slice, return the newly pruned entries."""
    first, second = (grad, weight) if first_is_grad else (weight, grad)
    kept = two_stage_mask(first[active], second[active], amount_prune, amount_add)
    pruned = torch.zeros_like(active)
    pruned[active] = kept == 0
    return pruned


def released_fggp(weight, grad, active, k, select_ratio):
    """S 517-542 (`--prune-criterion "|grad|" --add-criterion "|w|"`)."""
    remain = int(active.sum())
    to_add_t = int(select_ratio * remain) - k
    to_prune_t = int(select_ratio * remain)
    return on_active(weight, grad, active, True, to_prune_t, to_add_t)


def released_annealed(weight, grad, active, k, rate):
    """S 471-488 ("GraNet in our framework": `--prune-criterion "|w|" --add-criterion
    "|grad|"`), with `rate` the CosineDecay value at this iteration."""
    remain = int(active.sum())
    to_add_t = int((remain - k) * rate)
    return on_active(weight, grad, active, False, k + to_add_t, to_add_t)


def released_modification_1(weight, grad, active, k, select_ratio):
    """S 479-484 with the call of S 489: order exchanged, fixed fraction of the active."""
    remain = int(active.sum())
    to_add_t = int(select_ratio * remain) - k
    to_prune_t = int(select_ratio * remain)
    return on_active(weight, grad, active, False, to_prune_t, to_add_t)


def released_modification_2(weight, grad, active, k, rate):
    """S 531-535 with the call of S 543: gradient first, cosine share of the rest."""
    remain = int(active.sum())
    to_add_t = int((remain - k) * rate)
    return on_active(weight, grad, active, True, k + to_add_t, to_add_t)


def released_modification_3(weight, grad, active, k, share):
    """S 536-540 with the call of S 543: gradient first, fixed share of the rest."""
    remain = int(active.sum())
    to_add_t = int((remain - k) * share)
    return on_active(weight, grad, active, True, k + to_add_t, to_add_t)


@functools.cache
def released_cosine_decay(start: float, total: int, at: tuple[int, ...]) -> dict[int, float]:
    """S 607-616: the rate after each iteration in `at` of CosineAnnealingLR(T_max = total,
    eta_min = 0.005) on an SGD learning rate, stepped once per iteration (S 431)."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=start)
    annealing = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total, 0.005)
    rates = {}
    for iteration in range(1, max(at) + 1):
        optimizer.step()  # a no-op (no gradient); keeps torch's call-order check quiet
        annealing.step()
        if iteration in at:
            rates[iteration] = optimizer.param_groups[0]["lr"]
    return rates
