"""Training (an extra: needs torch): data readers, augmentation, losses, the loop, ONNX export."""
