"""Layer 0: validation, accuracy measures, result types, the solver registry and provenance. Imports nothing else
from qrp."""
