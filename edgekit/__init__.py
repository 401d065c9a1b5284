"""edgekit: turn a large multilingual sentence encoder into a phone-sized model.

The Python API:
    from edgekit import distill, load_encoder
    student_dir = distill(preset="tiny", out="build/student")
    encoder = load_encoder(student_dir)          # or a teacher name / HF folder
    vectors = encoder.encode(["Hello", "Bonjour"])  # (2, dim), rows L2-normalised
"""

from distill.errors import EdgekitError
from edgekit.api import distill, load_encoder

__all__ = ["EdgekitError", "distill", "load_encoder"]
