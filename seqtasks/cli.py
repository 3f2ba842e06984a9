"""The `seqtasks` command line, derived from the task configs. Bad input: one line, exit 2.

Example:

    seqtasks run sentiment --epochs 3 --out runs/sentiment
    seqtasks predict runs/sentiment reviews.txt
    seqtasks tune sentiment --tuner hyperband --epochs 9 --max-trials 20
    seqtasks generate --model runs/generation --prompt "The " --length 200
    seqtasks translate --model runs/translation "the 3rd of March 2021"
    seqtasks corpus ../shared/data/tinyshakespeare/input.txt --tokens char
    seqtasks diagnose gradients --cell elman,lstm,gru --length 100
"""

import argparse
import json
import sys
from pathlib import Path

from seqtasks.errors import ConfigError, exit_code
from seqtasks.tasks import TASK_NAMES, get_task
from seqtasks.tasks.config import HelpFormatter, OneLineParser, flag_type
from seqtasks.validation import non_negative_number, positive_int

PREDICT_OPTIONS = ("beam_size", "length", "temperature", "top_k", "seed")


def _run(args):
    from seqtasks.tasks.config import parse_config
    from seqtasks.tasks.runner import run_task

    task = get_task(args.task)
    run_task(task, parse_config(task, args.task_args))
    return 0


def _tune(args):
    from seqtasks.tuning.command import main as tune

    return tune(args.task, args.task_args)


def _read_inputs(source, form, with_heads=False):
    """The inputs of `seqtasks predict`: lines of a file or stdin, or CoNLL-U sentences
    (their words; `with_heads`: ``(words, heads)`` pairs)."""
    if form == "conllu":
        from seqtasks.data.dependencies import read_dependencies
        from seqtasks.data.readers import read_conllu

        if source == "-":
            raise ConfigError("--format conllu reads a file, not stdin")
        if with_heads:
            return [(words, heads) for words, heads, _ in read_dependencies(source)]
        return [tokens for tokens, _ in read_conllu(source)]
    if source == "-":
        return [line.rstrip("\r\n") for line in sys.stdin]
    from seqtasks.data.readers import read_text

    return read_text(source).splitlines()


def _predict(args):
    from seqtasks.tasks import load

    predictor = load(args.run)
    inputs = [item for item in _read_inputs(args.input, args.format,
                                            getattr(predictor, "reads_heads", False)) if item]
    options = {name: getattr(args, name) for name in PREDICT_OPTIONS
               if getattr(args, name) is not None}
    predictor.write(predictor.predict(inputs, **options), sys.stdout)
    return 0


def _generate(args):
    from seqtasks.tasks import load

    [text] = load(args.model).predict([args.prompt], length=args.length,
                                      temperature=args.temperature, top_k=args.top_k,
                                      seed=args.seed)
    print(args.prompt + text)
    return 0


def _translate(args):
    from seqtasks.tasks import load

    translator = load(args.model)
    texts = args.text or [line.rstrip("\r\n") for line in sys.stdin]
    for translation in translator.predict(texts, beam_size=args.beam_size):
        print(translation)
    return 0


def _corpus(args):
    from seqtasks.analysis.corpus import corpus_report, plot_zipf
    from seqtasks.data.readers import read_text
    from seqtasks.data.text import CharTokenizer, WordTokenizer

    tokenizer = CharTokenizer() if args.tokens == "char" else WordTokenizer(lower=False)
    tokens = tokenizer.tokenize(read_text(args.file))
    report = corpus_report(tokens, args.held_out, lm_order=args.order)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_zipf(tokens, out / "zipf.png")
    (out / "corpus.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"{report['tokens']} {args.tokens} tokens, {report['types']} types; "
          f"{report['coverage']:.1%} of the held-out tokens are in the vocabulary")
    for row in report["zipf"]:
        print(f"{row['order']}-grams: {row['types']} types, Zipf alpha {row['alpha']:.2f}")
    for row in report["ngram"]:
        print(f"{row['order']}-gram model (add-k, k={row['k']}): held-out perplexity "
              f"{row['held_out_perplexity']:.2f}")
    print(f"zipf.png and corpus.json in {out}")
    return 0


def _diagnose_gradients(args):
    from seqtasks.analysis.diagnostics import run_gradient_diagnosis

    run_gradient_diagnosis(cells=args.cell.split(","), length=args.length, out_dir=args.out,
                           train_steps=args.train_steps, seed=args.seed, units=args.units,
                           verbose=True)
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


def _task_command(commands, name, handler, what):
    """``seqtasks run|tune TASK [flags]``: the flags are parsed by the task's own parser,
    which ``seqtasks run|tune TASK --help`` shows."""
    command = commands.add_parser(
        name, help=f"{what} (flags: seqtasks {name} TASK --help)", formatter_class=HelpFormatter,
        description=f"{what[0].upper()}{what[1:]}. Tasks: {', '.join(TASK_NAMES)}; "
                    f"`seqtasks {name} TASK --help` lists a task's flags and their defaults.")
    command.add_argument("task", choices=TASK_NAMES, help="the task")
    command.add_argument("task_args", nargs=argparse.REMAINDER, metavar="...",
                         help="the task's flags")
    command.set_defaults(handler=handler)


def _add_predict(commands):
    predict = commands.add_parser(
        "predict", formatter_class=HelpFormatter,
        help="predict with a finished run folder (a run, a recipe's or a search's best/)",
        description="Reads one input per line and writes predictions to stdout: sentiment "
                    "CSV (text,label,probability); tagging token<TAB>tag lines, a blank line "
                    "between sentences; generation and translation one output per line; "
                    "trees CSV (tree,label,probability,polarity).")
    predict.add_argument("run", type=Path, help="the run folder")
    predict.add_argument("input", nargs="?", default="-",
                         help="input file, one text per line (tagging: whitespace-separated "
                              "tokens); - for stdin")
    predict.add_argument("--format", choices=("text", "conllu"), default="text",
                         help="conllu: the sentences of a CoNLL-U file (tagging; "
                              "relations, which reads their heads too)")
    predict.add_argument("--beam-size", type=flag_type("value", int, positive_int), default=None,
                         help="translation: beams (1 is greedy); default: the run's")
    predict.add_argument("--length", type=flag_type("value", int, positive_int), default=None,
                         help="generation: characters to generate (default 200)")
    predict.add_argument("--temperature", type=flag_type("value", float, non_negative_number), default=None,
                         help="generation: 0 is greedy, higher is more random (default 0.8)")
    predict.add_argument("--top-k", type=flag_type("value", int, positive_int), default=None,
                         help="generation: sample among the k most likely tokens only")
    predict.add_argument("--seed", type=int, default=None, help="generation: sampling seed")
    predict.set_defaults(handler=_predict)


def _add_shortcuts(commands):
    generate = commands.add_parser("generate", formatter_class=HelpFormatter,
                                   help="sample text from a generation run")
    generate.add_argument("--model", type=Path, required=True,
                          help="run folder of `seqtasks run generation`")
    generate.add_argument("--prompt", default="", help="the text to continue")
    generate.add_argument("--length", type=flag_type("value", int, positive_int), default=200,
                          help="characters to generate")
    generate.add_argument("--temperature", type=flag_type("value", float, non_negative_number), default=0.8,
                          help="0 is greedy; higher is more random")
    generate.add_argument("--top-k", type=flag_type("value", int, positive_int), default=None,
                          help="sample only among the k most likely tokens")
    generate.add_argument("--seed", type=int, default=None, help="sampling seed")
    generate.set_defaults(handler=_generate)

    translate = commands.add_parser("translate", formatter_class=HelpFormatter,
                                    help="translate with a translation run")
    translate.add_argument("--model", type=Path, required=True,
                           help="run folder of `seqtasks run translation`")
    translate.add_argument("--beam-size", type=flag_type("value", int, positive_int), default=None,
                           help="1 is greedy decoding; default: the run's")
    translate.add_argument("text", nargs="*", help="sentences (default: one per line on stdin)")
    translate.set_defaults(handler=_translate)


def _add_analysis(commands):
    corpus = commands.add_parser(
        "corpus", formatter_class=HelpFormatter,
        help="corpus statistics: vocabulary, coverage, Zipf fits, n-gram perplexity")
    corpus.add_argument("file", type=Path, help="a plain UTF-8 text file")
    corpus.add_argument("--tokens", choices=("word", "char"), default="word",
                        help="count words or characters")
    corpus.add_argument("--order", type=flag_type("value", int, positive_int), default=3,
                        help="highest order of the n-gram language models")
    corpus.add_argument("--held-out", type=float, default=0.1,
                        help="the final share of the text held out for coverage and perplexity")
    corpus.add_argument("--out", default="runs/corpus", help="folder of zipf.png and corpus.json")
    corpus.set_defaults(handler=_corpus)

    diagnose = commands.add_parser("diagnose", help="diagnostics of recurrent cells")
    what = diagnose.add_subparsers(dest="diagnostic", required=True)
    gradients = what.add_parser(
        "gradients", formatter_class=HelpFormatter,
        help="norm of dL_T/dh_k over time steps k, vanishing and exploding")
    gradients.add_argument("--cell", default="elman,lstm,gru",
                           help="comma-separated cell names (see seqtasks.cells.CELLS)")
    gradients.add_argument("--length", type=flag_type("value", int, positive_int), default=100,
                           help="steps of the adding problem")
    gradients.add_argument("--units", type=flag_type("value", int, positive_int), default=32,
                           help="hidden units")
    gradients.add_argument("--train-steps", type=int, default=200,
                           help="training steps on the adding problem before measuring again")
    gradients.add_argument("--seed", type=int, default=0, help="seed")
    gradients.add_argument("--out", default="runs/gradients", help="output folder")
    gradients.set_defaults(handler=_diagnose_gradients)

    demo = commands.add_parser("demo", formatter_class=HelpFormatter,
                               help="train small classifiers with seqtasks cells")
    demo.add_argument("--cells", default="elman,lstm,gru",
                      help="comma-separated cell names (see seqtasks.cells.CELLS)")
    demo.add_argument("--epochs", type=flag_type("value", int, positive_int), default=8, help="epochs")
    demo.add_argument("--samples", type=flag_type("value", int, positive_int), default=4000,
                      help="training examples")
    demo.add_argument("--seed", type=int, default=0, help="seed")
    demo.set_defaults(handler=_demo)


def build_parser():
    parser = OneLineParser(prog="seqtasks", formatter_class=HelpFormatter,
                           description="Recurrent sequence models: run, tune and use tasks.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _task_command(commands, "run", _run, "train and evaluate a task, writing its run folder")
    _task_command(commands, "tune", _tune, "search a task's hyperparameters with keras-tuner")
    _add_predict(commands)
    _add_shortcuts(commands)
    _add_analysis(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return exit_code(args.handler, args, prog=f"seqtasks {args.command}")


if __name__ == "__main__":
    sys.exit(main())
