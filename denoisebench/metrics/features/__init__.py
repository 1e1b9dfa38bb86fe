"""The pinned MNIST classifier whose penultimate layer gives the metric features."""

from .load import FeatureNetwork, check_images, default_weights_path, load_feature_network
from .model import FEATURE_DIM, DigitClassifier

__all__ = ["FEATURE_DIM", "DigitClassifier", "FeatureNetwork", "check_images", "default_weights_path",
           "load_feature_network"]
