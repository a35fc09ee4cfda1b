"""Drift checks between a reference (training inputs) and a recent window of served inputs.

Input drift works on sentence embeddings (``monitor.embed``): a domain classifier (Evidently's
default method: can a classifier tell reference from current? ROC AUC with a permutation
threshold) and RBF-kernel MMD as a second opinion. Label shift compares the label counts.
bench/drift.py: a new product line as 30 % of an 80-item window is caught by the classifier
with power 0.97 (0.83 at 25 %; about 0.7 at 40 items: its AUC cannot exceed 0.5 + share / 2,
so it needs larger windows); MMD catches it in every one of those settings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare, rankdata
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

__all__ = ["DriftCheck", "domain_classifier_test", "label_shift", "mmd_test"]

# The reference is subsampled to at most this multiple of the window: AUC's variance is driven
# by the smaller group, so more reference rows mostly cost time.
REFERENCE_MULTIPLE = 4


@dataclass(frozen=True)
class DriftCheck:
    """One check's outcome. ``drifted`` is ``statistic > threshold`` for the permutation
    tests; for ``label_shift`` it is ``p_value < threshold`` (the threshold is alpha)."""

    name: str
    statistic: float
    threshold: float
    p_value: float | None
    drifted: bool
    details: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (numpy scalars and arrays converted)."""
        return json.loads(json.dumps(asdict(self), sort_keys=True, default=_plain))


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _check_inputs(reference: np.ndarray, current: np.ndarray) -> None:
    if reference.ndim != 2 or current.ndim != 2 or reference.shape[1] != current.shape[1]:
        raise ValueError(f"need two 2-D arrays of equal width, got {reference.shape}, "
                         f"{current.shape}")  # fmt: skip
    if len(reference) < 5 or len(current) < 5:
        raise ValueError("each side needs at least 5 rows")


def _subsample(reference: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if len(reference) <= limit:
        return reference
    return reference[np.sort(rng.choice(len(reference), size=limit, replace=False))]


def _auc_from_ranks(ranks: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC of the rows of a 0/1 ``labels`` matrix against fixed score ranks."""
    n_pos = labels.sum(axis=-1)
    n_neg = labels.shape[-1] - n_pos
    return ((labels * ranks).sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _null(stat: float, draws: np.ndarray, alpha: float) -> tuple[float, float]:
    """(1-alpha) quantile of the null draws and the add-one permutation p-value."""
    p_value = (1 + int(np.sum(draws >= stat))) / (1 + len(draws))
    return float(np.quantile(draws, 1 - alpha)), p_value


def domain_classifier_test(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    seed: int = 0,
    n_permutations: int = 1000,
    alpha: float = 0.05,
    folds: int = 5,
    ridge: float = 10.0,
    components: int | None = 32,
    reference_multiple: int = REFERENCE_MULTIPLE,
) -> tuple[DriftCheck, np.ndarray]:
    """Can a linear classifier tell reference (0) from current (1)? Statistic: the mean
    out-of-fold ROC AUC of stratified folds; threshold: its (1-alpha) quantile refitted under
    shuffled domain labels. Also returns each current row's out-of-fold score (a clipped
    linear-probability estimate of "looks like current"), to send the oddest to review.

    The classifier is ridge least squares on the 0/1 labels (shrunk linear discriminant), not
    logistic regression: its out-of-fold scores are linear in the labels, so 1000 refits under
    shuffled labels cost one matrix product per fold. Shuffling labels against fixed
    out-of-fold scores, without refits, is anti-conservative because folds share training
    rows: with logistic regression it false-alarmed at about twice alpha.
    """
    _check_inputs(reference, current)
    rng = np.random.default_rng(seed)
    ref = _subsample(reference, reference_multiple * len(current), rng)
    y = np.r_[np.zeros(len(ref)), np.ones(len(current))]
    k = max(2, min(folds, len(current), len(ref)))
    splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(y, y))
    # Row 0: the observed labels. Shuffles stay within each test fold, so every fold keeps
    # its label counts, the stratified split stays valid and the permutation null is exact.
    labels = np.tile(y, (n_permutations + 1, 1))
    for _, test in splits:
        labels[1:, test] = rng.permuted(labels[1:, test], axis=1)
    scores = np.empty_like(labels)
    stats = np.zeros(n_permutations + 1)
    with _one_blas_thread():
        x = _project(np.vstack([ref, current]).astype(np.float64), components)
        for train, test in splits:
            mean = x[train].mean(axis=0)
            centred = x[train] - mean
            gram = centred.T @ centred + ridge * np.eye(x.shape[1])
            hat = (x[test] - mean) @ np.linalg.solve(gram, centred.T)  # test x train rows
            base = labels[:, train].mean(axis=1, keepdims=True)
            scores[:, test] = (labels[:, train] - base) @ hat.T + base
            stats += _auc_from_ranks(rankdata(scores[:, test], axis=1), labels[:, test])
    stats /= k
    auc = float(stats[0])
    threshold, p_value = _null(auc, stats[1:], alpha)
    check = DriftCheck(
        name="domain_classifier",
        statistic=auc,
        threshold=threshold,
        p_value=p_value,
        drifted=auc > threshold,
        details={"n_reference": len(ref), "n_current": len(current), "folds": k,
                 "components": components, "ridge": ridge,
                 "n_permutations": n_permutations, "alpha": alpha},
    )  # fmt: skip
    return check, np.clip(scores[0, len(ref) :], 0.0, 1.0)


def _project(x: np.ndarray, components: int | None) -> np.ndarray:
    """Standardised leading principal components of the pooled rows (no labels involved):
    a few hundred rows cannot pin down 384 weights, and a new topic moves the leading ones."""
    x = x - x.mean(axis=0)
    if components is not None and components < min(x.shape):
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        x = u[:, :components] * s[:components]
    return x / (x.std(axis=0) + 1e-9)


def _one_blas_thread() -> threadpool_limits:
    """numpy and scipy each bring an OpenBLAS; on a small machine their thread pools fight
    (a 400-row SVD took 2 s instead of 0.05 s). These matrices are small: one thread."""
    return threadpool_limits(limits=1)


def mmd_test(
    reference: np.ndarray,
    current: np.ndarray,
    *,
    seed: int = 0,
    n_permutations: int = 1000,
    alpha: float = 0.05,
    reference_multiple: int = REFERENCE_MULTIPLE,
) -> DriftCheck:
    """Unbiased RBF-kernel MMD² (median-heuristic bandwidth) with a permutation p-value."""
    _check_inputs(reference, current)
    rng = np.random.default_rng(seed)
    ref = _subsample(reference, reference_multiple * len(current), rng)
    m, n = len(ref), len(current)
    y = np.r_[np.zeros(m), np.ones(n)]
    labels = np.vstack([y, rng.permuted(np.tile(y, (n_permutations, 1)), axis=1)])
    with _one_blas_thread():
        x = np.vstack([ref, current]).astype(np.float64)
        sq = np.sum(x * x, axis=1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0)
        off = d2[np.triu_indices(len(x), k=1)]
        bandwidth = float(np.sqrt(np.median(off[off > 0]))) if np.any(off > 0) else 1.0
        kernel = np.exp(-d2 / (2.0 * bandwidth**2))
        np.fill_diagonal(kernel, 0.0)  # the unbiased estimator leaves out i == j pairs
        # Every label vector's block sums at once, from one matrix product.
        ka = labels @ kernel
    s_yy = np.sum(ka * labels, axis=1)
    s_xy = np.sum(ka * (1.0 - labels), axis=1)
    s_xx = kernel.sum() - 2.0 * s_xy - s_yy
    mmd2 = s_xx / (m * (m - 1)) + s_yy / (n * (n - 1)) - 2.0 * s_xy / (m * n)
    stat = float(mmd2[0])
    threshold, p_value = _null(stat, mmd2[1:], alpha)
    return DriftCheck(
        name="mmd",
        statistic=stat,
        threshold=threshold,
        p_value=p_value,
        drifted=stat > threshold,
        details={"n_reference": m, "n_current": n, "bandwidth": bandwidth,
                 "n_permutations": n_permutations, "alpha": alpha},
    )  # fmt: skip


def label_shift(
    reference_counts: dict[str, int],
    current_counts: dict[str, int],
    *,
    alpha: float = 0.05,
    smoothing: float = 0.5,
) -> DriftCheck:
    """Jensen-Shannon distance (base 2) between label distributions, and a chi-square
    goodness-of-fit p-value of the current counts against the reference proportions."""
    labels = sorted(set(reference_counts) | set(current_counts))
    ref = np.array([reference_counts.get(k, 0) for k in labels], dtype=np.float64)
    cur = np.array([current_counts.get(k, 0) for k in labels], dtype=np.float64)
    if ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("both count tables need at least one item")
    distance = float(jensenshannon(ref / ref.sum(), cur / cur.sum(), base=2))
    # Add-k smoothing gives a label never seen in the reference a small expected count
    # instead of a division by zero, while still making it count heavily against H0.
    proportions = (ref + smoothing) / (ref.sum() + smoothing * len(labels))
    expected = proportions * cur.sum()
    p_value = float(chisquare(cur, expected).pvalue) if len(labels) > 1 else 1.0
    return DriftCheck(
        name="label_shift",
        statistic=distance,
        threshold=alpha,
        p_value=p_value,
        drifted=p_value < alpha,
        details={"labels": labels, "reference": ref.astype(int).tolist(),
                 "current": cur.astype(int).tolist(),
                 "expected": [round(float(e), 3) for e in expected]},
    )  # fmt: skip
