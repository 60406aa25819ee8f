"""PairForce (baselines/pairforce): the properties its docstring claims, on synthetic FCC Al (no data build)."""

import pytest
import torch

from baselines.pairforce.model import PairForce
from gnnbench.train.config import build_model, load_train_config
from gnnbench.units import PS_PER_FS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit is deprecated upstream

F64 = torch.float64
A0 = 4.05


def fcc_inputs(n_cells=3, systems=2, seed=0):
    """Two 108-atom FCC Al systems with thermal noise (0.08 Å) and velocities (~5 Å/ps), Δt 10 and 5 fs."""
    gen = torch.Generator().manual_seed(seed)
    grid = torch.stack(torch.meshgrid(*(torch.arange(n_cells) for _ in range(3)), indexing="ij"), -1).reshape(-1, 3)
    basis = torch.tensor([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]], dtype=F64)
    lattice = ((grid.to(F64)[:, None] + basis[None]) * A0).reshape(-1, 3)
    n = lattice.shape[0]
    positions = torch.cat([lattice + 0.08 * torch.randn(n, 3, generator=gen, dtype=F64) for _ in range(systems)])
    return dict(positions=positions,
                velocities=5.0 * torch.randn(systems * n, 3, generator=gen, dtype=F64),
                species=torch.full((systems * n,), 13, dtype=torch.long),
                batch=torch.arange(systems).repeat_interleave(n),
                cell=torch.eye(3, dtype=F64).expand(systems, 3, 3) * n_cells * A0,
                descriptors=torch.zeros(systems * n, 5, dtype=F64),
                dt_fs=torch.tensor([10.0, 5.0][:systems], dtype=F64),
                temperature_K=torch.full((systems,), 300.0, dtype=F64))


def trained_like(seed=0) -> PairForce:
    """A PairForce whose last layer is random (as after training), in float64 for exact comparisons."""
    torch.manual_seed(seed)
    model = PairForce(cutoff=5.5).double()
    torch.nn.init.normal_(model.pair[-1].weight, std=0.5)
    torch.nn.init.normal_(model.pair[-1].bias, std=0.5)
    return model.eval()


def test_untrained_model_is_exactly_constant_velocity():
    inputs = fcc_inputs()
    out = PairForce(cutoff=5.5).double()(**inputs)
    dt = inputs["dt_fs"][inputs["batch"]].unsqueeze(-1) * PS_PER_FS
    torch.testing.assert_close(out["positions"], inputs["positions"] + inputs["velocities"] * dt, rtol=0, atol=1e-14)  # rounding only
    assert torch.equal(out["velocities"], inputs["velocities"])


def test_rotation_and_translation_equivariance():
    inputs, model = fcc_inputs(), trained_like()
    out = model(**inputs)
    rotation = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1), dtype=F64))[0]
    shift = torch.tensor([0.3, -1.7, 2.2], dtype=F64)
    moved = dict(inputs, positions=inputs["positions"] @ rotation.T + shift, velocities=inputs["velocities"] @ rotation.T,
                 cell=inputs["cell"] @ rotation.T)
    out_moved = model(**moved)
    assert (out["positions"] - inputs["positions"]).abs().max() > 1e-3  # the corrections are not trivially zero
    torch.testing.assert_close(out_moved["positions"] - moved["positions"], (out["positions"] - inputs["positions"]) @ rotation.T,
                               rtol=0, atol=1e-10)
    torch.testing.assert_close(out_moved["velocities"], out["velocities"] @ rotation.T, rtol=0, atol=1e-10)


def test_permutation_equivariance():
    inputs, model = fcc_inputs(systems=1), trained_like()
    perm = torch.randperm(inputs["positions"].shape[0], generator=torch.Generator().manual_seed(2))
    permuted = dict(inputs, **{k: inputs[k][perm] for k in ("positions", "velocities", "species", "batch", "descriptors")})
    out, out_permuted = model(**inputs), model(**permuted)
    torch.testing.assert_close(out_permuted["positions"], out["positions"][perm], rtol=0, atol=1e-12)
    torch.testing.assert_close(out_permuted["velocities"], out["velocities"][perm], rtol=0, atol=1e-12)


def test_momentum_is_conserved_per_system():
    """Σ_i Δv_i = 0 and Σ_i (Δr_i − v_i Δt) = 0 in each system: the pair terms cancel (Newton's third law)."""
    inputs, model = fcc_inputs(), trained_like()
    out = model(**inputs)
    dt = inputs["dt_fs"][inputs["batch"]].unsqueeze(-1) * PS_PER_FS
    velocity_change = out["velocities"] - inputs["velocities"]
    position_correction = out["positions"] - inputs["positions"] - inputs["velocities"] * dt
    assert velocity_change.abs().max() > 1e-2
    for b in range(2):
        atoms = inputs["batch"] == b
        assert velocity_change[atoms].sum(0).abs().max() < 1e-10
        assert position_correction[atoms].sum(0).abs().max() < 1e-12


def test_corrections_scale_with_the_stride_as_newton_says():
    """At a fixed geometry the learned position correction is s_r τ² Σ(...), the velocity one s_v τ Σ(...):
    with the Δt features held equal (a model that ignores Δt beyond τ), halving Δt quarters and halves them."""
    inputs, model = fcc_inputs(systems=1), trained_like()
    with torch.no_grad():  # make the coefficients independent of Δt: zero the weights reading RBF(Δt) and τ
        model.pair[0].weight[:, -9:] = 0.0
    corrections = []
    for dt in (10.0, 5.0):
        step = dict(inputs, dt_fs=torch.tensor([dt], dtype=F64))
        out = model(**step)
        ballistic = inputs["velocities"] * dt * PS_PER_FS
        corrections.append((out["positions"] - inputs["positions"] - ballistic, out["velocities"] - inputs["velocities"]))
    torch.testing.assert_close(corrections[1][0], corrections[0][0] / 4, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(corrections[1][1], corrections[0][1] / 2, rtol=1e-12, atol=1e-15)


def test_scripts_and_follows_the_config():
    config = load_train_config("baselines/pairforce/mini.yaml")
    model = build_model(config)
    assert isinstance(model, PairForce)
    scripted = torch.jit.script(trained_like())
    inputs = fcc_inputs()
    torch.testing.assert_close(scripted(**inputs)["positions"], trained_like()(**inputs)["positions"], rtol=0, atol=1e-12)
    parameters = sum(p.numel() for p in model.parameters())
    assert 5_000 < parameters < 30_000, parameters  # small: the "10 CPU-minutes" family


def shadow_trained_like(seed=0):
    from baselines.pairforce.shadow import ShadowVerlet

    torch.manual_seed(seed)
    model = ShadowVerlet(cutoff=5.5).double()
    for last in (model.embedding_energy[-1], model.pair_energy[-1]):
        torch.nn.init.normal_(last.weight, std=0.05)
        torch.nn.init.normal_(last.bias, std=0.05)
    return model.eval()


def test_shadow_verlet_is_time_reversible_and_conserves_momentum_when_scripted():
    """One learned-force Verlet step, then one with the velocities reversed, returns to the start (rounding only)."""
    from baselines.pairforce.shadow import ShadowVerlet

    inputs = fcc_inputs()
    untrained = ShadowVerlet(cutoff=5.5).double()(**inputs)
    assert torch.equal(untrained["velocities"], inputs["velocities"])
    model = torch.jit.script(shadow_trained_like())
    with torch.no_grad():  # as the scorer calls it: the model turns gradients on for its forces itself
        out = model(**inputs)
        back = model(**dict(inputs, positions=out["positions"], velocities=-out["velocities"]))
    assert (out["velocities"] - inputs["velocities"]).abs().max() > 1e-3  # it does move the velocities
    torch.testing.assert_close(back["positions"], inputs["positions"], rtol=0, atol=1e-10)
    torch.testing.assert_close(-back["velocities"], inputs["velocities"], rtol=0, atol=1e-9)
    change = out["velocities"] - inputs["velocities"]
    for b in range(2):
        assert change[inputs["batch"] == b].sum(0).abs().max() < 1e-9
