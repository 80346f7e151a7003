import json

import pytest

from keras_theseus.distribute import parse_tf_config

GOOD = {"cluster": {"worker": ["localhost:12345", "10.0.0.2:12345"]},
        "task": {"type": "worker", "index": 1}}


def test_a_good_tf_config_is_returned(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(GOOD))
    assert parse_tf_config() == GOOD
    chief = {"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "chief",
                                                                         "index": 0}}
    assert parse_tf_config(json.dumps(chief)) == chief


@pytest.mark.parametrize("value,message", [
    ("{nope", "TF_CONFIG is not valid JSON"),
    ("[1, 2]", "TF_CONFIG  must be a JSON object with `cluster` and `task`"),
    ('{"task": {"type": "worker", "index": 0}}', "TF_CONFIG `cluster` must be an object"),
    ('{"cluster": {"trainer": ["a:1"]}, "task": {"type": "trainer", "index": 0}}',
     "TF_CONFIG `cluster` key 'trainer' must be one of"),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}',
     "TF_CONFIG `cluster['worker']` must be a non-empty list"),
    ('{"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}',
     "TF_CONFIG address in `cluster['worker']` must be 'host:port'. Received: 'localhost'"),
    ('{"cluster": {"worker": ["a:1"]}}', "TF_CONFIG `task` must be an object"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}',
     "TF_CONFIG `task.type` must be one of the cluster's task types ['worker']"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
     "TF_CONFIG `task.index` must be an int in [0, 2)"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": true}}',
     "TF_CONFIG `task.index` must be an int in [0, 1)"),
])
def test_a_malformed_tf_config_is_named(value, message):
    with pytest.raises(ValueError) as error:
        parse_tf_config(value)
    assert message in str(error.value)


def test_missing_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG is not set"):
        parse_tf_config()
