"""Encoders, decoders and bottlenecks. An Autoencoder is f (encoder + bottleneck), g (decoder) and named loss terms."""
import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import losses
from .data import NOISE_RANGES, block_occlusion, corrupt
from .losses import KINDS, RECON_LOSSES, VARIANTS

ARCHS = ("linear", "mlp", "conv", "unet")
FORMAT = "aeteach-checkpoint-v1"

# which hyperparameters each kind takes: a typo like `lamda=` is an error, not silently ignored
_COMMON = ("hidden", "channels", "loss")
KIND_HYPER = {
    "linear": (),
    "undercomplete": _COMMON,
    "sparse_l1": _COMMON + ("lam",),
    "sparse_kl": _COMMON + ("rho", "beta"),
    "topk": _COMMON + ("k",),
    "contractive": _COMMON + ("lam",),
    "denoising": _COMMON + ("noise", "noise_level"),
    "vae": _COMMON + ("beta",),
    "segmentation": ("channels", "n_classes", "skip"),
    "inpainting": _COMMON + ("block", "skip"),
}


@dataclass
class Config:
    """Everything needed to rebuild a model: saved in checkpoints, shown in widgets."""
    kind: str
    input_shape: tuple
    bottleneck: int
    arch: str = "mlp"
    hidden: tuple = (256,)     # MLP hidden widths, encoder side; the decoder mirrors them
    channels: tuple = (32, 64)  # conv / U-Net channels per resolution
    loss: str = "mse"           # reconstruction loss: mse, mae, bce (the VAE uses bce: a Bernoulli decoder)
    lam: float = 0.0            # weight of l1 (sparse_l1) or contractive
    rho: float = 0.05           # target mean activation (sparse_kl)
    beta: float = 1.0           # weight of kl_sparsity (sparse_kl) or kl (vae)
    k: int = 0                  # active units (topk)
    noise: str = "gaussian"     # corruption kind (denoising)
    noise_level: float = 0.3
    block: int = 0              # occluded block side (inpainting)
    n_classes: int = 4          # segmentation classes
    skip: bool = True           # U-Net skip connections
    weights: dict = field(default_factory=dict)  # term name -> weight, derived

    @property
    def terms(self):
        """Names of this kind's loss terms, in the order History reports them."""
        return (*VARIANTS[self.kind]["terms"], "total")


def _defaults(kind, input_shape, bottleneck):
    """Per-kind defaults that depend on the data (filled in before validation)."""
    c, h, w = input_shape
    d = {"linear": dict(arch="linear", hidden=()),
         "sparse_l1": dict(lam=1e-4),
         "sparse_kl": dict(beta=0.01),
         "topk": dict(k=max(1, min(8, bottleneck // 4))),
         # Rifai et al.'s contractive AE: one sigmoid layer, where the penalty has a closed form
         "contractive": dict(lam=0.01, hidden=()),
         "vae": dict(loss="bce"),
         "segmentation": dict(arch="unet", channels=(16, 32)),
         "inpainting": dict(block=max(1, round(0.375 * min(h, w))))}
    return d.get(kind, {})


def _check_range(name, value, lo, hi):
    if not lo <= value <= hi:  # also rejects nan
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")


def _validate(cfg):
    c, h, w = cfg.input_shape
    if cfg.arch not in ARCHS:
        raise ValueError(f"unknown arch {cfg.arch!r}; valid: {', '.join(ARCHS)}")
    if (cfg.kind == "linear") != (cfg.arch == "linear"):
        raise ValueError("arch 'linear' goes with kind 'linear' only (the PCA case); other kinds take mlp, conv or unet")
    if cfg.arch in ("conv", "unet") and (h % 4 or w % 4):
        raise ValueError(f"arch {cfg.arch!r} halves the image twice, so height and width must be multiples of 4; got {h}x{w}")
    if cfg.kind == "segmentation" and cfg.arch != "unet":
        raise ValueError("segmentation needs arch='unet' (per-pixel classes need the spatial layout)")
    if cfg.arch == "unet" and cfg.kind not in ("segmentation", "inpainting", "denoising", "undercomplete"):
        raise ValueError("arch 'unet' has a spatial bottleneck; use it for segmentation, inpainting, denoising or undercomplete")
    if cfg.kind == "vae" and cfg.arch == "unet":
        raise ValueError("the VAE needs a vector bottleneck: arch mlp or conv")
    if cfg.bottleneck < 1:
        raise ValueError(f"bottleneck must be a whole number >= 1, got {cfg.bottleneck}")
    if cfg.loss not in RECON_LOSSES:
        raise ValueError(f"loss must be one of {', '.join(RECON_LOSSES)}, got {cfg.loss!r}")
    if cfg.kind == "vae" and cfg.loss != "bce":
        raise ValueError("the VAE's ELBO here uses a Bernoulli decoder: loss must be 'bce'")
    if any(n < 1 for n in cfg.hidden) or any(n < 1 for n in cfg.channels) or len(cfg.channels) != 2:
        raise ValueError(f"hidden widths must be >= 1 and channels two numbers >= 1; got hidden={cfg.hidden}, channels={cfg.channels}")
    if cfg.lam < 0 or not math.isfinite(cfg.lam):
        raise ValueError(f"lam must be >= 0 (0 switches the penalty off), got {cfg.lam}")
    if cfg.beta < 0 or not math.isfinite(cfg.beta):
        raise ValueError(f"beta must be >= 0, got {cfg.beta}")
    if not 0 < cfg.rho < 1:
        raise ValueError(f"rho must be in (0, 1), got {cfg.rho}")
    if cfg.kind == "topk" and not 1 <= cfg.k <= cfg.bottleneck:
        raise ValueError(f"k must be between 1 and the bottleneck size {cfg.bottleneck}, got {cfg.k}")
    if cfg.kind == "denoising":
        if cfg.noise not in NOISE_RANGES:
            raise ValueError(f"noise must be one of {', '.join(NOISE_RANGES)}, got {cfg.noise!r}")
        _check_range("noise_level", cfg.noise_level, *NOISE_RANGES[cfg.noise])
    if cfg.kind == "inpainting" and not 1 <= cfg.block <= min(h, w):
        raise ValueError(f"block must be between 1 and {min(h, w)} pixels, got {cfg.block}")
    if cfg.kind == "segmentation" and cfg.n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {cfg.n_classes}")


def make_config(kind, input_shape, bottleneck, arch=None, **hyper):
    """Validated Config for `make_model`."""
    if kind not in VARIANTS:
        raise ValueError(f"unknown kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    input_shape = getattr(input_shape, "shape", input_shape)  # a Dataset gives its (C, H, W)
    if len(input_shape) != 3 or any(int(s) < 1 for s in input_shape):
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {tuple(input_shape)}")
    input_shape = tuple(int(s) for s in input_shape)
    unknown = set(hyper) - set(KIND_HYPER[kind])
    if unknown:
        allowed = ", ".join(KIND_HYPER[kind]) or "none"
        raise ValueError(f"kind {kind!r} does not take {', '.join(sorted(unknown))}; its hyperparameters: {allowed}")
    if isinstance(bottleneck, float) and bottleneck.is_integer():
        bottleneck = int(bottleneck)
    if not isinstance(bottleneck, int) or isinstance(bottleneck, bool):
        raise ValueError(f"bottleneck must be a whole number >= 1, got {bottleneck!r}")
    settings = {**_defaults(kind, input_shape, bottleneck), **hyper}
    if arch is not None:
        settings["arch"] = arch
    for name in ("hidden", "channels"):
        if name in settings:
            settings[name] = tuple(int(n) for n in settings[name])
    cfg = Config(kind=kind, input_shape=input_shape, bottleneck=bottleneck, **settings)
    _validate(cfg)
    cfg.weights = {t: 1.0 if h is None else float(getattr(cfg, h)) for t, h in VARIANTS[kind]["terms"].items()}
    return cfg


def _mlp(sizes, out_act=None):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """Two down-sampling stages, a spatial bottleneck of `bottleneck` channels, two up-sampling stages.

    With skip=True the decoder also sees the encoder's features at each resolution, which keeps
    fine spatial detail (boundaries) that the bottleneck alone would have to squeeze through.
    """

    def __init__(self, in_ch, out_ch, bottleneck, channels, skip):
        super().__init__()
        c1, c2 = channels
        conv = lambda a, b: nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.ReLU(), nn.Conv2d(b, b, 3, padding=1), nn.ReLU())
        self.skip = skip
        self.down1, self.down2 = conv(in_ch, c1), conv(c1, c2)
        self.bottom = nn.Conv2d(c2, bottleneck, 3, padding=1)
        self.up2 = nn.ConvTranspose2d(bottleneck, c2, 2, stride=2)
        self.dec2 = conv(2 * c2 if skip else c2, c2)
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.dec1 = conv(2 * c1 if skip else c1, c1)
        self.out = nn.Conv2d(c1, out_ch, 1)

    def encode(self, x):
        s1 = self.down1(x)  # (B, c1, H, W)
        s2 = self.down2(F.max_pool2d(s1, 2))  # (B, c2, H/2, W/2)
        return self.bottom(F.max_pool2d(s2, 2)), (s1, s2)  # (B, bottleneck, H/4, W/4)

    def decode(self, h, skips=None):
        if self.skip and skips is None:
            raise ValueError("this U-Net has skip connections, so decoding needs the encoder's features: call model(x)")
        u2 = F.relu(self.up2(h))
        u2 = self.dec2(torch.cat([u2, skips[1]], 1) if self.skip else u2)
        u1 = F.relu(self.up1(u2))
        return self.out(self.dec1(torch.cat([u1, skips[0]], 1) if self.skip else u1))


class Autoencoder(nn.Module):
    """x -> f(x) = h -> g(h) = x'. `loss_terms(x)` gives the named terms of this kind's objective."""

    def __init__(self, config):
        super().__init__()
        self.config = cfg = config
        c, h, w = cfg.input_shape
        d = c * h * w
        code = 2 * cfg.bottleneck if cfg.kind == "vae" else cfg.bottleneck  # the VAE encodes mean and log-variance
        # decoders end in logits; decode() applies the sigmoid (images live in [0, 1]), so a BCE loss can
        # take the logits directly (see losses.recon)
        if cfg.arch == "linear":
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, code))
            self.decoder = nn.Sequential(nn.Linear(code, d), nn.Unflatten(1, cfg.input_shape))
        elif cfg.arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), _mlp((d, *cfg.hidden, code)))
            self.decoder = nn.Sequential(_mlp((cfg.bottleneck, *cfg.hidden[::-1], d)), nn.Unflatten(1, cfg.input_shape))
        elif cfg.arch == "conv":
            c1, c2 = cfg.channels
            flat = (c2, h // 4, w // 4)
            self.encoder = nn.Sequential(
                nn.Conv2d(c, c1, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),
                nn.Flatten(), nn.Linear(math.prod(flat), code))
            self.decoder = nn.Sequential(
                nn.Linear(cfg.bottleneck, math.prod(flat)), nn.ReLU(), nn.Unflatten(1, flat),
                nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
                nn.ConvTranspose2d(c1, c, 4, stride=2, padding=1))
        else:
            out_ch = cfg.n_classes if cfg.kind == "segmentation" else c
            self.unet = UNet(c, out_ch, cfg.bottleneck, cfg.channels, cfg.skip)

    # --- f and g -------------------------------------------------------------------
    def _features(self, x):
        """Encoder output before the bottleneck's nonlinearity, plus U-Net skip features."""
        if self.config.arch == "unet":
            return self.unet.encode(x)
        return self.encoder(x), None

    def _bottleneck(self, a):
        kind = VARIANTS[self.config.kind]["bottleneck"]
        if kind == "relu":
            return F.relu(a)
        if kind == "sigmoid":
            return torch.sigmoid(a)
        if kind == "topk":  # keep the k largest pre-activations per example, zero the rest
            top = a.topk(self.config.k, dim=1)
            return torch.zeros_like(a).scatter(1, top.indices, top.values)
        if kind == "gaussian":
            return a.chunk(2, dim=1)[0]  # the posterior mean
        return a

    def encode(self, x):
        """f(x) = h, the code (B, k); for the VAE the posterior mean; for the U-Net a (B, k, H/4, W/4) map."""
        return self._bottleneck(self._features(x)[0])

    def _logits(self, h, skips=None):
        """The decoder's output before its sigmoid (class logits for segmentation; the image itself for linear)."""
        return self.unet.decode(h, skips) if self.config.arch == "unet" else self.decoder(h)

    def _output(self, logits):
        # the linear autoencoder is the PCA case (no sigmoid); segmentation keeps its class logits
        return logits if self.config.arch == "linear" or self.config.kind == "segmentation" else torch.sigmoid(logits)

    def decode(self, h, skips=None):
        """g(h) = x' (class logits for segmentation); a U-Net with skip connections also needs the encoder's skips."""
        return self._output(self._logits(h, skips))

    def forward(self, x):
        """The reconstruction g(f(x)) (class logits for segmentation). Never corrupts x."""
        a, skips = self._features(x)
        return self.decode(self._bottleneck(a), skips)

    def posterior(self, x):
        """VAE only: mean and log-variance of q(z|x), each (B, k)."""
        self._require_vae("posterior")
        mu, logvar = self._features(x)[0].chunk(2, dim=1)
        return mu, logvar

    @torch.no_grad()
    def sample(self, n, generator=None):
        """VAE only: n new images decoded from z ~ N(0, I)."""
        self._require_vae("sample")
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a whole number >= 1, got {n!r}")
        dev = next(self.parameters()).device
        z = torch.randn(n, self.config.bottleneck, generator=generator, device="cpu" if generator is not None else dev)
        return self.decode(z.to(dev))

    def _require_vae(self, what):
        if self.config.kind != "vae":
            raise ValueError(f"{what}() exists for kind 'vae' only; this model is {self.config.kind!r}")

    @property
    def needs_target(self):
        """Segmentation learns masks (data.y); every other kind reconstructs its input."""
        return self.config.kind == "segmentation"

    # --- the objective -------------------------------------------------------------
    def corrupt_input(self, x, generator=None):
        """The training-time corruption of this kind (denoising, inpainting); other kinds return x."""
        cfg = self.config
        how = VARIANTS[cfg.kind].get("corrupt")
        if how == "noise":
            return corrupt(x, cfg.noise, cfg.noise_level, generator=generator)
        if how == "block":
            return block_occlusion(x, cfg.block, generator=generator)[0]
        return x

    def loss_terms(self, x, target=None, generator=None):
        """Named loss terms (scalars) and `total`, their weighted sum, for a batch x (B, C, H, W)."""
        cfg = self.config
        if target is None:
            if self.needs_target:
                raise ValueError("segmentation needs target masks: loss_terms(x, target=y)")
            target = x  # an autoencoder's target is its own (clean) input
        x_in = self.corrupt_input(x, generator)
        a, skips = self._features(x_in)
        terms = {}
        if cfg.kind == "vae":
            mu, logvar = a.chunk(2, dim=1)
            eps = torch.randn(mu.shape, generator=generator, device=mu.device) if generator is not None else torch.randn_like(mu)
            z = mu + torch.exp(0.5 * logvar) * eps  # the reparameterisation trick: noise outside the graph
            terms["recon"] = losses.recon(self._logits(z), target, "bce", per_example=True)
            terms["kl"] = losses.kl(mu, logvar)
        else:
            h = self._bottleneck(a)
            loss = "ce" if cfg.kind == "segmentation" else cfg.loss
            logits = self._logits(h, skips)
            x_hat = logits if loss in losses.LOGIT_LOSSES else self._output(logits)
            terms["recon"] = losses.recon(x_hat, target, loss)
            if cfg.kind == "sparse_l1":
                terms["l1"] = losses.l1(h)
            elif cfg.kind == "sparse_kl":
                terms["kl_sparsity"] = losses.kl_sparsity(h, cfg.rho)
            elif cfg.kind == "contractive":
                one_layer = self.encoder[1][0] if cfg.arch == "mlp" and not cfg.hidden else None
                terms["contractive"] = losses.contractive(self.encode, x_in, sigmoid_layer=one_layer)
        # a weight of 1 adds no multiply: one autograd node fewer per term and step
        terms["total"] = sum(value if cfg.weights[name] == 1.0 else cfg.weights[name] * value for name, value in terms.items())
        return terms


def make_model(kind, input_shape, bottleneck, arch=None, seed=0, **hyper):
    """Build an autoencoder of `kind` for images of `input_shape` (C, H, W) (or a Dataset) with a `bottleneck`-sized code.

    Kinds: linear, undercomplete, sparse_l1, sparse_kl, topk, contractive, denoising, vae, segmentation, inpainting.
    The same seed gives the same initial weights.
    """
    cfg = make_config(kind, input_shape, bottleneck, arch, **hyper)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Autoencoder(cfg)


def save(model, path):
    """Save weights and the config needed to rebuild the model."""
    if not isinstance(model, Autoencoder):
        raise ValueError(f"save() takes an aeteach Autoencoder, got {type(model).__name__}")
    cfg = asdict(model.config)
    cfg.pop("weights")
    torch.save({"format": FORMAT, "config": cfg, "state_dict": {k: v.cpu() for k, v in model.state_dict().items()}}, path)


def load(path, device="cpu"):
    """Load a checkpoint written by `save` (safely: torch.load(weights_only=True))."""
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"{path} is not an aeteach checkpoint (torch.load failed: {err})") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not an aeteach checkpoint (expected a dict with format {FORMAT!r}); save one with aeteach.save(model, path)")
    cfg = dict(ckpt["config"])
    kind, shape, bottleneck, arch = cfg.pop("kind"), cfg.pop("input_shape"), cfg.pop("bottleneck"), cfg.pop("arch")
    hyper = {k: v for k, v in cfg.items() if k in KIND_HYPER[kind]}
    model = make_model(kind, shape, bottleneck, arch=arch, **hyper)
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device)
