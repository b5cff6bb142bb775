"""Configs of darkroom-mini's components (Stable Diffusion structure, tiny sizes)."""
from __future__ import annotations

SCHEDULER_KW = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    prediction_type="v_prediction",
    rescale_betas_zero_snr=True,
    timestep_spacing="trailing",
)


def make_vae(channels=(16, 32, 64), layers=1):
    from diffusers import AutoencoderKL
    return AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3,
        up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=tuple(channels),
        layers_per_block=layers,
        latent_channels=4,
        # one group: flat colour areas survive normalisation (with 2 channels per group they
        # collapse to a sign pattern, and the VAE learns flat colours very slowly)
        norm_num_groups=1,
        sample_size=64,
        mid_block_add_attention=False,
    )


def make_unet(channels=(32, 64, 128), layers=1):
    from diffusers import UNet2DConditionModel
    return UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        block_out_channels=tuple(channels),
        layers_per_block=layers,
        cross_attention_dim=64,
        attention_head_dim=4,
        norm_num_groups=4,
    )


def make_text_encoder(vocab_size: int, bos: int, eos: int, pad: int):
    from transformers import CLIPTextConfig, CLIPTextModel
    cfg = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=256, projection_dim=64,
        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
        hidden_act="quick_gelu", bos_token_id=bos, eos_token_id=eos, pad_token_id=pad,
    )
    return CLIPTextModel(cfg)


def make_train_scheduler():
    from diffusers import DDPMScheduler
    return DDPMScheduler(**SCHEDULER_KW, clip_sample=False)


def make_sample_scheduler():
    """Euler a (A1111's default). Deterministic samplers (DDIM, DPM++) start from the model's
    mean prediction at pure noise; for a position it is unsure of ("top" vs "bottom") that
    mean holds both, and they tend to draw two objects. Ancestral noise breaks the tie."""
    from diffusers import EulerAncestralDiscreteScheduler
    return EulerAncestralDiscreteScheduler(**SCHEDULER_KW, steps_offset=1)
