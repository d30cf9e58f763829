"""Whatever a stranger posts to /subscribe, the answer is a page, never a server error."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.app import App
from tests.web.helpers import SIGNUP, Web, people

ODD = st.sampled_from(
    [
        "",
        " ",
        "\r\n",
        "\x00",
        "\u2028",
        "\ufeff",
        "ရဲ",
        "%00",
        "<script>",
        "@",
        "@@",
        "reader@example.org",
        "Reader@Example.ORG",
        "reader@example.org\r\nBcc: x@example.org",
        "a@[127.0.0.1]",
        "en",
        "my",
        "statements",
        "daily-briefing",
        "weekly-digest",
    ]
)
text = st.one_of(ODD, ODD, st.text(max_size=30), st.text(alphabet="\r\n\t a@.", max_size=10))
huge = st.integers(min_value=200, max_value=30_000).map(lambda n: "x" * n)
value = st.one_of(text, text, text, huge)
field = st.one_of(value, st.lists(value, min_size=0, max_size=5))
forms = st.fixed_dictionaries(
    {},
    optional={"email": field, "lang": field, "topics": field, "website": field},
).flatmap(
    lambda form: st.dictionaries(st.text(max_size=8), field, max_size=2).map(
        lambda extra: {**extra, **form}
    )
)

# A good sign-up with one field replaced, so valid flows are exercised too.
near_valid = st.tuples(st.sampled_from(sorted(SIGNUP)), field).map(
    lambda change: {**SIGNUP, change[0]: change[1]}
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    form=st.one_of(forms, near_valid),
    path=st.sampled_from(["/subscribe", "/my/subscribe"]),
    ip=st.sampled_from(["192.0.2.1", "192.0.2.2", "2001:db8::1"]),
)
def test_a_random_form_is_answered_and_a_refused_one_changes_nothing(
    sqlite_app: App, form: dict[str, Any], path: str, ip: str
) -> None:
    web = Web(sqlite_app)
    before = people(sqlite_app)
    response = web.post(path, form, ip=ip)
    event(f"status {response.status_code}")
    assert response.status_code in (200, 400, 413, 429), response.text[:500]
    if response.status_code in (400, 413):
        assert people(sqlite_app) == before
