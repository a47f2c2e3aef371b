"""Rate search over a codec's ladder: bisect a numeric rate parameter (a quality, a QP) to the point whose
measured value (a bpp, a metric value) is nearest a target. The range is the card's `[ladder] range =
[lo, hi]` (else the ladder's extremes), integer when `integer = true` or when the ladder holds only
integers; the direction (does the value rise or fall with the parameter?) is measured at the two ends,
not assumed. Used by `bench match`, crops and studies (bench.analysis.match) and `bench run --target-bpp`."""
from __future__ import annotations


def numeric(ladder) -> bool:
    """Whether a ladder is numbers (a quality, a QP) that can be searched, not named checkpoints."""
    return all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in ladder)


def bisect(card: dict, ladder: list, f, target: float, max_evals: int = 40) -> tuple[object, list]:
    """(the evaluated point whose f is nearest target, [(point, f(point))]) by bisection over the ladder's range."""
    lad = card.get("ladder", {})
    lo, hi = lad.get("range", [min(ladder), max(ladder)])
    integer = lad.get("integer", all(isinstance(p, int) for p in ladder))
    step = 1 if integer else lad.get("step", (hi - lo) / 200)
    evals = [(lo, f(lo)), (hi, f(hi))]
    rising = evals[1][1] > evals[0][1]
    a, b = lo, hi
    while (b - a) > step and len(evals) < max_evals:
        mid = (a + b) // 2 if integer else (a + b) / 2
        evals.append((mid, f(mid)))
        if (evals[-1][1] < target) == rising:
            a = mid
        else:
            b = mid
    best = min(evals, key=lambda t: abs(t[1] - target))
    return best[0], evals
