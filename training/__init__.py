"""How darkroom-mini is made: the synthetic shapes world, the checker, training and evaluation.

Importing this package has no side effects; the heavy modules (train, evaluate) import torch
and diffusers only when used.
"""
