"""One lock for the first import of the machine-learning libraries, from whichever thread.

transformers (and peft and diffusers through it) import their classes lazily, on first use.
Two threads doing so at once can each hold a module lock the other waits for; Python breaks
the tie by handing one of them a half-initialised module: "cannot import name 'AutoModel'
from 'transformers'", seen when the policy's warm-up thread loaded its sentence model while
the main thread trained a LoRA. darkroom's imports of these libraries that can run on a
thread take `LOCK` (it is an RLock: an import under it may import more under it).
"""

from __future__ import annotations

import threading

LOCK = threading.RLock()
