"""Export: ExecuTorch (.pte) and ONNX lowering, the bundle format, parity checks (issue #3)."""
