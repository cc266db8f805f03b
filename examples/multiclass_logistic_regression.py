"""Multiclass logistic regression, as in the notes:  z = Wx + b,  y = softmax(z),  L = −Σ_k t_k log y_k,
on three Gaussian blobs, trained with minibatch SGD through `chainrule.train.fit`."""

import chainrule.nn as nn
import chainrule.optim as optim
from chainrule.data import load_dataset
from chainrule.train import fit


def main(epochs: int = 20, seed: int = 0, verbose: bool = True) -> float:
    split = load_dataset("blobs", seed=seed)
    model = nn.Linear(split.n_features, split.n_outputs, rng=seed)           # z = x @ W + b
    history = fit(model, nn.softmax_cross_entropy, optim.SGD(model.parameters(), lr=0.5),
                  (split.x_train, split.y_train), (split.x_test, split.y_test), epochs=epochs, batch_size=16,
                  seed=seed, progress=False)
    accuracy = history.epochs[-1]["test_accuracy"]
    if verbose:
        print(f"test loss {history.epochs[-1]['test_loss']:.4f}, test accuracy {accuracy:.1%}")
    return accuracy


if __name__ == "__main__":
    main()
