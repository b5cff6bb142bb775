"""What can generate: checkpoint registry, safe loading, bundled configs, the model cache.

    safety.check_checkpoint_file(path)   refuse pickles, validate a .safetensors header
    detect.detect_checkpoint(header)     sd1 | sd2 | sd2-v | sdxl from tensor names and shapes
    hashing.sha256_file / sha256_folder  cached sha256; a1111_short_hash(sha) = sha[:10]
    registry.Registry(settings)          add / list / remove / resolve / default -> ModelEntry
    cache.EngineCache.lease(entry, ...)  a loaded Engine, never evicted while leased (LRU, budget)
    engine.Engine.view(kind, scheduler)  a fresh txt2img / img2img / inpaint pipeline over shared components
    detectors.detect(name, image)        zones to repaint (faces, ...): OpenCV's bundled cascades

Importing this package is cheap; torch and diffusers load with `engine` and `cache`.
"""
