"""Exercise checks of 02_sparse: the solutions pass; typical mistakes and lazy answers get a hint."""
import torch

from aeteach.exercises import sparse as ex


def test_active_fraction(capsys):
    def good(c, threshold):
        return (c.abs() > threshold).float().mean().item()

    assert ex.check_active_fraction(good)
    assert not ex.check_active_fraction(lambda c, t: (c.abs() > t).sum(1).float().mean())
    assert "per example" in capsys.readouterr().out
    assert not ex.check_active_fraction(lambda c, t: 1 - good(c, t))
    assert "inactive" in capsys.readouterr().out
    assert not ex.check_active_fraction(lambda c, t: (c > t).float().mean())  # forgot the absolute value
    assert ".abs()" in capsys.readouterr().out
    assert not ex.check_active_fraction(lambda c, t: good(c, 1e-3))  # ignores the threshold it is given
    # lazy answers: a number (e.g. one printed earlier), a function of nothing, a function returning a constant
    assert not ex.check_active_fraction(0.132)
    assert not ex.check_active_fraction(lambda c, t: 0.132)
    assert not ex.check_active_fraction(lambda c, t: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_kl_penalty(capsys):
    def good(c, rho):
        r = c.mean(0)
        return (rho * torch.log(rho / r) + (1 - rho) * torch.log((1 - rho) / (1 - r))).sum()

    assert ex.check_kl_penalty(good)
    assert not ex.check_kl_penalty(lambda c, rho: good(c, rho) / c.shape[1])
    assert "averaged over units" in capsys.readouterr().out
    assert not ex.check_kl_penalty(lambda c, rho: c.shape[1] * good(c.reshape(-1, 1), rho))  # one pooled mean
    assert "one mean per unit" in capsys.readouterr().out
    assert not ex.check_kl_penalty(lambda c, rho: good(c, 0.05))  # ignores the rho it is given
    assert not ex.check_kl_penalty(lambda c, rho: 0.094)  # a number printed earlier
    assert not ex.check_kl_penalty(0.094)
    assert not ex.check_kl_penalty(lambda c, rho: good(c, rho).repeat(2))  # not one number


def test_topk(capsys):
    def good(a, k):
        top = a.topk(k, dim=1)
        return torch.zeros_like(a).scatter(1, top.indices, top.values)

    def relu_topk(a, k):  # Gao et al. 2024
        return good(a, k).clamp(min=0)

    def first_k(a, k):
        out = torch.zeros_like(a)
        out[:, :k] = a[:, :k]
        return out

    assert ex.check_topk(good)
    assert not ex.check_topk(relu_topk)
    assert "Gao et al." in capsys.readouterr().out
    assert not ex.check_topk(first_k)
    assert "largest" in capsys.readouterr().out
    assert not ex.check_topk(lambda a, k: a)  # ignores k
    assert not ex.check_topk(lambda a, k: a.topk(k, dim=1).values)  # wrong shape
    assert not ex.check_topk(good(torch.ones(2, 3), 1))
    assert not ex.check_topk(lambda a, k: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_kl_question(capsys):
    assert ex.check_kl_question("b")
    assert ex.check_kl_question(" (B) ")
    for wrong in ("a", "c"):
        assert not ex.check_kl_question(wrong)
        assert "NOT YET" in capsys.readouterr().out
    assert not ex.check_kl_question("d")
    assert "one letter" in capsys.readouterr().out
