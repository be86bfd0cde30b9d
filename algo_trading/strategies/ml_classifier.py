"""Walk-forward scikit-learn classifier of next-bar direction."""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..models import Bar
from ..params import Param, ParameterError
from ..registry import register
from ..strategy import Strategy


def make_features(close: np.ndarray, volume: np.ndarray, lags: int) -> np.ndarray:
    """Row k describes bar ``k + lags`` of the input using only bars up to and including it.

    Features: the last ``lags`` log returns and the last ``lags`` log volume changes,
    newest first. Shape: (len(close) - lags, 2 * lags).
    """
    rets = np.diff(np.log(close))
    vchg = np.diff(np.log(np.maximum(volume, 1.0)))
    if len(rets) < lags:
        return np.empty((0, 2 * lags))
    r = sliding_window_view(rets, lags)[:, ::-1]
    v = sliding_window_view(vchg, lags)[:, ::-1]
    return np.hstack([r, v])


@register
class MlClassifier(Strategy):
    """Long when a walk-forward classifier gives the next bar's close > probability threshold.

    Every ``retrain_every`` bars the model is refitted on the trailing ``train_window`` bars
    whose outcome (next close up or not) is already known at that bar, so it never trains on
    the future it predicts; the first fit waits for ``min_train`` such rows. Between fits the
    last model predicts. Models are seeded, so runs are deterministic.
    """

    name = "ml_classifier"

    model = Param(str, "gbm", choices=("gbm", "mlp"), help="gradient boosting or neural net")
    lags = Param(int, 5, min=1, max=50, help="lagged returns/volume changes per feature row")
    train_window = Param(int, 250, min=30, max=100_000, help="trailing training bars")
    retrain_every = Param(int, 20, min=1, max=100_000, help="refit cadence, bars")
    min_train = Param(int, 50, min=10, max=100_000, help="labelled rows needed for a first fit")
    threshold = Param(float, 0.55, min=0.5, max=1.0, help="probability needed to go long")
    allow_short = Param(bool, False, help="short when P(up) < 1 - threshold")
    seed = Param(int, 0, min=0, max=2**31 - 1, help="random_state of the model")

    def validate(self) -> None:
        if self.min_train > self.train_window:
            raise ParameterError(
                f"min_train must be at most train_window, got min_train={self.min_train} "
                f"train_window={self.train_window}"
            )

    @property
    def history_size(self) -> int:  # type: ignore[override]
        return self.train_window + self.lags + 2

    def _new_model(self):  # noqa: ANN202 - sklearn estimator
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.model == "mlp":
            clf = MLPClassifier(
                hidden_layer_sizes=(16,), max_iter=300, random_state=self.seed, alpha=1e-3
            )
        else:
            clf = GradientBoostingClassifier(
                n_estimators=50, max_depth=2, learning_rate=0.1, random_state=self.seed
            )
        return make_pipeline(StandardScaler(), clf)

    def on_start(self) -> None:
        self._clf = None
        self._bars_seen = 0
        self._last_fit = -(10**12)
        self._state = 0
        self.fits = 0  # how many times the model was (re)trained; for tests and reports
        self.last_proba = float("nan")

    def on_bar(self, bar: Bar) -> None:
        self._bars_seen += 1
        h = self.history
        closes = h.tail("close", self.history_size)
        vols = h.tail("volume", self.history_size)
        feats = make_features(closes, vols, self.lags)
        # feats[-1] describes the current bar; feats[k] for k < last has the known label
        # "close[k + lags + 1] > close[k + lags]".
        if len(feats) < 2:
            return
        if self._bars_seen - self._last_fit >= self.retrain_every:
            self._fit(closes, feats)
        if self._clf is None:
            return
        proba = float(self._clf.predict_proba(feats[-1:])[0, 1])
        self.last_proba = proba
        want = self._state
        if proba > self.threshold:
            want = 1
        elif proba < 1.0 - self.threshold:
            want = -1 if self.allow_short else 0
        if want != self._state:
            self._state = want
            self.set_direction(want)

    def _fit(self, closes: np.ndarray, feats: np.ndarray) -> None:
        known = feats[:-1]  # rows whose next close is already in history
        labels = (np.diff(closes)[self.lags :] > 0).astype(np.int8)
        x = known[-self.train_window :]
        y = labels[-self.train_window :]
        if len(y) < self.min_train or len(np.unique(y)) < 2:
            return
        clf = self._new_model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLP convergence chatter on tiny windows
            clf.fit(x, y)
        self._clf = clf
        self._last_fit = self._bars_seen
        self.fits += 1
