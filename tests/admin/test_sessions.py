"""Server-side session revocation (issue #13): signing out, a new password and disabling a user
end every session of that user at once, copies of the cookie included."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.web_seed import login, post_form


@pytest.fixture
def users(runner: Any) -> Any:
    for name in ("alice", "bob"):
        result = runner.invoke(args=["users", "create", name, "--password", f"{name}-password-1"])
        assert result.exit_code == 0, result.output
    return runner


def signed_in(app: Any, name: str = "alice") -> Any:
    client = app.test_client()
    assert login(client, name).status_code == 303
    assert client.get("/tasks").status_code == 200
    return client


def copy_of(app: Any, client: Any) -> Any:
    """Another client holding a copy of ``client``'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    cookie = client.get_cookie("stockwarn")
    assert cookie is not None
    thief.set_cookie("stockwarn", cookie.value)
    assert thief.get("/tasks").status_code == 200  # the copy works while the session lives
    return thief


def signed_out(client: Any) -> bool:
    answer = client.get("/tasks")
    return answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_a_copy_of_the_cookie_taken_before_sign_out_opens_nothing_after(app, users) -> None:
    client = signed_in(app)
    thief = copy_of(app, client)
    assert post_form(client, "/", "/logout").status_code == 303
    assert signed_out(client)
    assert signed_out(thief)


def test_signing_out_ends_the_users_other_sessions_and_no_one_elses(app, users) -> None:
    laptop, phone, bob = signed_in(app), signed_in(app), signed_in(app, "bob")
    post_form(laptop, "/", "/logout")
    assert signed_out(phone)
    assert bob.get("/tasks").status_code == 200
    again = signed_in(app)  # signing in again starts a session that works
    assert again.get("/requisitions").status_code == 200


def test_a_new_password_ends_every_session(app, users) -> None:
    client = signed_in(app)
    thief = copy_of(app, client)
    result = users.invoke(args=["users", "password", "alice", "--password", "alice-new-pass-2"])
    assert result.exit_code == 0, result.output
    assert signed_out(client) and signed_out(thief)
    assert login(app.test_client(), "alice").status_code == 401  # the old password
    assert login(app.test_client(), "alice", "alice-new-pass-2").status_code == 303


def test_disabling_a_user_ends_every_session_and_enabling_revives_none(app, users) -> None:
    client = signed_in(app)
    thief = copy_of(app, client)
    assert users.invoke(args=["users", "disable", "alice"]).exit_code == 0
    assert signed_out(client) and signed_out(thief)
    assert login(app.test_client(), "alice").status_code == 401
    assert "disabled" in users.invoke(args=["users", "list"]).output
    assert users.invoke(args=["users", "enable", "alice"]).exit_code == 0
    assert signed_out(client) and signed_out(thief)  # the old sessions stay ended
    assert signed_in(app).get("/").status_code == 200


def test_an_admin_can_end_a_users_sessions_without_changing_anything_else(app, users) -> None:
    client = signed_in(app)
    result = users.invoke(args=["users", "sign-out", "alice"])
    assert result.exit_code == 0, result.output
    assert signed_out(client)
    assert signed_in(app).get("/").status_code == 200  # same password


def test_the_user_commands_name_an_unknown_user(users) -> None:
    for args in (["password", "mallory", "--password", "long-enough-1"], ["disable", "mallory"],
                 ["enable", "mallory"], ["sign-out", "mallory"]):
        result = users.invoke(args=["users", *args])
        assert result.exit_code == 1
        assert "mallory" in result.output


def test_a_disabled_users_api_tokens_are_refused(app, users) -> None:
    token = users.invoke(args=["tokens", "create", "alice"]).output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert users.invoke(args=["users", "disable", "alice"]).exit_code == 0
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401


def change_password(client: Any, current: str, new: str, confirm: str | None = None) -> Any:
    return post_form(client, "/account/password", "/account/password",
                     {"current": current, "new": new, "confirm": new if confirm is None else confirm})


def test_a_user_changes_their_password_and_their_other_sessions_end(app, users) -> None:
    client = signed_in(app)
    thief = copy_of(app, client)
    assert change_password(client, "wrong-password", "alice-new-pass-2").status_code == 401
    assert change_password(client, "alice-password-1", "alice-new-pass-2", "typo").status_code == 400
    assert change_password(client, "alice-password-1", "short").status_code == 400
    assert thief.get("/tasks").status_code == 200  # nothing changed yet
    answer = change_password(client, "alice-password-1", "alice-new-pass-2")
    assert (answer.status_code, answer.headers["Location"]) == (303, "/dashboard")
    assert client.get("/tasks").status_code == 200  # this browser stays signed in
    assert signed_out(thief)
    assert login(app.test_client(), "alice").status_code == 401
    assert login(app.test_client(), "alice", "alice-new-pass-2").status_code == 303


def test_guessing_the_current_password_is_limited(app, users) -> None:
    client = signed_in(app)
    statuses = [change_password(client, f"guess-{i}", "alice-new-pass-2").status_code
                for i in range(11)]
    assert statuses == [401] * 10 + [429]


def test_the_password_page_needs_a_signed_in_user(client) -> None:
    assert client.get("/account/password").status_code == 302
