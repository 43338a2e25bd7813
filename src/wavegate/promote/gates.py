"""Promotion gates, each with its evidence, and with what to wait for when it fails.

The gates of the target environment B (`gates:` in .wavegate.yaml) judge the source A:

- validation (always): A's folder has no error finding at the promoted commit (`wavegate validate`);
- healthy: A's Argo CD Application is Synced and Healthy at that commit (read through
  `wavegate.status.read_application`, the same code as `wavegate status`);
- soak: at least that long since A's last sync finished (`status.operationState.finishedAt`,
  else `status.reconciledAt`);
- freeze: now is in none of B's freeze windows (absolute ISO windows, or weekdays, UTC).

Evidence is written with absolute times only, so that re-running a promotion with nothing new
renders the same trailers and merge request description.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wavegate.record import record
from wavegate.regex import lazy_compile

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DURATION = lazy_compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@record
class Gate:
    name: str  # validation | healthy | soak | freeze
    passed: bool
    evidence: str
    wait: str = ""  # what to wait for (or do) when it failed

    @property
    def trailer(self) -> tuple[str, str]:
        return f"Gate-{self.name.capitalize()}", f"{'passed' if self.passed else 'FAILED'}: {self.evidence}"

    def as_json(self) -> dict:
        return {"gate": self.name, "passed": self.passed, "evidence": self.evidence, "wait": self.wait or None}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 30m, 1h, 24h, 2d or 1h30m")
    d, h, m, s = (int(g or 0) for g in match.groups())
    return timedelta(days=d, hours=h, minutes=m, seconds=s)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    d, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m = rest // 60
    parts = [f"{d}d"] * bool(d) + [f"{h}h"] * bool(h) + [f"{m}m"] * bool(m)
    return "".join(parts) or f"{seconds}s"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def validation_gate(source: str, source_path: str, commit: str | None, findings: list) -> Gate:
    from wavegate.findings import Severity

    prefix = source_path.strip("/") + "/"
    mine = [f for f in findings if f.path.startswith(prefix)]
    errors = [f for f in mine if f.severity >= Severity.ERROR]
    warnings = [f for f in mine if f.severity == Severity.WARNING]
    at = f" at {commit[:12]}" if commit else ""
    evidence = f"{len(errors)} errors, {len(warnings)} warnings in {source_path}{at}"
    if errors:
        first = errors[0]
        return Gate("validation", False, evidence,
                    f"fix {source}'s findings first (`wavegate validate`), e.g. {first.path}:{first.line}: "
                    f"{first.rule}: {first.message}")
    return Gate("validation", True, evidence)


def health_gates(app, source: str, commit: str | None, soak: str | None, healthy: bool, target: str,
                 now: datetime, same_content=None) -> list[Gate]:
    """The healthy and soak gates from one AppStatus (`wavegate.status`). `same_content(rev)` says
    whether A's folder at `rev` equals the promoted commit's (an Application that synced a later
    or earlier commit with the same folder content counts as synced at the commit)."""
    gates: list[Gate] = []
    ref = f"Application {app.namespace}/{app.name}"
    at_commit = commit is None or app.at_revision(commit) or (
        same_content is not None and any(same_content(r) for r in ([app.revision] if app.revision else []) + app.revisions))
    revision = (app.revision or ", ".join(app.revisions) or "none")
    if healthy:
        if not app.found:
            gates.append(Gate("healthy", False, f"{ref} not found", "; ".join(app.advice) or "create the Application"))
        elif app.sync == "Synced" and app.health == "Healthy" and at_commit:
            same = "" if commit is None or app.at_revision(commit) else f" (revision {revision[:12]}, same {source} content)"
            gates.append(Gate("healthy", True, f"{ref} Synced and Healthy at {(commit or revision)[:12]}{same}"))
        else:
            problems = []
            if app.sync != "Synced":
                problems.append(f"sync is {app.sync}")
            if app.health != "Healthy":
                problems.append(f"health is {app.health}" + (f" ({app.health_message})" if app.health_message else ""))
            if not at_commit and commit is not None:  # not at_commit says there is a commit
                problems.append(f"it runs revision {revision[:12]}, not {commit[:12]}")
            wait = (f"wait until Argo CD has synced {source} at {commit[:12] if commit else 'the promoted commit'} and "
                    f"it is Healthy (`wavegate status --env {source}`)")
            if app.advice:
                wait += "; " + "; ".join(app.advice)
            gates.append(Gate("healthy", False, f"{ref}: " + ", ".join(problems), wait))
    if soak:
        need = parse_duration(soak)
        synced = app.synced_at if app.found else None
        if synced is None:
            gates.append(Gate("soak", False, f"{target} requires {soak} soak; {ref} has no finished sync",
                              f"wait for {source} to sync, then {soak}"))
        else:
            ready = synced + need
            evidence = f"{source} synced at {_utc(synced)}; {target} requires {soak} soak (reached {_utc(ready)})"
            if now >= ready:
                gates.append(Gate("soak", True, evidence))
            else:
                when = ready.strftime("%H:%M UTC")
                day = ("today" if ready.date() == now.date() else "tomorrow" if ready.date() == (now + timedelta(days=1)).date()
                       else ready.strftime("%Y-%m-%d"))
                gates.append(Gate("soak", False,
                                  f"{target} requires {soak} soak; {source} synced {format_duration(now - synced)} ago "
                                  f"at {_utc(synced)}",
                                  f"wait until {when} {day} ({format_duration(ready - now)} from now)"))
    return gates


def freeze_gate(target: str, windows: list[dict], now: datetime) -> Gate | None:
    if not windows:
        return None
    for window in windows:
        reason = f" ({window['reason']})" if window.get("reason") else ""
        if "days" in window:
            today = DAYS[now.weekday()]
            if today in window["days"]:
                days = [DAYS[(now.weekday() + i) % 7] for i in range(1, 8)]
                next_open = next((i for i, d in enumerate(days, 1) if d not in window["days"]), None)
                until = (now + timedelta(days=next_open)).replace(hour=0, minute=0, second=0, microsecond=0) \
                    if next_open else None
                return Gate("freeze", False, f"{target} is frozen on {', '.join(window['days'])}{reason}",
                            f"wait until {_utc(until)}" if until else "the freeze has no end; change gates.freeze")
            continue
        start, end = _moment(window["start"], False), _moment(window["end"], True)
        if start <= now < end:
            return Gate("freeze", False, f"{target} is frozen from {_utc(start)} to {_utc(end)}{reason}",
                        f"wait until {_utc(end)}")
    return Gate("freeze", True, f"{target} is in no freeze window at promotion time")


def _moment(text: str, end: bool) -> datetime:
    moment = datetime.fromisoformat(text)
    if len(text) == 10 and end:  # a date alone as the end: the whole day is frozen
        moment += timedelta(days=1)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
