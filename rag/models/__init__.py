"""The model files shipped inside the package: the reader, the ranker and the answer calibration."""

from pathlib import Path

MODEL_DIR = Path(__file__).parent
