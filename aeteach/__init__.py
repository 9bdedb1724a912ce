"""aeteach: autoencoders you can train, measure and explore with sliders."""
from . import metrics
from .data import (CORRUPTIONS, DATASETS, NOISE_RANGES, Dataset, DatasetUnavailable, block_occlusion, corrupt,
                   gaussian_noise, load_dataset, load_photo, masking_noise, salt_and_pepper)
from .losses import KINDS, VARIANTS
from .models import Autoencoder, load, make_model, save
from .train import History, TrainingDiverged, choose_device, choose_precision, describe_device, evaluate, fit

__version__ = "0.1.0"
