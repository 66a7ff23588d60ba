"""Exercise ``minibatches``: one epoch's mini-batch indices in ``DataLoader``'s order
(``DataLoader(data, batch_size, shuffle=True, generator=g, drop_last)`` by hand).

Per epoch, DataLoader draws from ``g``, in this order (`nnscratch.data.batches` does the same):

    1. one int64, the worker base seed (drawn even with no workers)
    2. perm = randperm(n, generator=g)            the epoch's order
    3. a second randperm(n, generator=g)          drawn when the sampler runs dry, thrown away
    then the batches are perm[0:b], perm[b:2b], ...; the last, shorter one only if not drop_last

So the same generator gives a *new* permutation every epoch, and the same numbers as DataLoader.
"""

from __future__ import annotations

import torch

from nnscratch.lab.practice.base import Exercise, Mistake, Params, Seen, Trial, template
from nnscratch.lab.practice.observe import keep

EPOCHS = 3

TEMPLATE = template(
    "minibatches",
    "Write the mini-batch indices of one epoch in exactly the order DataLoader(range(n),\n"
    "batch_size, shuffle=True, generator=generator, drop_last) yields them, drawing from\n"
    "the generator what DataLoader draws, so that the next epoch matches too.",
    "nnscratch verify   (the DataLoader rows)",
    '''
def epoch_batches(n, batch_size, generator, drop_last):
    """Return the epoch's batches as a list of 1-D integer tensors of indices into range(n).

    DataLoader draws from `generator`, per epoch and in this order: one int64 base seed
    (torch.empty((), dtype=torch.int64).random_(generator=generator)), the epoch's
    permutation (torch.randperm), and a second permutation that it throws away.
    The last, shorter batch is kept unless drop_last.
    """
    raise NotImplementedError
''',
    """    g = torch.Generator().manual_seed(0)
    for epoch in range(2):
        print(epoch, [b.tolist() for b in epoch_batches(10, 4, g, drop_last=False)])
""",
)


def epoch_batches(n, batch_size, generator, drop_last):
    """The reference."""
    return batches_with(n, batch_size, generator, drop_last)


def batches_with(n, batch_size, generator, drop_last, seed=True, second=True, shuffle=True):
    """DataLoader's order, with its draws as arguments (the reference and its wrong variants)."""
    if seed:
        torch.empty((), dtype=torch.int64).random_(generator=generator)  # the base seed
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)  # (n,)
    if second and shuffle:
        torch.randperm(n, generator=generator)  # the sampler's second permutation, unused
    stop = n - n % batch_size if drop_last else n
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


def probe(fns, params: Params, seen: Seen) -> None:
    g = torch.Generator().manual_seed(params["seed"])
    n, b, drop_last = params["n"], params["batch_size"], params["drop_last"]
    for epoch in range(1, EPOCHS + 1):
        batches = list(fns.epoch_batches(n, b, g, drop_last))
        sizes = torch.tensor([len(x) for x in batches])
        seen[f"epoch {epoch}: batch sizes"] = sizes
        order = torch.cat([torch.as_tensor(x).reshape(-1) for x in batches]) if batches else sizes
        seen[f"epoch {epoch}: indices in order"] = keep(order)


def replaced(**kwargs):
    return {"epoch_batches": lambda n, b, g, d: batches_with(n, b, g, d, **kwargs)}


def same_order(got) -> bool:
    """Every epoch of some trial in the same order: one permutation, not one per epoch."""
    for seen in got.trials.values():
        orders = [v for q, v in seen.items() if "indices" in q]
        if len(orders) == EPOCHS and all(
            isinstance(o, torch.Tensor) and o.shape == orders[0].shape and torch.equal(o, orders[0])
            for o in orders
        ):
            return True
    return False


MISTAKES = (
    Mistake(
        "no-shuffle",
        "epoch_batches",
        "the batches are in the data's own order, 0, 1, 2, ...: shuffle=True draws a "
        "permutation every epoch.",
        "order = torch.randperm(n, generator=generator).",
        predict=lambda ctx: ctx.variant(**replaced(shuffle=False)),
    ),
    Mistake(
        "same-order-every-epoch",
        "epoch_batches",
        "every epoch has the same order: the permutation was drawn once (or the generator "
        "re-seeded), while DataLoader draws a new one from the same generator each epoch.",
        "draw with the generator you are given, every call; never re-seed it.",
        broken=same_order,
    ),
    Mistake(
        "not-dataloaders-draws",
        "epoch_batches",
        "a shuffled order, but not DataLoader's: it also draws a base seed before the "
        "permutation and a second, unused permutation after it, so the streams part ways.",
        "per epoch: one int64 from the generator, randperm (the order), randperm again.",
        predict=lambda ctx: [
            ctx.variant(**replaced(seed=False, second=False)),
            ctx.variant(**replaced(seed=True, second=False)),
            ctx.variant(**replaced(seed=False, second=True)),
        ],
    ),
    Mistake(
        "drop-last-ignored",
        "epoch_batches",
        "the last, shorter batch is kept or dropped regardless of drop_last.",
        "keep it when drop_last is False, drop it when True.",
        predict=lambda ctx: [
            ctx.variant(epoch_batches=lambda n, b, g, d: batches_with(n, b, g, True)),
            ctx.variant(epoch_batches=lambda n, b, g, d: batches_with(n, b, g, False)),
        ],
    ),
    Mistake(
        "global-generator",
        "epoch_batches",
        "the permutation came from the global random generator (torch.randperm(n) without "
        "generator=): DataLoader draws from the generator it is given.",
        "pass generator=generator to every draw.",
        predict=lambda ctx: ctx.variant(
            epoch_batches=lambda n, b, g, d: batches_with(n, b, None, d, seed=False, second=False)
        ),
    ),
)

EXERCISE = Exercise(
    name="minibatches",
    title="mini-batches in DataLoader's order",
    functions=("epoch_batches",),
    template=TEMPLATE,
    reference={"epoch_batches": epoch_batches},
    trials=(
        Trial("n=10, batch 4", {"n": 10, "batch_size": 4, "drop_last": False, "seed": 1}),
        Trial("n=10, batch 4, drop_last", {"n": 10, "batch_size": 4, "drop_last": True, "seed": 2}),
        Trial("n=12, batch 3", {"n": 12, "batch_size": 3, "drop_last": False, "seed": 3}),
    ),
    probe=probe,
    mistakes=MISTAKES,
    hints=(
        "One permutation per epoch, from the generator you are given, sliced batch_size at a time.",
        "DataLoader draws three things per epoch: a base seed, the permutation, and a second "
        "permutation it throws away.",
    ),
    see="nnscratch verify",
)

ORDER = 100
