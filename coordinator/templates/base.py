"""The dashboard's page shell, its stylesheet and small formatting helpers (every value goes through ``esc``)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from urllib.parse import urlencode

REFRESH_S = 5

_CSS = """
:root { --bg: #f5f6f8; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #e3e6ec; --accent: #3457d5;
  --blue: #2f6fde; --amber: #b7791f; --green: #2f855a; --slate: #5a6478; --red: #c53030; --orange: #dd6b20; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI",
  Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header { background: #1d2330; color: #fff; padding: 14px 28px; display: flex; align-items: baseline; gap: 16px; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; letter-spacing: .2px; }
header a { color: #c7d2fe; } header .spacer { flex: 1; } header .meta { color: #aab3c5; font-size: 12px; }
main { padding: 22px 28px 40px; max-width: 1320px; margin: 0 auto; }
h2 { font-size: 15px; margin: 26px 0 10px; color: #344054; text-transform: uppercase; letter-spacing: .6px; }
h2 .small { text-transform: none; letter-spacing: 0; font-weight: 400; margin-left: 6px; }
h2.title { font-size: 18px; text-transform: none; letter-spacing: 0; margin: 0 0 14px; display: flex; gap: 10px;
  align-items: center; flex-wrap: wrap; color: var(--ink); }
.panel h3 { margin: 0 0 10px; font-size: 13px; color: #344054; text-transform: uppercase; letter-spacing: .5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px;
  display: block; color: inherit; border-top: 4px solid var(--tone, #d0d5dd); }
a.card:hover { text-decoration: none; box-shadow: 0 2px 8px rgba(16, 24, 40, .08); }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .5px; }
.card .value { font-size: 26px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card .sub { color: var(--muted); font-size: 12px; }
.card.alert { background: #fff5f0; border-color: #f6c8a8; }
.RUNNING { --tone: var(--blue); } .COMPENSATING { --tone: var(--amber); } .COMPLETED { --tone: var(--green); }
.COMPENSATED { --tone: var(--slate); } .FAILED { --tone: var(--red); } .STUCK { --tone: var(--orange); }
.pct { display: flex; gap: 28px; margin-bottom: 6px; }
.pct div { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pct span { display: block; color: var(--muted); font-size: 11px; font-weight: 500; text-transform: uppercase; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.steps { display: flex; flex-wrap: wrap; gap: 8px; }
.chip { display: inline-flex; gap: 8px; align-items: center; border: 1px solid var(--line); border-radius: 999px;
  padding: 3px 12px; background: #fafbfc; color: inherit; }
.chip b { font-variant-numeric: tabular-nums; }
form.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; }
form.filters label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); }
form.filters label.check { flex-direction: row; align-items: center; gap: 6px; padding-bottom: 7px; }
form.filters > a { padding-bottom: 7px; }
#summary h2 { margin-top: 4px; }
select, input[type=text] { font: inherit; padding: 6px 8px; border: 1px solid #cfd4dc; border-radius: 6px;
  background: #fff; min-width: 150px; }
input[name=order_id] { min-width: 300px; }
button { font: inherit; padding: 6px 16px; border-radius: 6px; border: 0; background: var(--accent); color: #fff;
  cursor: pointer; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line);
  border-radius: 10px; overflow: hidden; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f2f6; font-size: 12px; color: #475467; text-transform: uppercase; letter-spacing: .4px; }
tr:last-child td { border-bottom: 0; }
tr.stuck td { background: #fff7ed; } tr.compensation td { background: #fffbeb; }
td.num { font-variant-numeric: tabular-nums; } .mono, code { font-family: ui-monospace, "DejaVu Sans Mono",
  Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: var(--muted); } .small { font-size: 12px; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
  color: #fff; background: var(--tone, var(--slate)); white-space: nowrap; }
.badge.soft { background: #eef1f6; color: #344054; font-weight: 500; }
.badge.done { background: var(--green); } .badge.refused { background: var(--red); }
.badge.waiting { background: var(--blue); } .badge.no-reply { background: var(--red); }
.badge.remaining { background: #eef1f6; color: #344054; } .badge.skipped { background: #f2f4f7; color: #98a2b3; }
.pager { display: flex; gap: 16px; justify-content: flex-end; margin-top: 10px; }
.notice { background: #fff5f5; border: 1px solid #feb2b2; color: #9b2c2c; padding: 8px 12px; border-radius: 8px;
  margin-bottom: 12px; }
.empty { text-align: center; color: var(--muted); padding: 24px; }
dl.facts { display: grid; grid-template-columns: 170px 1fr; gap: 6px 16px; margin: 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; word-break: break-word; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; } .grid2.gap { margin-top: 16px; }
ol.plan { margin: 0; padding-left: 22px; } ol.plan li { padding: 5px 0; }
ol.plan .when { color: var(--muted); font-size: 12px; margin-left: 6px; }
pre { background: #0f172a; color: #e2e8f0; padding: 14px 16px; border-radius: 10px; overflow: auto; margin: 0;
  font-size: 12.5px; }
.kind { font-weight: 600; white-space: nowrap; }
.k-command_sent { color: var(--blue); } .k-reply_received { color: var(--green); }
.k-reply_ignored { color: var(--slate); } .k-timed_out { color: var(--orange); } .k-state_changed { color: #6b46c1; }
"""

_SCRIPT = """
(() => {
  const every = EVERY_S * 1000;
  const tick = async () => {
    if (!document.hidden) {
      try {
        const r = await fetch(location.href, { cache: "no-store", headers: { Accept: "text/html" } });
        if (r.ok) {
          const fresh = new DOMParser().parseFromString(await r.text(), "text/html");
          for (const part of fresh.querySelectorAll("[data-live]")) {
            document.getElementById(part.id)?.replaceWith(part);
          }
        }
      } catch (e) { /* the next tick tries again */ }
    }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
})();
""".replace("EVERY_S", str(REFRESH_S))


def esc(value: object) -> str:
    """Text made safe for HTML content and attribute values; None shows as an em dash."""
    return "—" if value is None else html.escape(str(value), quote=True)


def page(title: str, body: str, *, live: bool = True) -> str:
    """A whole HTML document; ``live`` pages re-fetch themselves and swap in their fresh ``[data-live]`` parts."""
    refresh = f'<noscript><meta http-equiv="refresh" content="{REFRESH_S}"></noscript>' if live else ""
    script = f"<script>{_SCRIPT}</script>" if live else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{refresh}<title>{esc(title)} · RetroVault</title><style>{_CSS}</style></head><body>"
        '<header><h1><a href="/dashboard" style="color:#fff">RetroVault</a> · sagas</h1>'
        f'<span class="spacer"></span><span class="meta">{f"auto-refresh every {REFRESH_S} s" if live else ""}'
        f"</span></header><main>{body}</main>{script}</body></html>"
    )


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def when(at: datetime | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` UTC (escaped)."""
    return "—" if at is None else esc(at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))


def clock(at: datetime) -> str:
    """A time of day with milliseconds, UTC (escaped)."""
    return esc(at.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3])


def millis(ms: float | None) -> str:
    """A duration in milliseconds, readable: ``640 ms``, ``1.25 s``, ``3 min 5 s``."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f} s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s"


def since(start: datetime, end: datetime | None = None) -> str:
    """How long from ``start`` to ``end`` (now when None)."""
    return millis(max(((end or now()) - start).total_seconds() * 1000, 0.0))


def age(start: datetime) -> str:
    """How long ago ``start`` was, to the second: ``12 s``, ``3 min 5 s``."""
    seconds = max(round((now() - start).total_seconds()), 0)
    return f"{seconds} s" if seconds < 60 else millis(seconds * 1000.0)


def state_badge(state: str) -> str:
    """A saga state as a coloured badge."""
    return f'<span class="badge {esc(state)}" data-state="{esc(state)}">{esc(state)}</span>'


def stuck_badge(stuck_since: datetime | None, reason: str | None) -> str:
    """The stuck marker, with how long and why in its tooltip."""
    return (
        f'<span class="badge STUCK" data-stuck="true" title="{esc(reason)}">'
        f"stuck {age(stuck_since) if stuck_since else ''}</span>"
    )


def link(path: str, params: dict[str, str | None]) -> str:
    """``path`` with the non-empty ``params`` as its query string (escaped for an attribute)."""
    query = urlencode({k: v for k, v in params.items() if v})
    return esc(f"{path}?{query}" if query else path)
