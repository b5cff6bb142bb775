"""Training: teach darkroom-mini a new concept with a LoRA (`train_lora`), and measure what it costs
(`evaluate_lora`)."""

from darkroom.train.lora import TrainResult, train_lora

__all__ = ["TrainResult", "train_lora"]
