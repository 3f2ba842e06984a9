"""The `seqtasks` command line. Errors in input become one line and exit code 2.

Example:

    seqtasks run sentiment --epochs 3 --out runs/sentiment
    seqtasks tune sentiment --tuner hyperband --epochs 9 --max-trials 20
    seqtasks generate --model runs/generation --prompt "The " --length 200
    seqtasks translate --model runs/translation "the 3rd of March 2021"
    seqtasks diagnose gradients --cell elman,lstm,gru --length 100
    seqtasks demo --cells lstm,gru --epochs 3
"""

import argparse
import importlib
import json
import sys
from pathlib import Path

from seqtasks.errors import SeqtasksError
from seqtasks.recipe import non_negative_float, positive_int

RECIPES = ("sentiment", "tagging", "generation", "translation")


def _run(args):
    from seqtasks.recipe import run_main

    module = importlib.import_module(f"seqtasks.recipes.{args.recipe}")
    return run_main(module.main, args.recipe_args, prog=f"seqtasks run {args.recipe}")


def _tune(args):
    from seqtasks.tuning.command import main as tune

    return tune(args.recipe, args.tune_args)


def _generate(args):
    from seqtasks.decoding.sampling import generate_from_run

    text = generate_from_run(args.model, args.prompt, length=args.length,
                             temperature=args.temperature, top_k=args.top_k, seed=args.seed)
    print(args.prompt + text)
    return 0


def _translate(args):
    from seqtasks.models.translator import translate_texts

    texts = args.text or [line.rstrip("\n") for line in sys.stdin]
    for translation in translate_texts(args.model, texts, beam_size=args.beam_size):
        print(translation)
    return 0


def _diagnose_gradients(args):
    from seqtasks.analysis.diagnostics import run_gradient_diagnosis

    run_gradient_diagnosis(cells=args.cell.split(","), length=args.length, out_dir=args.out,
                           train_steps=args.train_steps, seed=args.seed, units=args.units)
    print("|dL_T/dh_1| / |dL_T/dh_T| (smaller = gradients vanish over time):")
    print((Path(args.out) / "decay_ratios.json").read_text())
    print(f"gradient_flow.csv, gradient_flow.png, spectral_radius.json, clipping.csv in {args.out}")
    return 0


def _demo(args):
    from seqtasks.demo import run_demo

    results = run_demo(cells=args.cells.split(","), epochs=args.epochs, samples=args.samples,
                       seed=args.seed, verbose=2)
    print(json.dumps(results, indent=2))
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="seqtasks", description="Recurrent sequence models.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a recipe (options: seqtasks run NAME --help)",
                              add_help=False)
    run.add_argument("recipe", choices=RECIPES)
    run.add_argument("recipe_args", nargs=argparse.REMAINDER)
    run.set_defaults(handler=_run)

    tune = commands.add_parser(
        "tune", help="hyperparameter search of a recipe (options: seqtasks tune NAME --help)",
        add_help=False)
    tune.add_argument("recipe", choices=RECIPES)
    tune.add_argument("tune_args", nargs=argparse.REMAINDER)
    tune.set_defaults(handler=_tune)

    generate = commands.add_parser("generate", help="sample text from a trained generation run")
    generate.add_argument("--model", type=Path, required=True,
                          help="run folder of `seqtasks run generation`")
    generate.add_argument("--prompt", default="")
    generate.add_argument("--length", type=positive_int, default=200)
    generate.add_argument("--temperature", type=non_negative_float, default=0.8,
                          help="0 is greedy; higher is more random")
    generate.add_argument("--top-k", type=positive_int, default=None,
                          help="sample only among the k most likely tokens")
    generate.add_argument("--seed", type=int, default=None)
    generate.set_defaults(handler=_generate)

    translate = commands.add_parser("translate", help="translate with a trained translation run")
    translate.add_argument("--model", type=Path, required=True,
                           help="run folder of `seqtasks run translation`")
    translate.add_argument("--beam-size", type=positive_int, default=4,
                           help="1 is greedy decoding")
    translate.add_argument("text", nargs="*", help="sentences (default: one per line on stdin)")
    translate.set_defaults(handler=_translate)

    diagnose = commands.add_parser("diagnose", help="diagnostics of recurrent cells")
    what = diagnose.add_subparsers(dest="diagnostic", required=True)
    gradients = what.add_parser(
        "gradients", help="norm of dL_T/dh_k over time steps k, vanishing and exploding")
    gradients.add_argument("--cell", default="elman,lstm,gru",
                           help="comma-separated cell names (see seqtasks.cells.CELLS)")
    gradients.add_argument("--length", type=positive_int, default=100)
    gradients.add_argument("--units", type=positive_int, default=32)
    gradients.add_argument("--train-steps", type=int, default=200,
                           help="training steps on the adding problem before measuring again")
    gradients.add_argument("--seed", type=int, default=0)
    gradients.add_argument("--out", default="runs/gradients")
    gradients.set_defaults(handler=_diagnose_gradients)

    demo = commands.add_parser("demo", help="train small classifiers with seqtasks cells")
    demo.add_argument("--cells", default="elman,lstm,gru",
                      help="comma-separated cell names (see seqtasks.cells.CELLS)")
    demo.add_argument("--epochs", type=int, default=8)
    demo.add_argument("--samples", type=int, default=4000)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SeqtasksError as error:
        print(f"seqtasks: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
