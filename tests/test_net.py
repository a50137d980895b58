import copy

import numpy as np
import torch

from sk_mtl._engine._batches import BatchIterator, TensorBatchDataset


def test_batches_cover_every_row_once_per_epoch():
    X = torch.arange(10.0).unsqueeze(1)
    y = torch.arange(10).unsqueeze(1)
    ds = TensorBatchDataset(X, y, torch.ones(10, 1))
    it = BatchIterator(ds, batch_size=4, shuffle=True, generator=torch.Generator())
    assert len(it) == 3
    for _ in range(2):
        batches = list(it)
        assert [len(b[0]) for b in batches] == [4, 4, 2]
        rows = torch.cat([b[0][:, 0] for b in batches])
        assert sorted(rows.tolist()) == list(range(10))
        # X, y and w stay aligned
        for Xb, (yb, _) in batches:
            assert torch.equal(Xb[:, 0].long(), yb[:, 0])


def test_batches_grow_from_the_passes_of_the_growth():
    ds = TensorBatchDataset(torch.arange(20.0).unsqueeze(1))
    it = BatchIterator(
        ds, 4, shuffle=True, generator=torch.Generator(), growth=((2, 8), (4, 16))
    )
    sizes = []
    for _ in range(5):
        expected = len(it)
        batches = [len(b[0]) for b in it]
        assert len(batches) == expected and sum(batches) == 20
        sizes.append(batches[0])
    assert sizes == [4, 8, 8, 16, 16]
    assert [len(b[0]) for b in BatchIterator(ds, 4)] == [4] * 5  # no growth


def test_shuffling_is_seeded_and_prediction_order_kept():
    ds = TensorBatchDataset(torch.arange(20.0).unsqueeze(1))

    def order(seed):
        gen = torch.Generator().manual_seed(seed)
        it = BatchIterator(ds, 8, shuffle=True, generator=gen)
        return torch.cat([b[0][:, 0] for b in it]).tolist()

    assert order(0) == order(0) and order(0) != order(1)
    plain = torch.cat([b[0][:, 0] for b in BatchIterator(ds, 8)]).tolist()
    assert plain == list(range(20))


def test_dict_inputs_are_indexed_key_by_key():
    X = {"ids": torch.arange(12).reshape(6, 2), "mask": torch.ones(6, 2)}
    ds = TensorBatchDataset(X, torch.zeros(6, 1).long(), torch.ones(6, 1))
    assert len(ds) == 6
    Xb, (yb, wb) = ds[np.array([4, 1])]
    assert Xb["ids"].tolist() == [[8, 9], [2, 3]] and Xb["mask"].shape == (2, 2)


class _SingleOutput(torch.nn.Module):
    """A one-task network returning a plain tensor, as plain skorch expects."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, X):
        return self.net(X)[0]


def test_batched_data_path_matches_plain_skorch():
    # The speed overrides of BatchedDataPathMixin must not change what skorch
    # computes: full-batch training (the shuffling order then cannot matter) of
    # the same network from the same weights gives the same losses and weights.
    from skorch import NeuralNet
    from skorch.dataset import Dataset

    from sk_mtl._engine._net import MultiTaskNet
    from sk_mtl.losses import MultiTaskLoss
    from sk_mtl.modules import MLP, MultiHeadNetwork

    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    X_valid = rng.normal(size=(32, 5)).astype(np.float32)
    y_valid = (X_valid[:, 0] > 0).astype(np.int64)
    torch.manual_seed(0)
    module = MultiHeadNetwork(MLP(5, (8,)), [2])
    ours_module = copy.deepcopy(module)
    options = dict(optimizer=torch.optim.Adam, lr=0.05, max_epochs=6, verbose=0)

    plain = NeuralNet(
        _SingleOutput(module),
        criterion=torch.nn.CrossEntropyLoss,
        batch_size=64,
        train_split=lambda ds, y=None: (ds, Dataset(X_valid, y_valid)),
        **options,
    )
    plain.fit(X, y)

    valid = TensorBatchDataset(
        torch.from_numpy(X_valid), torch.from_numpy(y_valid[:, None]), None
    )
    ours = MultiTaskNet(
        ours_module,
        criterion=MultiTaskLoss(1),
        batch_size=64,
        train_split=lambda ds, y=None: (ds, valid),
        **options,
    )
    ours.fit(TensorBatchDataset(torch.from_numpy(X), torch.from_numpy(y[:, None])))

    for key in ("train_loss", "valid_loss"):
        np.testing.assert_allclose(
            ours.history[:, key], plain.history[:, key], rtol=1e-5, atol=1e-6
        )
    for a, b in zip(ours_module.parameters(), module.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_training_epoch_lists_the_parameters_once_and_honours_freezing():
    # The step reads the shared / other split listed at the start of the epoch
    # (after on_epoch_begin), filtered by requires_grad at each step: a trunk
    # frozen by a callback in on_epoch_begin gets no update that epoch.
    from skorch.callbacks import Callback

    from sk_mtl._engine._net import MultiTaskNet
    from sk_mtl.losses import MultiTaskLoss
    from sk_mtl.modules import MLP, MultiHeadNetwork

    class FreezeTrunkAtEpoch2(Callback):
        def on_epoch_begin(self, net, **kwargs):
            frozen = len(net.history) == 2
            for p in net.module_.trunk.parameters():
                p.requires_grad_(not frozen)

        def on_epoch_end(self, net, **kwargs):
            trunk = [p.detach().clone() for p in net.module_.trunk.parameters()]
            net.history.record("trunk", trunk)

    class CountingNetwork(MultiHeadNetwork):
        listed = 0

        def shared_parameters(self):
            CountingNetwork.listed += 1
            return super().shared_parameters()

    rng = np.random.RandomState(0)
    X = torch.from_numpy(rng.normal(size=(64, 5)).astype(np.float32))
    y = torch.from_numpy((X[:, :1] > 0).long().numpy())
    torch.manual_seed(0)
    net = MultiTaskNet(
        CountingNetwork(MLP(5, (8,)), [2]),
        criterion=MultiTaskLoss(1),
        optimizer=torch.optim.SGD,
        lr=0.1,
        batch_size=8,
        max_epochs=3,
        train_split=None,
        callbacks=[FreezeTrunkAtEpoch2()],
        verbose=0,
    )
    net.initialize()
    CountingNetwork.listed = 0
    net.partial_fit(TensorBatchDataset(X, y))
    assert CountingNetwork.listed == 3  # once per epoch, not once per batch (24)
    first, second, third = net.history[:, "trunk"]
    assert all(torch.equal(a, b) for a, b in zip(first, second))  # frozen
    assert not all(torch.equal(a, b) for a, b in zip(second, third))
    assert "_epoch_parameters" not in net.__dict__  # nothing kept after the fit


def test_a_fitted_net_pickles_to_the_same_bytes_and_shuffles_on_after_loading():
    # torch pickles a Generator through a copy of its state whose memory address
    # it writes: the net pickles the state's bytes instead.
    import pickle

    from sk_mtl import MultiTaskClassifier

    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    net = (
        MultiTaskClassifier((8,), max_epochs=2, n_bags=1, random_state=0).fit(X, y).net_
    )
    first = pickle.dumps(net)
    _held = [torch.empty(5056, dtype=torch.uint8) for _ in range(4)]  # other addresses
    assert pickle.dumps(net) == first
    loaded = pickle.loads(first)
    assert isinstance(loaded.shuffle_generator_, torch.Generator)
    expected = torch.randperm(50, generator=net.shuffle_generator_)
    assert torch.equal(
        torch.randperm(50, generator=loaded.shuffle_generator_), expected
    )
