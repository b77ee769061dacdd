from django.urls import reverse


def test_home_lists_what_needs_attention(pm_client, acme):
    response = pm_client.get(reverse("core:home", kwargs={"ws": "acme"}))
    assert response.status_code == 200
    assert b"Untriaged insights" in response.content


def test_outsider_gets_404_for_another_workspace(outsider_client, acme):
    response = outsider_client.get(reverse("core:home", kwargs={"ws": "acme"}))
    assert response.status_code == 404


def test_anonymous_is_sent_to_login(client, acme):
    response = client.get(reverse("core:home", kwargs={"ws": "acme"}))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
