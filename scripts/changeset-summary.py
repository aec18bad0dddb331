#!/usr/bin/env python3
"""Turn `aws cloudformation describe-change-set` JSON (stdin) into a markdown summary (stdout).

The deploy workflow writes this to $GITHUB_STEP_SUMMARY for every branch push: the change set is created but
never executed there ("plan on branches, apply on main"), so the summary is what a reviewer reads.

    aws cloudformation describe-change-set --change-set-name <arn> --output json \
        | scripts/changeset-summary.py --title "Plan for imagegen-dev" >> "$GITHUB_STEP_SUMMARY"

Standard library only: it runs on a bare runner before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

ACTION_LABELS = {
    "Add": "🆕 Add",
    "Modify": "✏️ Modify",
    "Remove": "🗑️ Remove",
    "Import": "📥 Import",
    "Dynamic": "❔ Dynamic",
}
# CloudFormation reports a failed change set with this reason when the template and parameters change nothing.
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed")


def cell(value: object) -> str:
    """A value made safe for one markdown table cell: no pipes, no line breaks."""
    return str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()


def replacement(change: Mapping[str, Any]) -> str:
    """'Yes', 'Conditional' or '' — only a Modify can replace; Add and Remove say nothing useful here."""
    if change.get("Action") != "Modify":
        return ""
    return {"True": "**Yes**", "Conditional": "Conditional"}.get(str(change.get("Replacement")), "")


def changed_attributes(change: Mapping[str, Any]) -> str:
    """What is changing on a modified resource, e.g. `Properties.Timeout, Tags`."""
    names: list[str] = []
    for detail in change.get("Details") or []:
        target = detail.get("Target") or {}
        attribute = target.get("Attribute", "")
        name = target.get("Name")
        label = f"{attribute}.{name}" if name else attribute
        if label and label not in names:
            names.append(label)
    if not names:
        names = list(change.get("Scope") or [])
    return ", ".join(names)


def resource_changes(description: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c["ResourceChange"] for c in description.get("Changes") or [] if c.get("Type") == "Resource"]


def counts_line(changes: Iterable[Mapping[str, Any]]) -> str:
    counted = Counter(str(c.get("Action", "?")) for c in changes)
    return ", ".join(f"{n} to {action.lower()}" for action, n in sorted(counted.items()))


def warnings(changes: list[Mapping[str, Any]]) -> list[str]:
    """One callout per kind of destructive change: these are what a reviewer must not miss."""
    replaced = [
        f"{c['LogicalResourceId']} ({'conditional' if replacement(c) == 'Conditional' else 'yes'})"
        for c in changes
        if replacement(c)
    ]
    removed = [str(c["LogicalResourceId"]) for c in changes if c.get("Action") == "Remove"]
    callouts = []
    if replaced:
        callouts.append(f"> ⚠️ **Replaced** (a new physical resource, the old one is deleted): {', '.join(replaced)}")
    if removed:
        callouts.append(f"> ⚠️ **Removed**: {', '.join(removed)}")
    return callouts


def table(changes: list[Mapping[str, Any]]) -> list[str]:
    lines = [
        "| Action | Logical ID | Type | Replacement | What changes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for change in changes:
        action = str(change.get("Action", "?"))
        lines.append(
            "| "
            + " | ".join(
                cell(value)
                for value in (
                    ACTION_LABELS.get(action, action),
                    f"`{change.get('LogicalResourceId', '?')}`",
                    change.get("ResourceType", ""),
                    replacement(change),
                    changed_attributes(change),
                )
            )
            + " |"
        )
    return lines


def render(description: Mapping[str, Any], title: str | None = None) -> str:
    """The markdown for one describe-change-set answer."""
    stack = description.get("StackName", "?")
    name = description.get("ChangeSetName", "?")
    status = description.get("Status", "?")
    reason = description.get("StatusReason") or ""
    lines = [f"### {title or f'Change set for {stack}'}", ""]
    execution = description.get("ExecutionStatus", "?")
    lines.append(f"Stack `{stack}`, change set `{name}`: status `{status}`, execution `{execution}`.")
    lines.append("")
    changes = resource_changes(description)
    if not changes:
        if status == "FAILED" and not any(text in reason for text in NO_CHANGES_REASONS):
            lines.append(f"**The change set failed:** {cell(reason)}")
        else:
            lines.append("No changes: the stack already matches this commit.")
        return "\n".join(lines) + "\n"
    lines.append(f"**{len(changes)} resource change(s):** {counts_line(changes)}.")
    lines.append("")
    for callout in warnings(changes):
        lines.extend([callout, ""])
    lines.extend(table(changes))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--title", help="heading of the summary (default: 'Change set for <stack>')")
    args = parser.parse_args(argv)
    try:
        description = json.load(sys.stdin)
    except json.JSONDecodeError as error:
        print(f"changeset-summary: stdin is not describe-change-set JSON: {error}", file=sys.stderr)
        return 2
    if not isinstance(description, dict):
        print("changeset-summary: expected a JSON object from describe-change-set", file=sys.stderr)
        return 2
    sys.stdout.write(render(description, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
