"""darkroom-mini's world: the scenes it was trained on (world.py) and the checker that reads
what a picture shows (checker.py). Numpy and PIL only; training, the learning mode and the
LoRA trainer use them."""
