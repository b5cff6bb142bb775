"""Safe prompting: rule packs over normalised text plus a semantic layer.

    from darkroom.trust.policy import Policy
    decision = Policy.load(settings).check({"prompt": "...", "negative_prompt": "..."})
    decision.raise_if_blocked()
"""

from darkroom.trust.policy.engine import (
    ABSOLUTE_CATEGORIES,
    CategoryState,
    Decision,
    Hit,
    Policy,
    is_negative_field,
)
from darkroom.trust.policy.normalize import canonical, views

__all__ = [
    "ABSOLUTE_CATEGORIES",
    "CategoryState",
    "Decision",
    "Hit",
    "Policy",
    "canonical",
    "is_negative_field",
    "views",
]
