"""Exercise checks of 02_sparse: the solutions pass, typical mistakes get a hint."""
import torch

from aeteach.exercises import sparse as ex


def _codes():
    g = torch.Generator().manual_seed(0)
    return torch.relu(torch.randn(50, 32, generator=g) - 1.0)  # (50, 32), about 16% active


def test_active_fraction(capsys):
    c = _codes()
    frac = (c.abs() > 1e-3).float().mean().item()
    assert ex.check_active_fraction(c, frac)
    assert not ex.check_active_fraction(c, frac * c.shape[1])
    assert "per example" in capsys.readouterr().out
    assert not ex.check_active_fraction(c, 1 - frac)
    assert "inactive" in capsys.readouterr().out
    assert not ex.check_active_fraction(c.numpy(), frac)


def test_kl_penalty(capsys):
    g = torch.Generator().manual_seed(1)
    c = torch.sigmoid(torch.randn(40, 16, generator=g) - 2)  # (40, 16) in (0, 1)
    r = c.mean(0)
    rho = 0.05
    per_unit = rho * torch.log(rho / r) + (1 - rho) * torch.log((1 - rho) / (1 - r))
    assert ex.check_kl_penalty(c, rho, per_unit.sum().item())
    assert not ex.check_kl_penalty(c, rho, per_unit.mean().item())
    assert "averaged over units" in capsys.readouterr().out
    assert not ex.check_kl_penalty(c, rho, 2 * per_unit.sum().item())
    assert not ex.check_kl_penalty(c, 1.5, per_unit.sum().item())


def test_topk(capsys):
    def good(a, k):
        top = a.topk(k, dim=1)
        return torch.zeros_like(a).scatter(1, top.indices, top.values)

    def relu_topk(a, k):
        return good(a, k).clamp(min=0)

    def first_k(a, k):
        out = torch.zeros_like(a)
        out[:, :k] = a[:, :k]
        return out

    assert ex.check_topk(good)
    assert not ex.check_topk(relu_topk)
    assert "negative" in capsys.readouterr().out
    assert not ex.check_topk(first_k)
    assert "largest" in capsys.readouterr().out
    assert not ex.check_topk(lambda a, k: a.topk(k, dim=1).values)  # wrong shape
    assert not ex.check_topk(good(torch.ones(2, 3), 1))
    assert not ex.check_topk(lambda a, k: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
