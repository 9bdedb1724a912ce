"""Checks for 03_contractive: the encoder Jacobian by hand, the penalty by hand, the most sensitive input direction."""
import torch

from . import close, report
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


def check_penalty(model, x, answer):
    """answer: the mean over the images in x of ||J_f(x)||_F^2, from the closed form."""
    if _one_sigmoid_layer(model) is None:
        return report(False, "pass a contractive model with the default one-layer encoder (hidden=())")
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        return report(False, "x should be a batch of images (N, 1, 8, 8)")
    if isinstance(answer, torch.Tensor) and answer.numel() == 1:
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return report(False, f"answer should be one number, got {type(answer).__name__}")
    truth = jacobian_norm(model, x, max_samples=len(x), squared=True)
    if close(answer, truth, rel=0.01):
        return report(True, "", "the closed form matches the exact Jacobian norm from torch.func")
    root = jacobian_norm(model, x, max_samples=len(x), squared=False)
    if close(answer, root, rel=0.01):
        return report(False, "that is the Frobenius norm itself; the penalty is its square")
    return report(False, "per image: sum over units i of (h_i (1 - h_i))^2 times sum over pixels of W_ij^2; "
                         "then average over the images (not the sum)")


def check_direction(model, x, v):
    """v: an input direction (64 numbers) along which the code of x changes fastest."""
    problem = _check_image(x)
    if problem:
        return report(False, problem)
    if not hasattr(model, "encode"):
        return report(False, f"pass the model first, got {type(model).__name__}")
    if not isinstance(v, torch.Tensor) or v.numel() != x[0].numel():
        return report(False, f"v should be a tensor with {x[0].numel()} numbers (one per pixel)")
    jac = _true_jacobian(model, x)
    v = v.detach().cpu().reshape(-1).to(jac.dtype)
    if float(v.norm()) == 0:
        return report(False, "v is all zeros: a direction needs a nonzero length")
    gain = float((jac @ v).norm() / v.norm())
    top = float(torch.linalg.svdvals(jac)[0])
    if gain >= 0.99 * top:
        return report(True, "", "that is the top right-singular vector: the code's most sensitive direction")
    return report(False, f"along your v the code moves {gain / top:.0%} as fast as it can: take the first row of Vh "
                         "from torch.linalg.svd(J), not a column of U (those live in code space)")
