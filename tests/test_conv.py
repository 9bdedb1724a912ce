"""Conv and U-Net models: they train at every seed on real 28x28 digits, and take images of any size and channel count."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import aeteach as ae


@pytest.fixture(scope="module")
def mnist():
    """A slice of the embedded real MNIST digits (28x28), and the error of the best constant prediction."""
    train, test = ae.load_dataset("mnist5k").subset(1000), ae.load_dataset("mnist5k", "test").subset(300)
    return train, test, float(((test.x - train.x.mean()) ** 2).mean())


@pytest.mark.parametrize("arch, channels, epochs, most", [("conv", (16, 32), 3, 0.6), ("unet", (8, 16), 2, 0.3)])
def test_conv_models_train_at_every_seed(mnist, arch, channels, epochs, most):
    # before the output started at the data's mean, seeds 0, 1, 2 and 4 of the conv model (and 4 of 5 U-Nets)
    # predicted black from the first epoch: test MSE 0.1119, above the constant prediction's 0.0948
    train, test, constant = mnist
    for seed in range(5):
        model = ae.make_model("undercomplete", (1, 28, 28), 16, arch=arch, channels=channels, seed=seed)
        history = ae.fit(model, train, test, epochs=epochs, seed=seed, device="cpu", progress=False)
        assert history.test["recon"][-1] < most * constant, (arch, seed, history.test["recon"])


def test_the_output_starts_at_the_first_batch_mean_once():
    model = ae.make_model("undercomplete", (1, 12, 12), 4, arch="conv")
    x = torch.rand(16, 1, 12, 12) * 0.2  # dark images, mean 0.1
    with torch.no_grad():
        model.loss_terms(x)  # evaluation (no gradients) leaves the model as it is
    assert not model.output_started
    model.loss_terms(x)
    assert model.output_started
    assert torch.sigmoid(model.decoder[-1].bias).item() == pytest.approx(float(x.mean()), rel=1e-4)
    model.loss_terms(x + 0.5)
    assert torch.sigmoid(model.decoder[-1].bias).item() == pytest.approx(float(x.mean()), rel=1e-4)
    seg = ae.make_model("segmentation", (1, 8, 8), 4)
    y = torch.zeros(2, 8, 8, dtype=torch.long)
    y[:, :2] = 1  # a quarter of the pixels are class 1, none are 2 or 3
    seg.loss_terms(torch.rand(2, 1, 8, 8), y)
    assert torch.allclose(seg.unet.out.bias.exp()[:2], torch.tensor([0.75, 0.25]))


def _faces():
    from skimage.data import lfw_subset
    x = torch.from_numpy(lfw_subset().astype(np.float32))[:, None]  # (200, 1, 25, 25)
    return ae.Dataset(x[:160], None, "faces"), ae.Dataset(x[160:], None, "faces")


def _photos(size):
    from skimage import data
    imgs = [torch.from_numpy(getattr(data, name)()).permute(2, 0, 1)[None].float() / 255
            for name in ("astronaut", "chelsea", "coffee", "rocket")]
    return torch.cat([F.interpolate(i, size=size, mode="area") for i in imgs])  # (4, 3, 75, 100)


@pytest.mark.parametrize("arch", ["conv", "unet"])
def test_any_image_size_trains_and_reconstructs_to_its_shape(arch):
    train, test = _faces()  # a teacher's 25x25 faces
    model = ae.make_model("denoising", train.shape, 16, arch=arch, channels=(8, 16), seed=0)
    history = ae.fit(model, train, test, epochs=15, device="cpu", progress=False)
    constant = float(((test.x - train.x.mean()) ** 2).mean())
    assert model(test.x).shape == test.x.shape and history.test["recon"][-1] < 0.5 * constant
    photos = _photos((75, 100))  # RGB, neither side a multiple of 4
    model = ae.make_model("undercomplete", photos.shape[1:], 8, arch=arch, channels=(8, 16))
    assert model(photos).shape == photos.shape
    history = ae.fit(model, photos, epochs=30, batch_size=4, device="cpu", progress=False)
    assert history.train["recon"][-1] < 0.5 * history.train["recon"][0]


@pytest.mark.parametrize("kind, arch", [("undercomplete", "conv"), ("vae", "conv"), ("inpainting", "unet"),
                                        ("segmentation", "unet"), ("contractive", "conv")])
def test_odd_sizes_keep_their_shape_in_every_method(kind, arch):
    model = ae.make_model(kind, (2, 7, 9), 4, arch=arch)
    x = torch.rand(3, 2, 7, 9)
    out = model(x)
    assert out.shape == ((3, model.config.n_classes, 7, 9) if model.needs_target else x.shape)
    y = torch.randint(0, model.config.n_classes, (3, 7, 9)) if model.needs_target else None
    terms = model.loss_terms(x, y)
    terms["total"].backward()
    assert all(torch.isfinite(v) for v in terms.values())
    code = model.encode(x)
    assert code.shape == ((3, 4, 2, 3) if model.config.spatial_code else (3, 4))  # ceil(7 / 4) x ceil(9 / 4)
    if not model.config.spatial_code:
        assert model.decode(code).shape == x.shape


def test_padding_adds_no_edge():
    # the border is replicated: a flat image stays flat, so the model sees no artificial edge to reconstruct
    model = ae.make_model("undercomplete", (1, 7, 9), 4, arch="conv")
    seen = []
    model.encoder[0].register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    model(torch.full((2, 1, 7, 9), 0.7))
    assert seen[0].shape == (2, 1, 8, 12) and torch.all(seen[0] == 0.7)
