import numpy as np
import torch

from sk_mtl._net import BatchIterator, TensorBatchDataset


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
