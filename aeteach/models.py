"""Encoders, decoders and bottlenecks. An Autoencoder is f (encoder + bottleneck), g (decoder) and named loss terms.

What a kind means (its code, terms, corruption, hyperparameters) is data in losses.VARIANTS; this module
builds the network the config asks for and reads that table, so no code here tests a kind's name.
"""
import math
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checks, losses
from .data import Dataset, block_occlusion, corrupt
from .losses import KINDS, LOGIT_LOSSES, RECON_LOSSES, TERMS, VARIANTS  # noqa: F401 (re-exported)
from .train import choose_device

ARCHS = ("linear", "mlp", "conv", "unet")
FORMAT = "aeteach-checkpoint-v1"
# The largest model make_config builds: 100M float32 parameters are 400 MB, and training holds about four
# times that (gradients, Adam's two moments). The default digits MLP has 35k; a typo (hidden=(10**9,))
# or a tampered checkpoint should be an error, not a machine that swaps or an allocator failure.
MAX_PARAMETERS = 100_000_000


@dataclass
class Config:
    """Everything needed to rebuild a model: saved in checkpoints, shown in widgets.

    Fields a kind does not take keep their defaults; what the kind means comes from `spec`
    (losses.VARIANTS[kind]) through the properties below.
    """
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

    @property
    def spec(self):
        """This kind's entry in losses.VARIANTS."""
        return VARIANTS[self.kind]

    @property
    def terms(self):
        """Names of this kind's loss terms, in the order History reports them."""
        return (*self.spec.terms, "total")

    @property
    def weights(self):
        """Term name -> weight, read from the hyperparameters now: setting config.beta changes the next loss."""
        return {t: 1.0 if h is None else float(getattr(self, h)) for t, h in self.spec.terms.items()}

    @property
    def code(self):
        """What the bottleneck does: identity, relu, sigmoid, topk or gaussian."""
        return self.spec.code

    @property
    def variational(self):
        """A Gaussian code q(z|x): posterior(), sample() and the ELBO exist (kind 'vae')."""
        return self.code == "gaussian"

    @property
    def corruption(self):
        """How training corrupts the input: 'noise' (denoising), 'block' (inpainting) or None."""
        return self.spec.corrupt

    @property
    def output(self):
        """'image' (pixels in [0, 1]), 'linear' (the PCA case, no sigmoid) or 'classes' (per-pixel logits)."""
        return self.spec.output

    @property
    def reconstructs(self):
        """The target is the (clean) input itself; False for segmentation, which learns masks."""
        return self.output != "classes"

    @property
    def spatial_code(self):
        """The code is a map (B, k, H/4, W/4) (U-Net), not a vector (B, k)."""
        return self.arch == "unet"


def _shape(input_shape):
    shape = input_shape.shape if isinstance(input_shape, Dataset) else input_shape  # a Dataset gives its (C, H, W)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {shape!r}")
    try:
        return tuple(checks.whole("each size in input_shape", s, 1) for s in shape)
    except ValueError as err:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {tuple(shape)!r}: {err}") from None


def make_config(kind, input_shape, bottleneck, arch=None, **hyper):
    """Validated Config for `make_model`: every value checked against the kind's table entry."""
    kind = checks.choice("kind", kind, tuple(VARIANTS))  # the table itself: a kind added to it is valid at once
    spec = VARIANTS[kind]
    unknown = set(hyper) - set(spec.hyper)
    if unknown:
        allowed = ", ".join(spec.hyper) or "none"
        raise ValueError(f"kind {kind!r} does not take {', '.join(sorted(unknown))}; its hyperparameters: {allowed}")
    cfg = Config(kind=kind, input_shape=_shape(input_shape), bottleneck=0)
    cfg.bottleneck = spec.range("bottleneck").check("bottleneck", bottleneck, cfg)
    cfg.arch = checks.choice("arch", spec.archs[0] if arch is None else arch, ARCHS)
    if cfg.arch not in spec.archs:
        raise ValueError(f"kind {kind!r} takes arch {' or '.join(spec.archs)}, got {cfg.arch!r} "
                         f"({ARCH_NOTES[cfg.arch]})")
    for name, default in spec.hyper.items():  # in table order: k's range needs the bottleneck, noise_level the noise
        value = hyper[name] if name in hyper else (default(cfg) if callable(default) else default)
        setattr(cfg, name, spec.range(name).check(name, value, cfg))
    n = count_parameters(cfg)
    if n > MAX_PARAMETERS:
        raise ValueError(f"this model would have {n:,} parameters ({4 * n / 2**30:.1f} GiB of float32), over the "
                         f"limit of {MAX_PARAMETERS:,} (models.MAX_PARAMETERS); check bottleneck, hidden and channels")
    return cfg


ARCH_NOTES = {"linear": "'linear' is the PCA case, for kind 'linear' only",
              "mlp": "a fully connected network", "conv": "a convolutional network with a vector code",
              "unet": "the U-Net's code is a spatial map (B, k, H/4, W/4)"}


def count_parameters(cfg):
    """How many parameters the model of `cfg` has, without allocating them (built on the meta device)."""
    with torch.device("meta"):
        return sum(p.numel() for p in Autoencoder(cfg).parameters())


# ----------------------------------------------------------------------------- the pieces

def _topk(a, cfg):
    top = a.topk(cfg.k, dim=1)  # keep the k largest pre-activations per example, zero the rest
    return torch.zeros_like(a).scatter(1, top.indices, top.values)


CODES = {  # code -> (encoder outputs per code unit, the bottleneck at inference)
    "identity": (1, lambda a, cfg: a),
    "relu": (1, lambda a, cfg: F.relu(a)),
    "sigmoid": (1, lambda a, cfg: torch.sigmoid(a)),
    "topk": (1, _topk),
    "gaussian": (2, lambda a, cfg: a.chunk(2, dim=1)[0]),  # mean and log-variance; encode() gives the mean
}
CORRUPTIONS = {  # Kind.corrupt -> what training does to the input
    "noise": lambda x, cfg, gen: corrupt(x, cfg.noise, cfg.noise_level, generator=gen),
    "block": lambda x, cfg, gen: block_occlusion(x, cfg.block, generator=gen)[0],
}
OUTPUTS = {"image": torch.sigmoid, "linear": lambda t: t, "classes": lambda t: t}


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


@dataclass
class Pass:
    """What one forward pass computed; the loss terms (losses.TERMS) read it."""
    model: nn.Module
    x_in: torch.Tensor    # the input the encoder saw (corrupted while training denoising or inpainting)
    target: torch.Tensor  # what the output should be: the clean input, or masks
    a: torch.Tensor       # the encoder's output before the bottleneck
    h: torch.Tensor       # the code (for a Gaussian code, a sample)
    logits: torch.Tensor  # the decoder's output before its sigmoid

    @property
    def config(self):
        return self.model.config

    @property
    def loss(self):
        return "ce" if self.config.output == "classes" else self.config.loss

    @property
    def prediction(self):
        """What the reconstruction loss compares with the target: logits for bce and ce, else the output."""
        return self.logits if self.loss in LOGIT_LOSSES else self.model._output(self.logits)


class Autoencoder(nn.Module):
    """x -> f(x) = h -> g(h) = x'. `loss_terms(x)` gives the named terms of this kind's objective."""

    def __init__(self, config):
        super().__init__()
        self.config = cfg = config
        c, h, w = cfg.input_shape
        d = c * h * w
        code = CODES[cfg.code][0] * cfg.bottleneck  # the VAE's encoder gives mean and log-variance
        self.pad = (0, 0, 0, 0)  # left, right, top, bottom
        # decoders end in logits; decode() applies the output's sigmoid (images live in [0, 1]), so a BCE
        # loss can take the logits directly (see losses.recon)
        if cfg.arch == "linear":
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, code))
            self.decoder = nn.Sequential(nn.Linear(code, d), nn.Unflatten(1, cfg.input_shape))
        elif cfg.arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), _mlp((d, *cfg.hidden, code)))
            self.decoder = nn.Sequential(_mlp((cfg.bottleneck, *cfg.hidden[::-1], d)), nn.Unflatten(1, cfg.input_shape))
        else:
            # two stride-2 stages need sides that are multiples of 4: pad inside the model (replicating the
            # border, so no artificial edge appears), crop the output back; the loss never sees the padding
            ph, pw = -h % 4, -w % 4
            self.pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
            if cfg.arch == "conv":
                c1, c2 = cfg.channels
                flat = (c2, (h + ph) // 4, (w + pw) // 4)
                self.encoder = nn.Sequential(
                    nn.Conv2d(c, c1, 3, stride=2, padding=1), nn.ReLU(),
                    nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.ReLU(),
                    nn.Flatten(), nn.Linear(math.prod(flat), code))
                self.decoder = nn.Sequential(
                    nn.Linear(cfg.bottleneck, math.prod(flat)), nn.ReLU(), nn.Unflatten(1, flat),
                    nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
                    nn.ConvTranspose2d(c1, c, 4, stride=2, padding=1))
            else:
                self.unet = UNet(c, cfg.n_classes if cfg.output == "classes" else c, cfg.bottleneck, cfg.channels, cfg.skip)
        # conv nets start predicting the data's mean (see _start_output); dense ones need not
        self.output_started = cfg.arch in ("linear", "mlp")

    # --- f and g -------------------------------------------------------------------
    def _features(self, x):
        """Encoder output before the bottleneck's nonlinearity, plus U-Net skip features."""
        if any(self.pad):
            x = F.pad(x, self.pad, mode="replicate")
        if self.config.arch == "unet":
            return self.unet.encode(x)
        return self.encoder(x), None

    def _bottleneck(self, a):
        return CODES[self.config.code][1](a, self.config)

    def _sample(self, a, generator=None):
        """A Gaussian code while training: z = mu + sigma * eps, the reparameterisation trick (noise outside the graph)."""
        mu, logvar = a.chunk(2, dim=1)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device) if generator is not None else torch.randn_like(mu)
        return mu + torch.exp(0.5 * logvar) * eps

    def encode(self, x):
        """f(x) = h, the code (B, k); for the VAE the posterior mean; for the U-Net a (B, k, H/4, W/4) map."""
        return self._bottleneck(self._features(x)[0])

    def _logits(self, h, skips=None):
        """The decoder's output before its sigmoid (class logits for segmentation; the image itself for linear)."""
        out = self.unet.decode(h, skips) if self.config.arch == "unet" else self.decoder(h)
        if any(self.pad):
            left, _, top, _ = self.pad
            _, height, width = self.config.input_shape
            out = out[..., top:top + height, left:left + width]
        return out

    def _output(self, logits):
        return OUTPUTS[self.config.output](logits)

    def decode(self, h, skips=None):
        """g(h) = x' (class logits for segmentation); a U-Net with skip connections also needs the encoder's skips."""
        return self._output(self._logits(h, skips))

    def forward(self, x):
        """The reconstruction g(f(x)) (class logits for segmentation). Never corrupts x."""
        a, skips = self._features(x)
        return self.decode(self._bottleneck(a), skips)

    def posterior(self, x):
        """Gaussian code only (the VAE): mean and log-variance of q(z|x), each (B, k)."""
        self._require_variational("posterior")
        mu, logvar = self._features(x)[0].chunk(2, dim=1)
        return mu, logvar

    @torch.no_grad()
    def sample(self, n, generator=None):
        """Gaussian code only (the VAE): n new images decoded from z ~ N(0, I)."""
        self._require_variational("sample")
        n = checks.whole("n", n, 1)
        dev = next(self.parameters()).device
        z = torch.randn(n, self.config.bottleneck, generator=generator, device="cpu" if generator is not None else dev)
        return self.decode(z.to(dev))

    def _require_variational(self, what):
        if not self.config.variational:
            raise ValueError(f"{what}() needs a Gaussian code (kind 'vae'); this model is {self.config.kind!r} "
                             f"with a {self.config.code} code")

    @property
    def needs_target(self):
        """Segmentation learns masks (data.y); every other kind reconstructs its input."""
        return not self.config.reconstructs

    @property
    def sigmoid_layer(self):
        """The nn.Linear of a one-layer sigmoid encoder h = sigmoid(W x + b), where the contractive penalty has a closed form; else None."""
        cfg = self.config
        return self.encoder[1][0] if cfg.code == "sigmoid" and cfg.arch == "mlp" and not cfg.hidden else None

    # --- the objective -------------------------------------------------------------
    def corrupt_input(self, x, generator=None):
        """The training-time corruption of this kind (denoising, inpainting); other kinds return x."""
        how = self.config.corruption
        return x if how is None else CORRUPTIONS[how](x, self.config, generator)

    @torch.no_grad()
    def _start_output(self, target):
        """Make the untrained network predict the mean of its first training batch.

        A sigmoid output starts near 0.5 while digits average about 0.13: the first steps then push every
        pixel darker at once, which switches the ReLUs off and saturates the sigmoid at 0, where the MSE
        gradient vanishes (MNIST: test MSE 0.1119 = predicting black, at 4 of 5 seeds). Starting at the mean
        ("init well", Karpathy's recipe) leaves only the structure to learn. Segmentation starts at the log
        class frequencies, for the same reason.
        """
        layer = self.unet.out if self.config.arch == "unet" else self.decoder[-1]
        if self.config.output == "classes":
            freq = torch.bincount(target.flatten(), minlength=layer.bias.numel())[:layer.bias.numel()].float()
            layer.bias.copy_((freq / freq.sum()).clamp_min(1e-3).log())
        else:
            layer.bias.copy_(torch.logit(target.float().mean((0, 2, 3)).clamp(0.01, 0.99)))
        self.output_started = True

    def load_state_dict(self, state_dict, *args, **kwargs):
        result = super().load_state_dict(state_dict, *args, **kwargs)
        self.output_started = True  # loaded weights are a start of their own
        return result

    def loss_terms(self, x, target=None, generator=None):
        """Named loss terms (scalars) and `total`, their weighted sum, for a batch x (B, C, H, W).

        The weights are read from the config at every call, so a callback may anneal config.beta.
        """
        cfg = self.config
        if target is None:
            if self.needs_target:
                raise ValueError("segmentation needs target masks: loss_terms(x, target=y)")
            target = x  # an autoencoder's target is its own (clean) input
        if not self.output_started and self.training and torch.is_grad_enabled():
            self._start_output(target)
        x_in = self.corrupt_input(x, generator)
        a, skips = self._features(x_in)
        h = self._sample(a, generator) if cfg.variational else self._bottleneck(a)
        p = Pass(self, x_in, target, a, h, self._logits(h, skips))
        terms = {name: TERMS[name](p) for name in cfg.spec.terms}
        weights = cfg.weights
        # a weight of 1 adds no multiply: one autograd node fewer per term and step
        terms["total"] = sum(v if weights[t] == 1.0 else weights[t] * v for t, v in terms.items())
        return terms


def make_model(kind, input_shape, bottleneck, arch=None, seed=0, **hyper):
    """Build an autoencoder of `kind` for images of `input_shape` (C, H, W) (or a Dataset) with a `bottleneck`-sized code.

    Kinds (losses.VARIANTS): linear, undercomplete, sparse_l1, sparse_kl, topk, contractive, denoising, vae,
    segmentation, inpainting, overcomplete. Conv and U-Net models take any H x W and channel count.
    The same seed gives the same initial weights.
    """
    cfg = make_config(kind, input_shape, bottleneck, arch, **hyper)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(checks.whole("seed", seed, 0))
        return Autoencoder(cfg)


# ----------------------------------------------------------------------------- checkpoints

def save(model, path):
    """Save weights and the config needed to rebuild the model.

    Atomic: the file is written beside `path` under a temporary name and then renamed over it, so a
    save that fails (disk full, Ctrl-C) leaves the previous checkpoint as it was.
    """
    if not isinstance(model, Autoencoder):
        raise ValueError(f"save() takes an aeteach Autoencoder, got {type(model).__name__}")
    path = Path(os.fspath(path))
    if not path.parent.is_dir():
        raise ValueError(f"cannot save to {path}: the folder {path.parent} does not exist")
    ckpt = {"format": FORMAT, "config": asdict(model.config), "state_dict": {k: v.cpu() for k, v in model.state_dict().items()}}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(ckpt, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)  # mkstemp makes it private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


CONFIG_FIELDS = tuple(f.name for f in fields(Config))


def load(path, device="cpu"):
    """Load a checkpoint written by `save` (safely: torch.load(weights_only=True)), onto `device`.

    Every problem is a ValueError that says what is wrong: not a checkpoint, a config that fails
    make_config's checks (naming the field), weights that do not fit the config, a device this machine lacks.
    """
    try:
        dev = choose_device(device)
    except ValueError as err:
        raise ValueError(f"cannot load {path} onto device {device!r}: {err}") from None
    try:
        # always onto the CPU first: a file saved on a GPU machine loads anywhere, and the device is checked above
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(f"{path} is not an aeteach checkpoint (torch.load failed: {err})") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not an aeteach checkpoint (expected a dict with format {FORMAT!r}); save one with aeteach.save(model, path)")
    cfg, state = ckpt.get("config"), ckpt.get("state_dict")
    if not isinstance(cfg, dict) or not isinstance(state, dict):
        raise ValueError(f"{path} is damaged: it needs a 'config' dict and a 'state_dict' dict")
    missing = [f for f in ("kind", "input_shape", "bottleneck", "arch") if f not in cfg]
    unknown = sorted(set(cfg) - set(CONFIG_FIELDS) - {"weights"})  # 'weights' was stored by older versions
    if missing or unknown:
        what = [f"lacks {', '.join(missing)}"] * bool(missing) + [f"has unknown fields {', '.join(map(str, unknown))}"] * bool(unknown)
        raise ValueError(f"{path} has a damaged config: it {' and '.join(what)}")
    try:
        kind = checks.choice("kind", cfg["kind"], KINDS)
        hyper = {k: v for k, v in cfg.items() if k in VARIANTS[kind].hyper}
        model = make_model(kind, cfg["input_shape"], cfg["bottleneck"], arch=cfg["arch"], **hyper)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path} has a config that is not valid: {err}") from None
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{path} has weights that do not fit its config ({model.config.kind}, {model.config.arch}): {err}") from None
    return model.to(dev)
