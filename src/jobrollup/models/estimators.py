"""Small scikit-learn classifiers of build outcome (1 = success) from a feature table.

Each takes a DataFrame of version strings (a compats table) and does its own encoding inside
``fit``, so when it is cross-validated the encoders see the training rows only. All of them
give ``predict_proba`` with columns [failure, success], also when the training rows hold
only one outcome.

- :class:`MajorityClassifier`: the training share of successes for every row (baseline).
- :class:`CategoricalNaiveBayes`: the published baseline, a categorical naive Bayes over
  version categories; a value unseen in training gets its own (smoothed, empty) category.
- :class:`BoostedTrees`: histogram gradient boosting with native categorical support, on
  version categories, ordered version ranks, or both.
- :class:`LogisticVersions`: logistic regression on one-hot version categories plus
  standardised version ranks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import CategoricalNB
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import ThreadpoolController

_CONTROLLER = None


def threadpool_limits(threads: int):
    """Cap OpenMP/BLAS threads (the controller is made once: making it is the slow part)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=threads)

from .features import VersionEncoder


class OutcomeClassifier(ClassifierMixin, BaseEstimator):
    """Shared plumbing: classes are always [0, 1]; with one outcome in training the model
    predicts that outcome's share (0 or 1) for every row."""

    def fit(self, X: pd.DataFrame, y):
        y = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        self.columns_ = list(X.columns)
        self.prior_ = float(y.mean()) if len(y) else 0.5
        self.constant_ = None
        if len(np.unique(y)) < 2 or len(self.columns_) == 0:
            self.constant_ = self.prior_
            return self
        self._fit(X, y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if self.constant_ is not None:
            p = np.full(len(X), self.constant_)
        else:
            p = self._p_success(X)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class MajorityClassifier(OutcomeClassifier):
    """P(success) = the share of successes in training; decides for the majority."""

    def _fit(self, X, y):
        self.constant_ = self.prior_


class CategoricalNaiveBayes(OutcomeClassifier):
    """Categorical naive Bayes on version categories (sklearn CategoricalNB, Laplace
    smoothing ALPHA). The published baseline used the same model on codes from an encoder
    fit on the whole table; here the encoder is fit on the training rows, and a value it has
    not seen gets an extra category of its own."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def _fit(self, X, y):
        self.encoder_ = VersionEncoder("categorical").fit(X)
        codes = self._codes(X)
        self.n_categories_ = np.array([len(self.encoder_.categories_[c]) + 1
                                       for c in self.encoder_.categorical_columns_])
        self.nb_ = CategoricalNB(alpha=self.alpha, min_categories=self.n_categories_)
        self.nb_.fit(codes, y)

    def _codes(self, X):
        codes = self.encoder_.transform(X)
        unseen = np.array([len(self.encoder_.categories_[c])
                           for c in self.encoder_.categorical_columns_])
        codes = np.where(np.isnan(codes), unseen[None, :], codes)
        return codes.astype(int)

    def _p_success(self, X):
        return self.nb_.predict_proba(self._codes(X))[:, 1]


class BoostedTrees(OutcomeClassifier):
    """HistGradientBoostingClassifier on versions encoded as VERSIONS ('ordered',
    'categorical' or 'both'; see VersionEncoder), category codes handled natively. 'absent'
    and unseen categories are missing values, which the trees route to the better side.
    CALIBRATE ('sigmoid' or 'isotonic') wraps the trees in CalibratedClassifierCV (3 folds of
    the training rows), only when each outcome has at least CALIBRATE_MIN rows (with fewer,
    the calibration folds are too small and cost more ranking than they repair).
    THREADS caps OpenMP threads (1 by default: these tables are small, and on a busy machine
    more threads made one fit 50 times slower, not faster)."""

    def __init__(self, versions: str = "ordered", learning_rate: float = 0.1,
                 max_iter: int = 100, max_leaf_nodes: int = 15, min_samples_leaf: int = 10,
                 l2_regularization: float = 1.0, calibrate: str | None = None,
                 calibrate_min: int = 20, random_state: int = 0, threads: int = 1):
        self.versions = versions
        self.calibrate = calibrate
        self.calibrate_min = calibrate_min
        self.threads = threads
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def _fit(self, X, y):
        self.encoder_ = VersionEncoder(self.versions).fit(X)
        Z = self.encoder_.transform(X)
        mask = self.encoder_.categorical_mask_
        self.hgb_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate, max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization, early_stopping=False,
            categorical_features=mask if mask.any() else None,
            random_state=self.random_state)
        if self.calibrate and np.bincount(y).min() >= max(3, self.calibrate_min):
            self.hgb_ = CalibratedClassifierCV(
                self.hgb_, method=self.calibrate,
                cv=StratifiedKFold(3, shuffle=True, random_state=self.random_state))
        with threadpool_limits(self.threads):
            self.hgb_.fit(Z, y)

    def _p_success(self, X):
        with threadpool_limits(self.threads):
            return self.hgb_.predict_proba(self.encoder_.transform(X))[:, 1]


class LogisticVersions(OutcomeClassifier):
    """L2 logistic regression (inverse strength C) on one-hot version categories (a value
    unseen in training sets no indicator) plus, with VERSIONS='both' or 'ordered',
    standardised version ranks with an indicator for 'absent'."""

    def __init__(self, versions: str = "both", C: float = 1.0):
        self.versions = versions
        self.C = C

    def _design(self, X, fit=False):
        Z = self.encoder_.transform(X)
        mask = self.encoder_.categorical_mask_
        cat, num = Z[:, mask], Z[:, ~mask]
        cat = np.where(np.isnan(cat), -1, cat)
        missing = np.isnan(num).astype(float)
        if fit:
            self.onehot_ = OneHotEncoder(handle_unknown="ignore").fit(cat)
            self.means_ = np.nan_to_num(np.nanmean(np.where(missing > 0, np.nan, num), axis=0)
                                        if num.shape[1] else np.zeros(0))
        num = np.where(missing > 0, self.means_[None, :], num)
        if fit:
            self.scaler_ = StandardScaler().fit(num) if num.shape[1] else None
        parts = [self.onehot_.transform(cat).toarray()]
        if num.shape[1]:
            parts += [self.scaler_.transform(num), missing]
        return np.hstack(parts)

    def _fit(self, X, y):
        self.encoder_ = VersionEncoder(self.versions).fit(X)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an all-absent column
            D = self._design(X, fit=True)
        self.lr_ = LogisticRegression(C=self.C, max_iter=2000).fit(D, y)

    def _p_success(self, X):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return self.lr_.predict_proba(self._design(X))[:, 1]


MODELS = {
    "majority": (MajorityClassifier, {}),
    "nb": (CategoricalNaiveBayes, {}),
    "hgb": (BoostedTrees, {"versions": "ordered", "calibrate": "sigmoid"}),
    "hgb-categorical": (BoostedTrees, {"versions": "categorical", "calibrate": "sigmoid"}),
    "hgb-both": (BoostedTrees, {"versions": "both", "calibrate": "sigmoid"}),
    "hgb-raw": (BoostedTrees, {"versions": "ordered"}),
    "logreg": (LogisticVersions, {"versions": "both"}),
    "logreg-categorical": (LogisticVersions, {"versions": "categorical"}),
}


def make_estimator(name: str, **params) -> OutcomeClassifier:
    """A fresh estimator by its name in MODELS, with PARAMS overriding the defaults."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    cls, defaults = MODELS[name]
    return cls(**{**defaults, **params})
