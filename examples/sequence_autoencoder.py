"""Tutorial: a sequence autoencoder that learns to rebuild random digit strings.

No labels here: the model's target is its own input. The encoder squeezes a digit
string of 3 to 7 digits into one vector (the *code*), and the decoder has to rebuild
every digit, and where the string ends, from that vector alone. How often it manages
is the reconstruction accuracy, per digit and per whole string.

    python examples/sequence_autoencoder.py                 # GRU, about a minute on a CPU
    python examples/sequence_autoencoder.py --cell lstm --epochs 30
"""

import argparse

import keras

from seqtasks.models.autoencoder import (
    build_sequence_autoencoder,
    encoder_of,
    reconstruction_accuracy,
)
from seqtasks.data.memory import random_sequences

DIGITS = "0123456789"  # token id i + 1 is the digit DIGITS[i]; id 0 is padding


def show(ids):
    return "".join(DIGITS[i - 1] for i in ids if i)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--min-length", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    # 1. Data: random digit strings, right-padded with 0. Train and test are drawn with
    #    different seeds, so the test strings are (almost all) new to the model.
    vocab_size = len(DIGITS) + 1
    draw = lambda n, seed: random_sequences(n, args.min_length, args.max_length, vocab_size, seed)
    train, test = draw(args.samples, args.seed), draw(1000, args.seed + 1)

    # 2. The model: embedding -> encoder -> code -> decoder -> one softmax per position.
    model = build_sequence_autoencoder(vocab_size, args.max_length, cell=args.cell,
                                       units=args.units)
    model.compile(optimizer=keras.optimizers.Adam(3e-3, global_clipnorm=1.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    # 3. Train: the input is also the target.
    model.fit(train, train, batch_size=64, epochs=args.epochs, validation_split=0.1, verbose=2)

    # 4. Evaluate on unseen strings, and look at a few.
    accuracy = reconstruction_accuracy(model, test)
    print(f"test token accuracy {accuracy['token_accuracy']:.3f}, "
          f"whole-string accuracy {accuracy['sequence_accuracy']:.3f}")
    rebuilt = model.predict(test[:5], verbose=0).argmax(-1)
    for original, copy in zip(test[:5], rebuilt):
        print(f"  {show(original):>8} -> {show(copy):<8}")
    codes = encoder_of(model).predict(test[:5], verbose=0)
    print(f"each string is held in a code of {codes.shape[1]} numbers")
    return accuracy


if __name__ == "__main__":
    main()
