"""The GPT trained by proxy runs: a LLaMA-style decoder at GPT-2 scale, in one file.

Pre-norm residual blocks (RMSNorm, Zhang & Sennrich 2019), rotary position embeddings
(RoPE, Su et al. 2021), causal self-attention through `scaled_dot_product_attention` (flash
kernels on GPU) and a SwiGLU MLP (Shazeer 2020), as in LLaMA (Touvron et al. 2023); the
layout and initialisation follow nanoGPT's `model.py`. The code is written for one device:
`trainer/parallel.py` wraps it in DDP or FSDP2 afterwards, and nothing here knows.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import nn

from dataflow.config import StrictModel


class GPTConfig(StrictModel):
    """Shape of the model; presets in `trainer/presets/` span ~1M to ~1B parameters."""

    d_model: int = Field(default=128, gt=0)
    """Width of the residual stream; the head size is d_model / num_heads."""
    num_layers: int = Field(default=4, gt=0)
    """Transformer blocks; depth and width together set the parameter count (about 12 * num_layers * d_model^2)."""
    num_heads: int = Field(default=4, gt=0)
    """Attention heads; head size 64 (GPT-2, LLaMA) keeps the flash kernels on their fast path."""
    seq_len: int = Field(default=256, gt=0)
    """Context length: tokens per training sequence and the length of the RoPE tables."""
    vocab_size: int | None = Field(default=None, gt=0)
    """Vocabulary size; None takes the token datasets' size padded up to a multiple of 64
    (nanoGPT pads GPT-2's 50257 to 50304: matmuls run faster on multiples of 64)."""
    mlp_hidden: int | None = Field(default=None, gt=0)
    """SwiGLU hidden width; None gives 8/3 * d_model rounded up to a multiple of 64, which keeps
    the MLP at about 8 * d_model^2 parameters like GPT-2's 4x GELU MLP (LLaMA's choice)."""
    tie_embeddings: bool = True
    """Share the input embedding with the output projection (GPT-2): at proxy scale the
    vocab_size * d_model embedding is a large share of all parameters."""
    rope_theta: float = Field(default=10_000.0, gt=0)
    """RoPE base (Su et al. 2021; LLaMA 1/2); larger bases suit longer contexts."""
    norm_eps: float = Field(default=1e-5, gt=0)
    """RMSNorm epsilon (LLaMA)."""
    init_std: float = Field(default=0.02, gt=0)
    """Standard deviation of the initial weights (GPT-2); residual projections get init_std / sqrt(2 * num_layers)."""

    @model_validator(mode="after")
    def _heads_divide_width(self) -> GPTConfig:
        if self.d_model % self.num_heads or (self.d_model // self.num_heads) % 2:
            raise ValueError(f"d_model {self.d_model} must split into num_heads {self.num_heads} heads of even size "
                             "(RoPE rotates pairs)")
        return self

    @property
    def hidden(self) -> int:
        return self.mlp_hidden or 64 * math.ceil(8 * self.d_model / 3 / 64)


def rope_tables(seq_len: int, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the rotation angles, each (seq_len, head_dim / 2), in float32."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x_i, x_{i + hs/2}) of q or k (B, nh, T, hs) by position (GPT-NeoX layout), in float32."""
    x1, x2 = x.float().chunk(2, dim=-1)
    cos, sin = cos[: x.size(-2)], sin[: x.size(-2)]
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).type_as(x)


class Attention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.num_heads = config.num_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # 3 x (B, nh, T, hs)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class SwiGLU(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.gate_up = nn.Linear(config.d_model, 2 * config.hidden, bias=False)  # gate and up fused: one matmul
        self.down = nn.Linear(config.hidden, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.attn_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.attn = Attention(config)
        self.mlp_norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.mlp = SwiGLU(config)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin)
        return x + self.mlp(self.mlp_norm(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.vocab_size is not None, "resolve vocab_size from the token datasets before building"
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.norm = nn.RMSNorm(config.d_model, eps=config.norm_eps)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.head.weight = self.embed.weight
        cos, sin = rope_tables(config.seq_len, config.d_model // config.num_heads, config.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)  # derived from the config: not saved
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        for name, param in self.named_parameters():
            if name.endswith(("attn.proj.weight", "mlp.down.weight")):  # GPT-2: scale residual writes by depth
                nn.init.normal_(param, mean=0.0, std=config.init_std / math.sqrt(2 * config.num_layers))

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.init_std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Token ids (B, T) to next-token logits (B, T, vocab_size)."""
        x = self.embed(idx)  # (B, T, C)
        for block in self.blocks:
            x = block(x, self.rope_cos, self.rope_sin)
        return self.head(self.norm(x))

    def num_params(self) -> int:
        """Parameters that take part in matmuls: all but an untied input embedding (a lookup).

        This is the N of FLOPs = 6N per token (Kaplan et al. 2020); nanoGPT likewise leaves
        out its position embedding.
        """
        total = sum(p.numel() for p in self.parameters())
        return total if self.config.tie_embeddings else total - self.embed.weight.numel()

    def flops_per_token(self) -> int:
        """Training FLOPs per token: 6N for the weights plus 12 * L * d * T for attention.

        PaLM (Chowdhery et al. 2022), appendix B; nanoGPT's `estimate_mfu` uses the same
        formula. Causal masking halves the attention work in practice; PaLM's count does
        not, and neither does this, so MFU stays comparable with theirs.
        """
        c = self.config
        return 6 * self.num_params() + 12 * c.num_layers * c.d_model * c.seq_len
