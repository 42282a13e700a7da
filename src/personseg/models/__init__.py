"""Network definitions (torch, for training and export) and the registry of shipped ONNX models."""
