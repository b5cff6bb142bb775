"""darkroom policy check "PROMPT" | darkroom policy show: the safe-prompting policy."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    parser = sub.add_parser("policy", help="check prompts against the policy; show its categories")
    cmds = parser.add_subparsers(dest="policy_command", required=True, metavar="SUBCOMMAND")

    check = cmds.add_parser("check", help="judge a prompt (exit 3 if blocked)")
    check.add_argument("prompt", help="the prompt")
    check.add_argument("--negative", "-n", default="", help="the negative prompt")
    check.add_argument("--zone", action="append", default=[], metavar="PROMPT",
                       help="a zone prompt (repeatable)")
    check.add_argument("--json", action="store_true", help="print the decision as JSON")
    check.add_argument("--terms-only", action="store_true",
                       help="skip the semantic layer (faster; for diagnosis only)")
    check.set_defaults(run=run_check)

    show = cmds.add_parser("show", help="list the categories and whether each can be switched off")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=run_show)


def _policy(args, **kw):
    from darkroom.settings import Settings
    from darkroom.trust.policy import Policy

    policy = Policy.load(Settings(), **kw)
    for notice in policy.notices:
        print(f"darkroom: policy: {notice}", file=sys.stderr)
    return policy


def run_check(args) -> int:
    texts = {"prompt": args.prompt}
    if args.negative:
        texts["negative_prompt"] = args.negative
    for i, z in enumerate(args.zone):
        texts[f"zones.{i}.prompt"] = z
    policy = _policy(args, layers=("terms",) if args.terms_only else ("terms", "semantic"))
    decision = policy.check(texts)
    if args.json:
        print(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"action:   {decision.action}")
        if decision.category:
            print(f"category: {decision.category} ({decision.title}){' [absolute]' if decision.absolute else ''}")
            print(f"rule:     {decision.rule}")
            print(f"evidence: {'; '.join(decision.evidence)}")
            for hit in decision.hits[1:]:
                print(f"also:     {hit.action} {hit.category} ({hit.rule}: {'; '.join(hit.evidence)})")
        print(f"policy:   {decision.policy_version}")
    decision.raise_if_blocked()  # PolicyBlocked: message on stderr, exit 3
    return 0


def run_show(args) -> int:
    policy = _policy(args, layers=("terms",))
    cats = policy.categories()
    if args.json:
        print(json.dumps({"version": policy.version, "settings_file": str(policy.settings_file),
                          "categories": [{"id": c.id, "title": c.title, "absolute": c.absolute,
                                          "switchable": not c.absolute, "level": c.level,
                                          "semantic": c.semantic, "pack": c.source} for c in cats]},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"policy {policy.version}   settings: {policy.settings_file}"
          f"{'' if policy.settings_file and policy.settings_file.exists() else ' (not present: defaults)'}")
    print(f"{'category':<26} {'switchable':<11} {'state':<7} {'semantic':<9} title")
    for c in cats:
        sw = "no (abs.)" if c.absolute else "yes"
        print(f"{c.id:<26} {sw:<11} {c.level:<7} {'on' if c.semantic else 'off':<9} "
              f"{c.title.get('en', c.id)} / {c.title.get('de', '')}")
    return 0
