"""Checks for 03_contractive: the encoder Jacobian by hand, the penalty and the most sensitive input direction as
functions, and a multiple choice on whether the penalty depends on the data."""
import torch

from . import close, number, report, multiple_choice, call as _call
from ..metrics import jacobian_norm


def _one_sigmoid_layer(model):
    """The nn.Linear of a one-layer sigmoid encoder, or None."""
    return getattr(model, "sigmoid_layer", None)


def _true_jacobian(model, x):
    """d encode(x) / dx for one image x (1, C, H, W) as a (k, C*H*W) tensor."""
    model.eval()
    dev = next(model.parameters()).device
    jac = torch.func.jacrev(lambda xi: model.encode(xi[None])[0])(x[0].detach().to(dev))  # (k, C, H, W)
    return jac.reshape(jac.shape[0], -1).detach().cpu()


def _check_image(x):
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or len(x) != 1:
        return "x should be ONE image shaped (1, 1, 8, 8), e.g. test.x[:1]"
    return None


def check_jacobian(model, x, jac):
    """jac: the Jacobian d h / d x of the one-layer sigmoid encoder at one image x, shape (k, 64)."""
    if _one_sigmoid_layer(model) is None:
        return report(False, "pass a contractive model with the default one-layer encoder (hidden=())")
    problem = _check_image(x)
    if problem:
        return report(False, problem)
    truth = _true_jacobian(model, x)
    if not isinstance(jac, torch.Tensor) or jac.numel() != truth.numel():
        return report(False, f"jac should be a tensor with {truth.shape[0]} rows (code units) and {truth.shape[1]} "
                             f"columns (pixels), got {getattr(jac, 'shape', type(jac).__name__)}")
    jac = jac.detach().cpu().reshape(truth.shape).to(truth.dtype)
    if torch.allclose(jac, truth, rtol=1e-3, atol=1e-6):
        return report(True, "", "the same numbers as torch.func.jacrev: each row is W_i scaled by h_i (1 - h_i)")
    if torch.allclose(jac, truth.T.reshape(truth.shape), rtol=1e-3, atol=1e-6):
        return report(False, "rows should be code units and columns pixels: (k, 64)")
    w = _one_sigmoid_layer(model).weight.detach().cpu()
    if torch.allclose(jac, w, rtol=1e-3, atol=1e-6):
        return report(False, "that is W alone: the sigmoid's slope h (1 - h) scales each row")
    return report(False, "compute h = model.encode(x) (1, k), then scale row i of the encoder weight W (k, 64) by "
                         "h_i (1 - h_i): (h * (1 - h)).T * W")


def _rival(model):
    """A freshly initialised contractive model of the same shape: a second model the check picks itself."""
    from ..models import make_model  # here, not at the top: exercises import nothing heavy until a check runs
    cfg = model.config
    return make_model("contractive", cfg.input_shape, cfg.bottleneck, seed=12345, lam=cfg.lam).to(
        next(model.parameters()).device)


def check_penalty(fn, model, x):
    """fn(model, x): the mean over the images in x of ||J_f(x)||_F^2, from the closed form.

    The check calls fn on model with all of x and with some of x inverted, and on a second model it builds itself, so a
    number copied from a printout, or a function that ignores its arguments, cannot pass.
    """
    if _one_sigmoid_layer(model) is None:
        return report(False, "pass a contractive model with the default one-layer encoder (hidden=())")
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or len(x) < 4:
        return report(False, "x should be a batch of at least 4 images (N, 1, 8, 8), e.g. test.x[:100]")
    for m, xs in ((model, x), (model, 1 - x[1:len(x) // 2]), (_rival(model), x)):  # 1 - x: inverted images
        out, problem = _call(fn, m, xs)
        if problem:
            return report(False, problem)
        value = number(out)
        if value is None:
            return report(False, f"return one number (the mean over the images), got {type(out).__name__}")
        truth = jacobian_norm(m, xs, max_samples=len(xs), squared=True)
        if close(value, truth, rel=1e-3):
            continue
        if close(value, truth * len(xs), rel=1e-3):
            return report(False, "that is the sum over the images; the penalty is their mean")
        root = jacobian_norm(m, xs, max_samples=len(xs), squared=False)
        if close(value, root, rel=1e-3):
            return report(False, "that is the Frobenius norm itself; the penalty is its square")
        return report(False, "per image: sum over units i of (h_i (1 - h_i))^2 times sum over pixels of W_ij^2; then "
                             "average over the images; use the model and images you are given")
    return report(True, "", "the closed form matches the exact Jacobian norm from torch.func")


def check_direction(fn, model, x):
    """fn(model, x): a unit input direction (64 numbers) along which the code of one image x changes fastest.

    Checked at x and at two more images of the check's choosing (x inverted and x mirrored), so an answer
    computed once, or one that ignores its arguments, cannot pass.
    """
    problem = _check_image(x)
    if problem:
        return report(False, problem)
    if not hasattr(model, "encode"):
        return report(False, f"pass the model second, got {type(model).__name__}")
    for xi in (x, 1 - x, x.flip(-1)):
        out, problem = _call(fn, model, xi.clone())
        if problem:
            return report(False, problem)
        if not isinstance(out, torch.Tensor) or out.numel() != x[0].numel():
            return report(False, f"return a tensor with {x[0].numel()} numbers (one per pixel)")
        jac = _true_jacobian(model, xi)
        v = out.detach().cpu().reshape(-1).to(jac.dtype)
        if float(v.norm()) == 0:
            return report(False, "v is all zeros: a direction needs a nonzero length")
        gain = float((jac @ v).norm() / v.norm())
        top = float(torch.linalg.svdvals(jac)[0])
        if gain < 0.99 * top:
            return report(False, f"along your v the code moves {gain / top:.0%} as fast as it can: take the first row "
                                 "of Vh from torch.linalg.svd(J) of the Jacobian at the image you are given, not a "
                                 "column of U (those live in code space)")
    return report(True, "", "that is the top right-singular vector: the code's most sensitive direction")


# Whether the contractive penalty depends on the data: a multiple choice.
DATA_CHOICES = {
    "a": "no: it is a property of the weights W alone, the same for every input",
    "b": "yes: through h_i (1 - h_i), the slope of each sigmoid at that input, so it is small where the code saturates, "
         "and training lowers it most where the training data are",
    "c": "only through the batch: it is computed once per batch from the mean code",
}
DATA_HINTS = {
    "a": "look at the closed form: h = sigmoid(Wx + b) is computed at each x; then look at the per-image penalties "
         "and the shuffled-pixel images in the notebook's box",
    "c": "the closed form is evaluated per image and then averaged; each image has its own h and so its own penalty",
}


def check_data_question(answer):
    """answer: 'a', 'b' or 'c' (see DATA_CHOICES)."""
    return multiple_choice(answer, DATA_CHOICES, "b", "the penalty is an average over the data of a quantity that depends on each input", DATA_HINTS)
