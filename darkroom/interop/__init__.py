"""What other tools write and read: A1111 infotext and ComfyUI `prompt` graphs, to and from recipes.

    a1111.py    an A1111 picture's infotext -> a darkroom recipe (what cannot be mapped is listed)
    comfyui.py  a recipe <-> ComfyUI's API-format graph of core nodes
"""
