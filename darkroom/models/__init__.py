"""What can generate: checkpoint registry, safe loading, bundled configs, the model cache.

    safety.check_checkpoint_file(path)   refuse pickles, validate a .safetensors header
    detect.detect_checkpoint(header)     sd1 | sd2 | sd2-v | sdxl from tensor names and shapes
    hashing.sha256_file / sha256_folder  cached sha256; a1111_short_hash(sha) = sha[:10]
    registry.Registry(settings)          add / list / remove / resolve / default -> ModelEntry
    cache.get_engine(entry, settings)    a loaded Engine from a small LRU cache
    engine.Engine.pipeline(kind)         txt2img / img2img / inpaint pipelines sharing components

Importing this package is cheap; torch and diffusers load with `engine` and `cache`.
"""
