"""edgekit: turn a large multilingual sentence encoder into a phone-sized model.

The Python API:
    from edgekit import distill, load_encoder
    student_dir = distill(preset="tiny", out="build/student")
    encoder = load_encoder(student_dir)          # or a teacher name / HF folder
    vectors = encoder.encode(["Hello", "Bonjour"])  # (2, dim), rows L2-normalised

    bundle_dir = build(target="linux", preset="tiny")   # ... -> export -> verified bundle
    b = Bundle.load(bundle_dir)
    b.encode(["Hello"], runtime="executorch")          # or "onnx", "torch"
    b.similarity("Hello", "Bonjour")
"""

from distill.errors import EdgekitError
from edgekit.api import build, distill, export, load_encoder
from export.bundle import Bundle

__all__ = ["Bundle", "EdgekitError", "build", "distill", "export", "load_encoder"]
