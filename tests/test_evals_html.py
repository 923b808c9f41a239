"""The HTML eval report, rendered by a real headless browser (Debian chromium)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import anyio
import orjson

from agentkit.evals import compare, run_eval
from agentkit.evals.html import embed_json, render_report_html
from tests._evals import WeatherModel, weather_agent, weather_dataset
from tests.test_tracing_html import _BROWSER_FLAGS, _browser

HOSTILE = "</script><script>document.title='pwned'</script><!-- & <b>bold</b>"


def _dom(browser: str, page: Path) -> str:
    return subprocess.run(  # noqa: S603 - our own browser path and a file URI we wrote
        [browser, *_BROWSER_FLAGS, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def _page(tmp_path: Path) -> Path:
    """Two experiments of six cases; v2's model answers Kyiv with hostile markup and fails Lima."""

    async def go() -> str:
        v1 = await run_eval(weather_dataset(), weather_agent(WeatherModel()), name="v1")
        model = WeatherModel(fail=("Lima",))
        agent = weather_agent(model)
        v2 = await run_eval(weather_dataset(), agent, name="v2")
        kyiv = next(r for r in v2.records if r.case == "kyiv")
        hostile = kyiv.model_copy(update={"output": HOSTILE})
        records = [hostile if r is kyiv else r for r in v2.records]
        v2 = type(v2).build(name="v2", dataset=v2.dataset, records=records)
        return render_report_html(v2, compare([v1, v2]))

    page = tmp_path / "report.html"
    page.write_text(anyio.run(go), encoding="utf-8")
    return page


def test_embedded_json_cannot_close_the_script_block() -> None:
    """The embedded data has no '<', '>' or '&' left, and still decodes to the same text."""
    text = embed_json({"output": HOSTILE})
    assert not set("<>&") & set(text)
    assert orjson.loads(text) == {"output": HOSTILE}


def test_report_page_draws_charts_rows_and_the_changed_cases(tmp_path: Path) -> None:
    """In the rendered DOM: a bar per case and per run, a row per case, the changed cases listed."""
    browser = _browser()
    dom = _dom(browser, _page(tmp_path))
    assert re.findall(r'<tr class="case" data-case="(\w+)"', dom) == [
        "oslo",
        "rome",
        "lima",
        "kyiv",
        "pune",
        "bern",
    ]
    score_chart = dom.split('id="score-chart"')[1].split("</svg>")[0]
    assert len(re.findall(r'class="bar"', score_chart)) == 6
    evaluator_chart = dom.split('id="evaluator-chart"')[1].split("</svg>")[0]
    assert re.findall(r'class="bar" data-label="([^"]+)"', evaluator_chart) == ["contains", "called:weather"]
    latency_chart = dom.split('id="latency-chart"')[1].split("</svg>")[0]
    assert len(re.findall(r'class="bar"', latency_chart)) == 6
    changed = re.findall(r'<tr class="changed-row"><td>(\w+)</td>', dom)
    assert changed == ["lima"]
    assert "1 of 6 cases changed" in dom
    assert '<section id="comparison">' in dom  # shown (no longer hidden)


def test_hostile_output_is_text_not_markup(tmp_path: Path) -> None:
    """An output holding </script>, <!-- and tags shows as text; no injected script ran."""
    browser = _browser()
    dom = _dom(browser, _page(tmp_path))
    assert "<title>agentkit eval · v2</title>" in dom
    assert "pwned" not in dom.split("<body>")[0]
    assert (
        "&lt;/script&gt;&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;!-- &amp; &lt;b&gt;bold" in dom
    )
    assert "<b>bold</b>" not in dom
