"""CLI: compute one page's answers from the aggregated tables."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.pipeline.plan import Plan
from analysis.study.answers import PAGES, builder, claims, declared_questions
from analysis.study.answers.common import Context, PageOutput, meta_fragment, page_meta
from analysis.study.answers.questions import emit_headlines, fragment_problems
from analysis.study.figures import setup_style


def undeclared_reads(page: str, read: set[str]) -> list[str]:
    """Experiments a page read without claiming them: the CLAIMS declarations must stay true, since the
    experiments page is derived from them."""
    declared = claims(page)
    return [] if declared is None else sorted(read - set(declared))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--page", required=True, choices=sorted(PAGES))
    parser.add_argument("--profile", required=True)
    parser.add_argument("--tables", required=True, type=Path, help="the aggregated tables and the plan")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    plan, config = Plan.read(args.tables)
    provenance = {p.stem: json.loads(p.read_text()) for p in sorted(args.data_dir.glob("*.json"))}
    ctx = Context(page=args.page, profile=args.profile, tables_dir=args.tables, config=config,
                  provenance=provenance, plan=plan)
    out = PageOutput(page=args.page, out_dir=args.out)
    setup_style()
    page_runs = builder(args.page)(ctx, out)
    undeclared = undeclared_reads(args.page, ctx.read)
    if undeclared:
        print(f"nnlab answers: page {args.page} reads experiment(s) {', '.join(undeclared)} that its module does not "
              f"list in CLAIMS (analysis/study/answers/{args.page}.py); declare them there, or the experiments page "
              "shows them as unanswered too", file=sys.stderr)
        return 1
    problems = fragment_problems(out, declared_questions(args.page)) if declared_questions(args.page) else []
    if problems:
        print(f"nnlab answers: page {args.page} disagrees with its QUESTIONS (analysis/study/answers/{args.page}.py): "
              + "; ".join(problems), file=sys.stderr)
        return 1
    emit_headlines(out, declared_questions(args.page))
    meta = page_meta(ctx, page_runs)
    out.fragment("meta", meta_fragment(meta))
    out.write(meta)
    print(f"{args.page}: {len(out.fragments)} fragments, {len(out.vars)} variable groups", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
