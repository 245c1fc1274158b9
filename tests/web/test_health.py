import pytest

from service.app import create_app
from service.bootstrap import configure
from tests.helpers.servers import RedisServer


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_is_ready_on_the_embedded_default(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "broker": "ok"}


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def test_readyz_turns_503_naming_redis_while_redis_is_down_and_200_when_back(settings, own_redis):
    app = create_app(runtime=configure(settings.replace(redis_url=own_redis.url)))
    client = app.test_client()
    assert client.get("/readyz").status_code == 200

    own_redis.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["down"] == ["redis"]
    assert response.json["checks"]["database"] == "ok"

    own_redis.start()
    assert client.get("/readyz").status_code == 200


def test_readyz_does_not_reveal_the_redis_url(settings, own_redis):
    url = f"redis://:s3cret-pass@127.0.0.1:{own_redis.port}/0"
    own_redis.stop()
    client = create_app(runtime=configure(settings.replace(redis_url=url))).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "s3cret" not in response.get_data(as_text=True)
