"""The one-question page of an e-mail survey: ``GET /survey/{token}`` shows the question (a signed link
from the survey e-mail, ``router/service/survey_links.py``), ``POST /survey/{token}`` records the answer.

The page is plain HTML made here, every text escaped; it runs no script and loads nothing, and its own
Content-Security-Policy lets its one form post back to this server. A link that is not signed here, or
has expired, is a 404; a score off the scale is a 422 with the question again; a second answer is a 409
(the first stands)."""

from __future__ import annotations

import html

from aiohttp import web
from pydantic import ValidationError

from router.contracts import SURVEY_SCALES, SurveyIn, SurveyKind
from router.errors import Conflict
from router.service.survey_links import LinkClaim
from router.service.surveys import QUESTIONS, SURVEYS, Surveys

PAGE_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}"
    "fieldset{border:0;padding:0;margin:1rem 0;display:flex;flex-wrap:wrap;gap:.4rem}"
    "label.score{border:1px solid #888;border-radius:4px;padding:.3rem .7rem}"
    "textarea{width:100%;min-height:4rem}button{margin-top:1rem;padding:.5rem 1.2rem}"
)
ENDS: dict[SurveyKind, tuple[str, str]] = {
    SurveyKind.csat: ("not at all satisfied", "very satisfied"),
    SurveyKind.nps: ("not at all likely", "extremely likely"),
    SurveyKind.ces: ("very easy", "very difficult"),
}


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
    )
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def _question(claim: LinkClaim, error: str | None = None, status: int = 200) -> web.Response:
    low, high = SURVEY_SCALES[claim.kind]
    least, most = ENDS[claim.kind]
    choices = "".join(
        f'<label class="score"><input type="radio" name="score" value="{n}" required> {n}</label>'
        for n in range(low, high + 1)
    )
    alert = f'<p role="alert"><strong>{html.escape(error)}</strong></p>' if error else ""
    body = (
        f"<h1>{html.escape(QUESTIONS[claim.kind])}</h1>{alert}"
        '<form method="post">'
        f"<p>{low}: {html.escape(least)} … {high}: {html.escape(most)}</p>"
        f'<fieldset aria-label="Your answer">{choices}</fieldset>'
        '<label for="comment">Anything to add? (optional)</label>'
        '<textarea id="comment" name="comment" maxlength="2000"></textarea>'
        '<button type="submit">Send</button></form>'
    )
    return _page("One question", body, status)


def _claim(request: web.Request, surveys: Surveys) -> LinkClaim:
    claim = surveys.links.verify(request.match_info["token"]) if surveys.links is not None else None
    if claim is None:
        raise web.HTTPNotFound(text="This survey link is not valid or has expired.")
    return claim


def _gone_or_thanks(already: bool) -> web.Response:
    if already:
        return _page("Thank you", "<h1>Thank you</h1><p>We have your answer already.</p>", 409)
    return _page("Thank you", "<h1>Thank you</h1><p>Your answer was recorded.</p>")


async def show(request: web.Request) -> web.StreamResponse:
    surveys = request.app[SURVEYS]
    claim = _claim(request, surveys)
    if await surveys.answered(claim.interaction_id) is not None:
        return _page("Thank you", "<h1>Thank you</h1><p>We have your answer already.</p>")
    return _question(claim)


async def answer(request: web.Request) -> web.StreamResponse:
    surveys = request.app[SURVEYS]
    claim = _claim(request, surveys)
    form = await request.post()
    raw_score, comment = form.get("score"), form.get("comment")
    try:
        given = SurveyIn(
            kind=claim.kind,
            score=int(raw_score) if isinstance(raw_score, str) and raw_score.strip().isdigit() else -1,
            comment=comment.strip() or None if isinstance(comment, str) else None,
        )
    except ValidationError:
        low, high = SURVEY_SCALES[claim.kind]
        return _question(claim, f"Please choose a number from {low} to {high}.", 422)
    try:
        await surveys.answer(str(claim.interaction_id), given, via="email")
    except Conflict:
        return _gone_or_thanks(True)
    return _gone_or_thanks(False)


def routes() -> list[web.RouteDef]:
    return [web.get("/survey/{token}", show), web.post("/survey/{token}", answer)]
