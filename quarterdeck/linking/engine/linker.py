"""Link suggestions: which need does an insight belong to, or none of them?

A :class:`Linker` is a multinomial logistic regression over the insight's sentence embedding,
optionally joined with a sparse TF-IDF block of its text (word 1–2-grams and char 3–5-grams,
vocabulary fitted on the workspace's own linked insights). Both its hyper-parameters (the L2
penalty and the weight of the text block) are chosen by k-fold cross-validation on the training
rows alone.

"No match" is decided by a second, tiny logistic model over four scores of each prediction
(top probability, log-ratio of the top two, similarity to the nearest training example and to the
predicted need's centroid). It is trained on the same cross-validation folds, in which a share of
the needs is hidden from the fitted model so that their rows play the part of insights that
belong to no existing need; its threshold is set so that about ``target_false_no_match`` of the
rows whose need *is* known are wrongly called "no match".

Everything serialises to plain numpy arrays (``to_bytes`` / ``from_bytes``), never pickle.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, sparse

from .text import TextVectorizer

FORMAT_VERSION = 1
# the nearest-example score looks among the examples of this many most likely needs
NEAREST_AMONG = 3
# Small training sets (few links per need) are cheap to cross-validate: there the search also
# tries stronger penalties and leaving the text block out, which few examples often prefer.
SMALL_SET = 2000
SMALL_PENALTIES = (1e-4, 3e-5, 1e-5)
SMALL_TEXT_WEIGHTS = (0.0, 1.0)


@dataclass(frozen=True)
class Suggestion:
    need_id: int | str
    confidence: float


@dataclass(frozen=True)
class LinkResult:
    suggestions: list[Suggestion]
    no_match: bool
    no_match_score: float  # calibrated probability-like score; no_match is score >= threshold


@dataclass
class LinkerConfig:
    # L2 penalty grid (mean log-loss + λ/2‖W‖²), strongest first: each fit warm-starts the next.
    penalties: tuple[float, ...] = (3e-5, 1e-5)
    # weight of the TF-IDF block next to the unit-norm embedding (0 = vectors only); each value
    # added to this grid multiplies the cross-validation cost.
    text_weights: tuple[float, ...] = (1.0,)
    folds: int = 3
    hidden_share: float = 0.2  # share of needs hidden in each fold to simulate "no match"
    target_false_no_match: float = 0.04
    max_iter: int = 150
    seed: int = 0


@dataclass
class _Model:
    """The fitted linear model: logits = X·Wd + t·T·Wt + b."""

    Wd: np.ndarray
    Wt: np.ndarray | None
    b: np.ndarray
    text_weight: float


def _design(X: np.ndarray, T: sparse.csr_matrix | None, text_weight: float):
    return X, (T * text_weight if (T is not None and text_weight > 0) else None)


def _softmax(Z: np.ndarray) -> np.ndarray:
    Z = Z - Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def _fit_lr(
    X: np.ndarray,
    T: sparse.csr_matrix | None,
    y: np.ndarray,
    n_classes: int,
    penalty: float,
    text_weight: float,
    max_iter: int,
    init: _Model | None = None,
) -> _Model:
    Xd, Ts = _design(X, T, text_weight)
    n, d = Xd.shape
    v = Ts.shape[1] if Ts is not None else 0
    C = n_classes
    Y = np.zeros((n, C), dtype=np.float32)
    Y[np.arange(n), y] = 1.0
    XdT = np.ascontiguousarray(Xd.T)
    TsT = Ts.T.tocsr() if Ts is not None else None
    sizes = (d * C, v * C, C)

    def unpack(w: np.ndarray):
        Wd = w[: sizes[0]].reshape(d, C)
        Wt = w[sizes[0] : sizes[0] + sizes[1]].reshape(v, C) if v else None
        b = w[sizes[0] + sizes[1] :]
        return Wd, Wt, b

    def loss_grad(w: np.ndarray):
        Wd, Wt, b = unpack(w)
        Z = Xd @ Wd + b
        if Wt is not None:
            Z += Ts @ Wt
        Zmax = Z.max(axis=1, keepdims=True)
        logsum = np.log(np.exp(Z - Zmax).sum(axis=1, keepdims=True)) + Zmax
        loss = float((logsum[:, 0] - Z[np.arange(n), y]).mean())
        P = np.exp(Z - logsum)
        G = (P - Y) / n
        grad = np.empty_like(w)
        gWd, gWt, gb = unpack(grad)
        np.matmul(XdT, G, out=gWd)
        gWd += penalty * Wd
        reg = float(np.dot(Wd.ravel(), Wd.ravel()))
        if Wt is not None:
            gWt[...] = TsT @ G
            gWt += penalty * Wt
            reg += float(np.dot(Wt.ravel(), Wt.ravel()))
        gb[...] = G.sum(axis=0)
        return loss + 0.5 * penalty * reg, grad

    w0 = np.zeros(sum(sizes), dtype=np.float32)
    if (
        init is not None
        and init.Wd.shape == (d, C)
        and (v == 0 or (init.Wt is not None and init.Wt.shape == (v, C)))
    ):
        w0[: sizes[0]] = init.Wd.ravel()
        if v:
            w0[sizes[0] : sizes[0] + sizes[1]] = init.Wt.ravel()
        w0[sizes[0] + sizes[1] :] = init.b
    w = _lbfgs(loss_grad, w0, max_iter)
    Wd, Wt, b = unpack(w)
    return _Model(
        Wd=Wd.copy(), Wt=None if Wt is None else Wt.copy(), b=b.copy(), text_weight=text_weight
    )


def _lbfgs(fun, x: np.ndarray, max_iter: int, memory: int = 10, gtol: float = 1e-5) -> np.ndarray:
    """Limited-memory BFGS (two-loop recursion, Armijo backtracking) on float32 vectors.

    scipy's L-BFGS-B spends most of its time in its own bookkeeping for million-parameter
    problems; this one costs a few vector operations per step.
    """
    f, g = fun(x)
    S: list[np.ndarray] = []
    Ys: list[np.ndarray] = []
    rho: list[float] = []
    for it in range(max_iter):
        if float(np.abs(g).max()) < gtol:
            break
        q = -g
        alphas = []
        for s, yv, r in zip(reversed(S), reversed(Ys), reversed(rho), strict=True):
            a = r * float(np.dot(s, q))
            alphas.append(a)
            q = q - a * yv
        if S:
            q = q * (float(np.dot(S[-1], Ys[-1])) / float(np.dot(Ys[-1], Ys[-1])))
        for s, yv, r, a in zip(S, Ys, rho, reversed(alphas), strict=True):
            q = q + (a - r * float(np.dot(yv, q))) * s
        slope = float(np.dot(g, q))
        if slope >= 0:  # not a descent direction: restart from the gradient
            S.clear(), Ys.clear(), rho.clear()
            q, slope = -g, -float(np.dot(g, g))
        step = 1.0 if S else min(1.0, 1.0 / max(float(np.linalg.norm(g)), 1e-12))
        while True:
            x_new = x + step * q
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-8:
                break
            step *= 0.5
        s_vec, y_vec = x_new - x, g_new - g
        sy = float(np.dot(s_vec, y_vec))
        if sy > 1e-10:
            S.append(s_vec)
            Ys.append(y_vec)
            rho.append(1.0 / sy)
            if len(S) > memory:
                S.pop(0), Ys.pop(0), rho.pop(0)
        converged = abs(f - f_new) <= 1e-7 * max(abs(f), 1.0) and it > 5
        x, f, g = x_new, f_new, g_new
        if converged:
            break
    return x


def _proba(model: _Model, X: np.ndarray, T: sparse.csr_matrix | None) -> np.ndarray:
    Z = X @ model.Wd + model.b
    if model.Wt is not None and T is not None:
        Z += (T @ model.Wt) * model.text_weight
    return _softmax(Z.astype(np.float32))


def _centroids(X: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    onehot = sparse.csr_matrix(
        (np.ones(len(y), dtype=np.float32), (y, np.arange(len(y)))), shape=(n_classes, len(y))
    )
    cent = np.asarray(onehot @ X, dtype=np.float32)
    norms = np.linalg.norm(cent, axis=1, keepdims=True)
    np.divide(cent, norms, out=cent, where=norms > 0)
    return cent


def _nearest_sim(
    Q: np.ndarray, P: np.ndarray, M: np.ndarray, labels: np.ndarray, k: int = NEAREST_AMONG
) -> np.ndarray:
    """Per query, the cosine of its nearest example among the examples of its k most likely
    needs (the nearest example overall almost always belongs to one of them, at a fraction of
    the cost of comparing with every example)."""
    out = np.full(len(Q), -1.0, dtype=np.float32)
    if len(M) == 0 or len(Q) == 0:
        return out
    k = min(k, P.shape[1])
    top = np.argpartition(-P, k - 1, axis=1)[:, :k] if k < P.shape[1] else None
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(P.shape[1] + 1))
    for c in range(P.shape[1]):
        rows = order[bounds[c] : bounds[c + 1]]
        if not len(rows):
            continue
        queries = np.flatnonzero((top == c).any(axis=1)) if top is not None else slice(None)
        if top is not None and not len(queries):
            continue
        best = (Q[queries] @ M[rows].T).max(axis=1)
        out[queries] = np.maximum(out[queries], best)
    return out


def _match_features(
    P: np.ndarray, X: np.ndarray, train_X: np.ndarray, train_y: np.ndarray, centroids: np.ndarray
) -> np.ndarray:
    """Scores that describe how well the best need fits (one row per query)."""
    if P.shape[1] == 1:
        top1, top2 = P[:, 0], np.zeros(len(P), dtype=np.float32)
        best = np.zeros(len(P), dtype=np.int64)
    else:
        part = np.partition(P, -2, axis=1)
        top1, top2 = part[:, -1], part[:, -2]
        best = P.argmax(axis=1)
    eps = 1e-6
    nn = _nearest_sim(X, P, train_X, train_y)
    cent = np.einsum("ij,ij->i", X, centroids[best])
    return np.column_stack(
        [np.log(top1 + eps), np.log(top1 + eps) - np.log(top2 + eps), nn, cent]
    ).astype(np.float64)


def _fit_calibrator(F: np.ndarray, is_unknown: np.ndarray, target: float):
    """Logistic regression on standardised scores; threshold at the target false-no-match rate."""
    mean, std = F.mean(axis=0), F.std(axis=0) + 1e-9
    Z = (F - mean) / std
    Zb = np.column_stack([Z, np.ones(len(Z))])
    t = is_unknown.astype(np.float64)
    # balance the two kinds of rows
    w = np.where(t == 1, 0.5 / max(t.sum(), 1), 0.5 / max((1 - t).sum(), 1))

    def loss_grad(beta):
        s = Zb @ beta
        p = 1.0 / (1.0 + np.exp(-s))
        loss = (
            -(w * (t * np.log(p + 1e-12) + (1 - t) * np.log(1 - p + 1e-12))).sum()
            + 1e-3 * beta[:-1] @ beta[:-1]
        )
        g = Zb.T @ (w * (p - t))
        g[:-1] += 2e-3 * beta[:-1]
        return loss, g

    beta = optimize.minimize(loss_grad, np.zeros(Zb.shape[1]), jac=True, method="L-BFGS-B").x
    scores = 1.0 / (1.0 + np.exp(-(Zb @ beta)))
    known_scores = scores[t == 0]
    threshold = float(np.quantile(known_scores, 1.0 - target)) if len(known_scores) else 1.0
    return mean, std, beta, threshold


@dataclass
class Linker:
    """Suggest needs for insight vectors; learnt from (vector, need_id) examples."""

    config: LinkerConfig = field(default_factory=LinkerConfig)
    classes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    model: _Model | None = None
    vectorizer: TextVectorizer | None = None
    train_X: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float16))
    train_y: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    train_texts: list[str] | None = None
    penalty: float = 0.0
    calibration: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None
    report: dict = field(default_factory=dict)

    # -- fitting ----------------------------------------------------------------
    def fit(self, X: np.ndarray, labels: Sequence, texts: Sequence[str] | None = None) -> Linker:
        """Choose hyper-parameters by CV, calibrate "no match", then refit on all the rows."""
        started = time.perf_counter()
        X = np.ascontiguousarray(X, dtype=np.float32)
        if len(X) != len(labels) or (texts is not None and len(texts) != len(labels)):
            raise ValueError("X, labels and texts must have the same length")
        if len(X) == 0:
            raise ValueError("cannot fit a Linker on no examples")
        self.classes, y = np.unique(np.asarray(labels), return_inverse=True)
        y = y.astype(np.int64)
        cfg = self.config
        self.train_texts = list(texts) if texts is not None else None
        penalties, text_weights = cfg.penalties, cfg.text_weights
        if len(X) <= SMALL_SET:
            penalties = tuple(sorted(set(penalties) | set(SMALL_PENALTIES), reverse=True))
            text_weights = tuple(sorted(set(text_weights) | set(SMALL_TEXT_WEIGHTS)))
        if texts is None:
            text_weights = (0.0,)
        grid = [(p, tw) for tw in text_weights for p in penalties]
        scores, features, unknown = self._cross_validate(X, y, texts, grid)
        best = max(
            range(len(grid)), key=lambda i: (scores[i], grid[i][0])
        )  # ties: stronger penalty
        self.penalty, text_weight = grid[best]
        if features[best] is not None and unknown[best].any() and (~unknown[best]).any():
            self.calibration = _fit_calibrator(
                features[best], unknown[best], cfg.target_false_no_match
            )
        else:
            self.calibration = None
        self._refit(X, y, texts, text_weight, init=None)
        self.report = {
            "cv_top1": {
                f"penalty={p:g},text_weight={tw:g}": round(s, 4)
                for (p, tw), s in zip(grid, scores, strict=True)
            },
            "penalty": self.penalty,
            "text_weight": text_weight,
            "fit_seconds": round(time.perf_counter() - started, 2),
        }
        return self

    def _refit(self, X, y, texts, text_weight, init) -> None:
        if texts is not None and text_weight > 0:
            if self.vectorizer is None or init is None:
                self.vectorizer = TextVectorizer().fit(texts)
            T = self.vectorizer.transform(texts)
        else:
            self.vectorizer, T = None, None
        self.model = _fit_lr(
            X, T, y, len(self.classes), self.penalty, text_weight, self.config.max_iter, init=init
        )
        self.train_X = X.astype(np.float16)
        self.train_y = y

    def _cross_validate(self, X, y, texts, grid):
        """Top-1 per grid point on known-need rows, and no-match scores of the held-out rows."""
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        n, C = len(y), len(self.classes)
        folds = _stratified_folds(y, cfg.folds, rng)
        n_folds = int(folds.max()) + 1 if n else 0
        correct = np.zeros(len(grid))
        counted = np.zeros(len(grid))
        feats: list[list[np.ndarray]] = [[] for _ in grid]
        unk: list[list[np.ndarray]] = [[] for _ in grid]
        if n_folds < 2 or C < 2:
            return [0.0] * len(grid), [None] * len(grid), [None] * len(grid)
        order = rng.permutation(C)
        n_hidden = max(1, round(cfg.hidden_share * C)) if C >= 3 else 0
        for f in range(n_folds):
            hidden = np.zeros(C, dtype=bool)
            hidden[order[(np.arange(n_hidden) + f * n_hidden) % C]] = True
            train = (folds != f) & ~hidden[y]
            test = (folds == f) | hidden[y]
            if not train.any() or not test.any():
                continue
            kept = np.flatnonzero(~hidden)
            remap = -np.ones(C, dtype=np.int64)
            remap[kept] = np.arange(len(kept))
            ytr = remap[y[train]]
            vec_cache: dict[bool, tuple] = {}
            prev: _Model | None = None
            for gi, (penalty, tw) in enumerate(grid):
                use_text = texts is not None and tw > 0
                if use_text not in vec_cache:
                    if use_text:
                        tr_texts = [texts[i] for i in np.flatnonzero(train)]
                        te_texts = [texts[i] for i in np.flatnonzero(test)]
                        vec = TextVectorizer().fit(tr_texts)
                        vec_cache[use_text] = (vec.transform(tr_texts), vec.transform(te_texts))
                    else:
                        vec_cache[use_text] = (None, None)
                Ttr, Tte = vec_cache[use_text]
                init = prev if (prev is not None and prev.text_weight == tw) else None
                model = _fit_lr(X[train], Ttr, ytr, len(kept), penalty, tw, cfg.max_iter, init=init)
                prev = model
                P = _proba(model, X[test], Tte)
                ytest = y[test]
                known = ~hidden[ytest]
                correct[gi] += (P[known].argmax(axis=1) == remap[ytest[known]]).sum()
                counted[gi] += known.sum()
                F = _match_features(P, X[test], X[train], ytr, _centroids(X[train], ytr, len(kept)))
                feats[gi].append(F)
                unk[gi].append(hidden[ytest])
        scores = [float(c / m) if m else 0.0 for c, m in zip(correct, counted, strict=True)]
        features = [np.vstack(f) if f else None for f in feats]
        unknown = [np.concatenate(u) if u else None for u in unk]
        return scores, features, unknown

    def partial_fit(
        self, X_new: np.ndarray, labels_new: Sequence, texts_new: Sequence[str] | None = None
    ) -> Linker:
        """Add newly linked examples (new needs allowed) and refit, warm-started, keeping the
        chosen hyper-parameters, text vocabulary and no-match calibration. Cheap: no CV."""
        if self.model is None:
            return self.fit(X_new, labels_new, texts_new)
        X_new = np.asarray(X_new, dtype=np.float32)
        labels_new = np.asarray(labels_new)
        new_classes = np.setdiff1d(np.unique(labels_new), self.classes)
        if len(new_classes):
            classes = np.concatenate([self.classes, new_classes.astype(self.classes.dtype)])
            extra = len(new_classes)
            self.model.Wd = np.hstack(
                [self.model.Wd, np.zeros((self.model.Wd.shape[0], extra), np.float32)]
            )
            if self.model.Wt is not None:
                self.model.Wt = np.hstack(
                    [self.model.Wt, np.zeros((self.model.Wt.shape[0], extra), np.float32)]
                )
            self.model.b = np.concatenate(
                [self.model.b, np.full(extra, self.model.b.min(), np.float32)]
            )
            self.classes = classes
        lookup = {c: i for i, c in enumerate(self.classes.tolist())}
        y_new = np.array([lookup[c] for c in labels_new.tolist()], dtype=np.int64)
        X = np.vstack([self.train_X.astype(np.float32), X_new])
        y = np.concatenate([self.train_y, y_new])
        texts = None
        if self.vectorizer is not None:
            if texts_new is None or self.train_texts is None:
                raise ValueError("this Linker uses texts: pass texts_new")
            texts = self.train_texts + list(texts_new)
            self.train_texts = texts
        self._refit(X, y, texts, self.model.text_weight, init=self.model)
        return self

    # -- predicting ---------------------------------------------------------------
    def predict_proba(self, X: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("Linker is not fitted")
        X = np.asarray(X, dtype=np.float32)
        T = None
        if self.vectorizer is not None:
            if texts is None:
                raise ValueError("this Linker was fitted with texts: pass texts")
            T = self.vectorizer.transform(texts)
        return _proba(self.model, X, T)

    def link(
        self, X: np.ndarray, texts: Sequence[str] | None = None, k: int = 3
    ) -> list[LinkResult]:
        """Top-k suggestions per row, and whether the row fits no existing need."""
        X = np.asarray(X, dtype=np.float32)
        if len(X) == 0:
            return []
        P = self.predict_proba(X, texts)
        k = max(1, min(k, P.shape[1]))
        top = np.argsort(-P, axis=1)[:, :k]
        scores = self.no_match_scores(X, P)
        threshold = self.calibration[3] if self.calibration is not None else np.inf
        results = []
        for i in range(len(X)):
            suggestions = [Suggestion(self.classes[j].item(), float(P[i, j])) for j in top[i]]
            results.append(LinkResult(suggestions, bool(scores[i] >= threshold), float(scores[i])))
        return results

    def suggest(
        self, X: np.ndarray, texts: Sequence[str] | None = None, k: int = 3
    ) -> list[list[Suggestion]]:
        return [r.suggestions for r in self.link(X, texts, k)]

    def no_match(self, X: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        return np.array([r.no_match for r in self.link(X, texts, k=1)], dtype=bool)

    def no_match_scores(self, X: np.ndarray, P: np.ndarray) -> np.ndarray:
        if self.calibration is None:
            return np.zeros(len(X))
        mean, std, beta, _ = self.calibration
        key = (id(self.train_X), len(self.classes))
        if getattr(self, "_serving_cache", (None,))[0] != key:
            train_X = self.train_X.astype(np.float32)
            cent = _centroids(train_X, self.train_y, len(self.classes))
            self._serving_cache = (key, train_X, cent)
        _, train_X, cent = self._serving_cache
        F = _match_features(P, X, train_X, self.train_y, cent)
        Z = np.column_stack([(F - mean) / std, np.ones(len(F))])
        return 1.0 / (1.0 + np.exp(-(Z @ beta)))

    # -- serialisation --------------------------------------------------------------
    def to_bytes(self) -> bytes:
        if self.model is None:
            raise RuntimeError("Linker is not fitted")
        cfg = self.config
        arrays: dict[str, np.ndarray] = {
            "format": np.array([FORMAT_VERSION]),
            "classes": self.classes,
            "Wd": self.model.Wd,
            "b": self.model.b,
            "hyper": np.array([self.penalty, self.model.text_weight]),
            "train_X": self.train_X,
            "train_y": self.train_y,
            "config_floats": np.array(
                [
                    *cfg.penalties,
                    np.nan,
                    *cfg.text_weights,
                    np.nan,
                    cfg.hidden_share,
                    cfg.target_false_no_match,
                ]
            ),
            "config_ints": np.array([cfg.folds, cfg.max_iter, cfg.seed]),
        }
        if self.model.Wt is not None:
            arrays["Wt"] = self.model.Wt
        if self.vectorizer is not None:
            arrays.update({f"vec_{k}": v for k, v in self.vectorizer.to_arrays().items()})
        if self.train_texts is not None:
            blob = "\x00".join(self.train_texts).encode("utf-8")
            arrays["train_texts"] = np.frombuffer(blob, dtype=np.uint8)
            arrays["n_train_texts"] = np.array([len(self.train_texts)])
        if self.calibration is not None:
            mean, std, beta, threshold = self.calibration
            arrays.update(
                {
                    "cal_mean": mean,
                    "cal_std": std,
                    "cal_beta": beta,
                    "cal_threshold": np.array([threshold]),
                }
            )
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Linker:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            a = {k: npz[k] for k in npz.files}
        if int(a["format"][0]) != FORMAT_VERSION:
            raise ValueError(f"unsupported Linker format {int(a['format'][0])}")
        floats = a["config_floats"].tolist()
        cut1 = next(i for i, v in enumerate(floats) if np.isnan(v))
        cut2 = next(i for i, v in enumerate(floats) if np.isnan(v) and i > cut1)
        folds, max_iter, seed = (int(v) for v in a["config_ints"])
        config = LinkerConfig(
            penalties=tuple(floats[:cut1]),
            text_weights=tuple(floats[cut1 + 1 : cut2]),
            hidden_share=floats[cut2 + 1],
            target_false_no_match=floats[cut2 + 2],
            folds=folds,
            max_iter=max_iter,
            seed=seed,
        )
        penalty, text_weight = (float(v) for v in a["hyper"])
        linker = cls(config=config, classes=a["classes"], penalty=penalty)
        linker.model = _Model(Wd=a["Wd"], Wt=a.get("Wt"), b=a["b"], text_weight=text_weight)
        linker.train_X, linker.train_y = a["train_X"], a["train_y"]
        if "vec_idf" in a:
            linker.vectorizer = TextVectorizer.from_arrays(
                {k[4:]: v for k, v in a.items() if k.startswith("vec_")}
            )
        if "train_texts" in a:
            blob = a["train_texts"].tobytes().decode("utf-8")
            n = int(a["n_train_texts"][0])
            linker.train_texts = blob.split("\x00") if n else []
        if "cal_beta" in a:
            linker.calibration = (
                a["cal_mean"],
                a["cal_std"],
                a["cal_beta"],
                float(a["cal_threshold"][0]),
            )
        return linker


def _stratified_folds(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number per row; each label's rows are spread over the folds."""
    folds = np.zeros(len(y), dtype=np.int64)
    offset = 0
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        folds[rows] = (np.arange(len(rows)) + offset) % k
        offset += len(rows)
    return folds
