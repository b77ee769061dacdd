"""Helpers for the API's black-box tests: JSON requests and problem+json checks."""

import pytest

PROBLEM = "application/problem+json"


class Api:
    """A token-authenticated client speaking JSON to /api/v1/."""

    def __init__(self, client):
        self.client = client

    def get(self, path, **params):
        return self.client.get("/api/v1" + path, params)

    def post(self, path, data=None):
        return self.client.post("/api/v1" + path, data or {}, content_type="application/json")

    def patch(self, path, data):
        return self.client.patch("/api/v1" + path, data, content_type="application/json")

    def put(self, path, data):
        return self.client.put("/api/v1" + path, data, content_type="application/json")

    def delete(self, path):
        return self.client.delete("/api/v1" + path)

    def all(self, path, limit=2, **params):
        """Every row of a list, following `next` page by page."""
        rows, cursor, pages = [], None, 0
        while True:
            query = {"limit": limit, **params}
            if cursor:
                query["cursor"] = cursor
            response = self.get(path, **query)
            assert response.status_code == 200, response.content
            body = response.json()
            assert set(body) == {"results", "next"}
            assert len(body["results"]) <= limit
            rows += body["results"]
            pages += 1
            cursor = body["next"]
            if not cursor:
                return rows, pages


def assert_problem(response, status, field=None):
    """The response is an application/problem+json error; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    assert isinstance(body["detail"], str)
    if field is not None:
        assert field in body["errors"], body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    return body


@pytest.fixture
def pm(pm_api):
    return Api(pm_api)


@pytest.fixture
def viewer(viewer_api):
    return Api(viewer_api)


@pytest.fixture
def outsider(outsider_api):
    return Api(outsider_api)
