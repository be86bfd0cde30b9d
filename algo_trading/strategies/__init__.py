"""Built-in strategies; importing this package registers them."""

from .ma_crossover import MaCrossover
from .mean_reversion import MeanReversion
from .ml_classifier import MlClassifier
from .momentum_breakout import MomentumBreakout

__all__ = ["MaCrossover", "MeanReversion", "MlClassifier", "MomentumBreakout"]
