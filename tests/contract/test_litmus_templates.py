"""The Litmus templates API over real HTTP against `assay serve`."""

import httpx

from tests.support.litmus import template, uid


def test_add_get_list_update_delete(api: httpx.Client, sut):
    body = template(sut.url)
    tid = body["template_id"]
    r = api.post("/templates/add", json=body)
    assert r.status_code == 200 and r.json() == {"message": f"Template '{tid}' added successfully"}

    got = api.get(f"/templates/{tid}").json()
    assert got["template_id"] == tid
    assert got["template_data"] == body["template_data"]
    assert got["test_request"]["body"] == {"query": "{query}"}
    assert got["evaluation_types"] == {"llm_assessment": True, "ragas": False, "deepeval": []}
    assert got["template_type"] == "Test Run" and got["created_at"].endswith("Z")

    listed = api.get("/templates/").json()  # trailing slash optional
    assert tid in listed["template_ids"]
    assert {"template_id": tid, "template_type": "Test Run"} in listed["templates"]
    assert tid in api.get("/templates", params={"type": "Test Run"}).json()["template_ids"]
    assert tid not in api.get("/templates", params={"type": "Test Mission"}).json()["template_ids"]

    r = api.put("/templates/update", json={"template_id": tid, "template_llm_prompt": "Be strict."})
    assert r.status_code == 200, r.text
    got2 = api.get(f"/templates/{tid}").json()
    assert (
        got2["template_llm_prompt"] == "Be strict."
        and got2["template_data"] == body["template_data"]
    )

    assert api.delete(f"/templates/{tid}").json() == {
        "message": f"Template '{tid}' deleted successfully"
    }
    r = api.get(f"/templates/{tid}")
    assert r.status_code == 404 and r.json() == {"error": f"Template with ID '{tid}' not found"}


def test_request_spec_may_be_a_json_string(api, sut):
    import json

    body = template(sut.url)
    body["test_request"] = json.dumps(body["test_request"])
    assert api.post("/templates/add", json=body).status_code == 200
    assert api.get(f"/templates/{body['template_id']}").json()["test_request"]["method"] == "POST"


def test_duplicate_template_is_409_and_keeps_the_first(api, sut):
    body = template(sut.url)
    assert api.post("/templates/add", json=body).status_code == 200
    second = {**body, "template_llm_prompt": "other"}
    r = api.post("/templates/add", json=second)
    assert r.status_code == 409 and "already exists" in r.json()["error"]
    assert (
        api.get(f"/templates/{body['template_id']}").json()["template_llm_prompt"]
        == body["template_llm_prompt"]
    )


def test_bad_template_bodies_are_400_and_store_nothing(api, sut):
    good = template(sut.url)
    cases = [
        ({k: v for k, v in good.items() if k != "template_id"}, "Missing 'template_id'"),
        ({k: v for k, v in good.items() if k != "template_data"}, "Missing 'template_data'"),
        ({**good, "template_data": "nope"}, "template_data"),
        ({**good, "template_type": "Exam"}, "template_type"),
        ({**good, "template_type": "Test Mission"}, "mission_duration"),
        ({**good, "test_request": {"method": "POST"}}, "url"),
        ({**good, "test_request": "{not json"}, "test_request"),
        ({**good, "test_request": {"url": "http://x", "method": "FETCH"}}, "method"),
        ({**good, "template_output_field": "a..b"}, "template_output_field"),
        ({**good, "evaluation_types": {"llm_assessment": "maybe"}}, "evaluation_types"),
        ({**good, "unknown_field": 1}, "unknown_field"),
    ]
    for body, expected in cases:
        r = api.post("/templates/add", json=body)
        assert r.status_code == 400, (body, r.text)
        assert expected in r.json()["error"], r.json()
    assert good["template_id"] not in api.get("/templates").json()["template_ids"]


def test_non_json_and_non_object_bodies(api):
    r = api.post("/templates/add", content=b"template_id=x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json() == {"error": "Request body is not valid JSON"}
    r = api.post("/templates/add", json=[1, 2])
    assert r.status_code == 400 and r.json() == {"error": "Request body must be a JSON object"}
    r = api.post("/templates/add", content=b"")
    assert r.status_code == 400


def test_oversize_body_is_413(api):
    r = api.post(
        "/templates/add",
        content=b"{" + b" " * (11 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413 and "limit" in r.json()["error"]


def test_update_and_delete_unknown_are_404_and_empty_update_is_400(api, sut):
    r = api.put("/templates/update", json={"template_id": uid("none"), "template_llm_prompt": "x"})
    assert r.status_code == 404
    assert api.delete(f"/templates/{uid('none')}").status_code == 404
    body = template(sut.url)
    api.post("/templates/add", json=body)
    r = api.put("/templates/update", json={"template_id": body["template_id"]})
    assert r.status_code == 400 and r.json() == {"error": "No fields provided for update"}
    r = api.put(
        "/templates/update",
        json={"template_id": body["template_id"], "template_type": "Test Mission"},
    )
    assert r.status_code == 400 and "mission_duration" in r.json()["error"]
    assert api.get(f"/templates/{body['template_id']}").json()["template_type"] == "Test Run"


def test_auth_is_required_and_checked(server):
    with httpx.Client(base_url=server.url) as anon:
        r = anon.get("/templates")
        assert r.status_code == 401
        assert r.json() == {"error": "Unauthorized"}
        assert r.headers["WWW-Authenticate"] == 'Basic realm="Assay"'
        assert anon.get("/templates", auth=("admin", "wrong")).status_code == 401
        assert anon.get("/templates", headers={"Authorization": "Basic !!!"}).status_code == 401
        assert anon.get("/version", auth=("admin", "wrong")).status_code == 401


def test_version_and_unknown_routes(api):
    from assay import __version__

    assert api.get("/version").json() == {"version": __version__}
    r = api.get("/no/such/route")
    assert r.status_code == 404 and "error" in r.json()
    r = api.patch("/templates/add", json={})
    assert r.status_code == 405 and "error" in r.json()
