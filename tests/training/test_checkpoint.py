"""Checkpoints: atomic, verified, never overwritten, pruned around the best."""

import json

import pytest
import torch

from rnnlab.training import checkpoint as ckpt


def _tensors(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"model.weight": torch.randn(3, 4, generator=g), "rng.torch": torch.get_rng_state()}


def test_save_then_load_round_trips(tmp_path):
    path = ckpt.save(tmp_path, 12, _tensors(), {"data_position": 7, "metrics": {"loss": 0.5}})
    assert path == tmp_path / "step-00000012"
    loaded = ckpt.load(path)
    assert loaded.step == 12 and loaded.state["data_position"] == 7 and loaded.state["metrics"] == {"loss": 0.5}
    for name, value in _tensors().items():
        assert torch.equal(loaded.tensors[name], value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000012"]  # no temporary left behind


def test_an_existing_checkpoint_is_never_overwritten(tmp_path):
    ckpt.save(tmp_path, 5, _tensors(0), {})
    with pytest.raises(ckpt.CheckpointError, match=r"step-00000005 exists already; not overwritten"):
        ckpt.save(tmp_path, 5, _tensors(1), {})
    assert torch.equal(ckpt.load(tmp_path / "step-00000005").tensors["model.weight"], _tensors(0)["model.weight"])


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_damaged_checkpoints_are_detected_with_their_path(tmp_path, damage):
    path = ckpt.save(tmp_path, 3, _tensors(), {"a": 1})
    target = path / "tensors.safetensors"
    data = target.read_bytes()
    if damage == "flip":
        target.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    else:
        target.unlink()
    with pytest.raises(ckpt.CheckpointError, match=rf"checkpoint {path} is (corrupted|incomplete): tensors"):
        ckpt.load(path)


def test_load_latest_falls_back_and_says_so(tmp_path):
    ckpt.save(tmp_path, 1, _tensors(1), {})
    ckpt.save(tmp_path, 2, _tensors(2), {})
    (tmp_path / "step-00000002" / "state.json").write_text("{}")  # changed behind the manifest's back
    (tmp_path / ".step-00000003.tmp-99").mkdir()  # a write that a crash interrupted
    warnings = []
    loaded = ckpt.load_latest(tmp_path, warn=warnings.append)
    assert loaded.step == 1
    assert len(warnings) == 1 and "step-00000002 is corrupted: state.json" in warnings[0]
    assert "falling back to the previous checkpoint" in warnings[0]
    assert (tmp_path / "step-00000002").exists()  # left for inspection
    assert ckpt.load_latest(tmp_path / "nothing-here") is None


def test_prune_keeps_the_newest_and_the_best(tmp_path):
    for step in (10, 20, 30, 40, 50):
        ckpt.save(tmp_path, step, _tensors(step), {})
    ckpt.mark_best(tmp_path, 20)
    assert ckpt.best_step(tmp_path) == 20
    assert ckpt.prune(tmp_path, keep=2) == [10, 30]
    assert ckpt.steps(tmp_path) == [20, 40, 50]
    ckpt.mark_best(tmp_path, 50)  # replaced atomically
    assert ckpt.best_step(tmp_path) == 50 and ckpt.load(tmp_path / "best").step == 50
    with pytest.raises(ValueError, match="keep must be at least 1; got 0"):
        ckpt.prune(tmp_path, keep=0)


@pytest.mark.parametrize("make", [lambda p: torch.optim.Adam(p, lr=0.01),
                                  lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.9, centered=True),
                                  lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)],
                         ids=["adam", "torch_rmsprop_centered", "sgd_momentum"])
def test_optimizer_state_round_trips_exactly(tmp_path, make):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    optimizer = make(model.parameters())
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(5, 4)).pow(2).sum().backward()
        optimizer.step()
    tensors, plain = ckpt.optimizer_to_flat(optimizer)
    path = ckpt.save(tmp_path, 3, tensors, {"optimizer": plain})
    json.dumps(plain)  # JSON-serialisable
    loaded = ckpt.load(path)

    twin_model = torch.nn.Linear(4, 2)
    twin_model.load_state_dict(model.state_dict())
    twin = make(twin_model.parameters())
    ckpt.optimizer_from_flat(twin, loaded.tensors, loaded.state["optimizer"])
    x = torch.randn(5, 4)
    for m, opt in ((model, optimizer), (twin_model, twin)):
        opt.zero_grad()
        m(x).pow(2).sum().backward()
        opt.step()
    for a, b in zip(model.parameters(), twin_model.parameters()):
        assert torch.equal(a, b)  # bit-identical continuation
