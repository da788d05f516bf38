"""`addexp-predict`: answer questions typed as text with a trained run's model.

    addexp-predict --run RUN_ID "12+50" "7+10"
    addexp-predict --run RUN_ID --file questions.csv --format csv --out answers.csv
    addexp-predict --run RUN_ID --beam-width 4 "123+45"   # beam search instead of greedy

Questions are typed plainly (unpadded, unreversed); each is written exactly as the run's format
needs (padding, reversal, encoding) and answered through the same decode step the run was
scored with. A CSV file with a `question` column (and optionally `answer`) or a plain file of
one question per line is read; with answers, exact match and per-character accuracy are printed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from addexp.cli import EXIT_USAGE, add_verbose, command, console
from addexp.cli.entry import start
from addexp.evaluation.metrics import summary
from addexp.tracking.answering import read_problems

COLUMNS = {"question": "answer", "input": "expected"}  # a run's predictions CSV reads as is


def read_questions(path: Path) -> tuple[list[str], list[str] | None]:
    """Questions (and answers, if the file has them) from a CSV with a `question` column (and
    optionally `answer`) or a run's own predictions CSV (`input`, `expected`), or from plain
    text, one question per line. Raises QuestionError for a CSV header without a question
    column."""
    from addexp.problems.questions import QuestionError

    text = path.read_text()
    first = text.splitlines()[0] if text.strip() else ""
    header = [c.strip() for c in first.split(",")]
    for question, answer in COLUMNS.items():
        if question in header:
            rows = list(csv.DictReader(io.StringIO(text)))
            answers = [row[answer] for row in rows] if answer in header else None
            return [row[question] for row in rows], answers
    if "," in first:
        raise QuestionError(
            f"--file {path}: a CSV needs a `question` column (and optionally `answer`), or a "
            "run's predictions CSV (`input`, `expected`); its header is " + repr(first) + "."
        )
    return [line for line in text.splitlines() if line.strip()], None


def predict_table(logged, model, questions: list[str], problems, answers: list[str] | None) -> dict:
    """Columns `question`, `predicted` and, with answers, `expected`, `correct`; plus every
    registered metric of the questions for the summary (`_metrics`, scored as a run scores a
    set: each question in its own layout). `problems`: `read_problems` of the questions."""
    from addexp.evaluation.decode import decode
    from addexp.evaluation.metrics import Scored, compute
    from addexp.tracking.answering import typed

    pipeline = logged.pipeline
    decoded = decode(model, pipeline.family, pipeline.framing, problems)
    table = {"question": typed(questions), "predicted": decoded.answers.text}
    if answers is not None:
        scored = Scored(
            problems, decoded.layouts.expected(problems), decoded.answers, decoded.layouts.own()
        )
        table["expected"] = np.array([a.strip() for a in answers])
        table["correct"] = scored.right.all(axis=1)
        table["_metrics"] = compute(scored)
    return table


def beyond_training(space, problems, questions: list[str], shown: int = 3) -> str:
    """One sentence naming the questions whose operands or term count the training space never
    draws (their answers test generalisation, not what was fitted); "" when there are none.
    Operations need no note: whether the run reads them is the rule's (`addexp.framing.reach`)."""
    outside = np.flatnonzero(~space.holds(problems))
    if not outside.size:
        return ""
    terms = (
        str(space.min_terms)
        if space.min_terms == space.max_terms
        else f"{space.min_terms}-{space.max_terms}"
    )
    named = ", ".join(repr("".join(questions[i].split())) for i in outside[:shown])
    more = f" and {outside.size - shown} more" if outside.size > shown else ""
    return (
        f"{outside.size} of {len(questions)} questions go beyond what the run trained on "
        f"(operands {space.min_value}..{space.max_value}, {terms} terms): {named}{more}; "
        "their answers test generalisation."
    )


def _render(table: dict, fmt: str) -> str:
    columns = [k for k in table if not k.startswith("_")]
    rows = list(zip(*(table[k].tolist() for k in columns), strict=True))
    if fmt == "json":
        return json.dumps([dict(zip(columns, row, strict=True)) for row in rows], indent=1)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    return "\n".join(" ".join(str(v) for v in row) for row in rows)


def _beam_width(text: str) -> int:
    from addexp.tracking.logged_run import RunError, parse_beam_width

    try:
        return parse_beam_width(text)
    except RunError as error:  # argparse shows only this kind's message
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    from addexp.tracking.logged_run import add_run_arguments

    p = argparse.ArgumentParser(
        prog="addexp-predict",
        description="Answer questions typed as text with a trained addexp run's model.",
    )
    p.add_argument("questions", nargs="*", help='questions such as "12+50" (typed plainly)')
    add_run_arguments(p)
    p.add_argument("--file", type=Path, help="one question per line, or CSV: question[,answer]")
    p.add_argument("--format", choices=["text", "csv", "json"], default="text")
    p.add_argument("--out", type=Path, help="also write the table to this file")
    p.add_argument(
        "--beam-width",
        type=_beam_width,
        metavar="N",
        help="decode by beam search of width N (1: greedy) instead of the run's own "
        "model.beam_width; for the decoders that read their own answers",
    )
    add_verbose(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    console(args.verbose)
    start("addexp-predict")
    from addexp.problems.questions import QuestionError
    from addexp.tracking.logged_run import RunError, open_run

    questions, answers = list(args.questions), None
    try:
        if args.file is not None:
            if not args.file.is_file():
                raise QuestionError(f"--file {args.file}: no such file.")
            from_file, answers = read_questions(args.file)
            if questions and answers is not None:
                raise QuestionError("give questions either on the command line or in a file.")
            questions += from_file
        if not questions:
            raise QuestionError("no question given: type one (e.g. 12+50) or use --file.")
        logged = open_run(args.run, args.uri)
        if args.beam_width is not None:
            logged = logged.decoded_with(args.beam_width)
        problems = read_problems(logged.pipeline, questions, answers)  # before TensorFlow
        model = logged.load_model()
        table = predict_table(logged, model, questions, problems, answers)
    except (RunError, QuestionError) as error:
        print(f"addexp-predict: {error}", file=sys.stderr)
        return EXIT_USAGE
    output = _render(table, args.format)
    if args.out is not None:
        try:
            args.out.write_text(output + "\n")
        except OSError as error:
            print(f"addexp-predict: --out {args.out}: {error.strerror}.", file=sys.stderr)
            return EXIT_USAGE
    print(output, flush=True)  # the answers out before any note
    beyond = beyond_training(logged.pipeline.space, problems, questions)
    if beyond:
        print(f"addexp-predict: note: {beyond}", file=sys.stderr)
    if answers is not None:
        print(summary(f"{len(questions)} questions", table["_metrics"]), file=sys.stderr)
    return 0


script = command(main)  # the console script: exits as soon as main is done

if __name__ == "__main__":
    script()
