"""Read and check `TF_CONFIG`, the cluster description of multi-worker training."""

import json
import os

TASK_TYPES = ("chief", "worker", "evaluator", "ps")


def _fail(what, expected, received):
    raise ValueError(f"TF_CONFIG {what} must be {expected}. Received: {received!r}. "
                     "Example: TF_CONFIG='{\"cluster\": {\"worker\": [\"host0:12345\", "
                     "\"host1:12345\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}'")


def parse_tf_config(value=None):
    """The checked `TF_CONFIG` of this process, as a dict.

    `MultiWorkerMirroredStrategy` reads `$TF_CONFIG`; when it is malformed
    TensorFlow fails late (a hang or a gRPC error on the first step). This
    reads it first and names what is wrong.

    Args:
        value: the JSON text; default `$TF_CONFIG`.

    Returns:
        `{"cluster": {type: [address, ...]}, "task": {"type", "index"}}`.

    Raises:
        ValueError: TF_CONFIG missing, not JSON, without `cluster` /
            `task`, with a task type or index the cluster does not have,
            or with an address that is not `host:port`.

    Example:
    ```python
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": ["localhost:12345", "localhost:12346"]},
        "task": {"type": "worker", "index": 0}})
    parse_tf_config()["task"]   # {'type': 'worker', 'index': 0}
    ```
    """
    if value is None:
        value = os.environ.get("TF_CONFIG")
        if not value:
            raise ValueError(
                "TF_CONFIG is not set: multi-worker training needs it on every worker, e.g. "
                "TF_CONFIG='{\"cluster\": {\"worker\": [\"host0:12345\", \"host1:12345\"]}, "
                "\"task\": {\"type\": \"worker\", \"index\": 0}}' (index 1 on host1).")
    try:
        config = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}). Received: {value!r}") from None
    if not isinstance(config, dict):
        _fail("", "a JSON object with `cluster` and `task`", config)
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        _fail("`cluster`", "an object mapping task types to address lists", cluster)
    for task_type, addresses in cluster.items():
        if task_type not in TASK_TYPES:
            _fail(f"`cluster` key {task_type!r}", f"one of {TASK_TYPES}", task_type)
        if not isinstance(addresses, list) or not addresses:
            _fail(f"`cluster[{task_type!r}]`", "a non-empty list of 'host:port'", addresses)
        for address in addresses:
            host, _, port = str(address).rpartition(":")
            if not isinstance(address, str) or not host or not port.isdigit():
                _fail(f"address in `cluster[{task_type!r}]`", "'host:port'", address)
    if not isinstance(task, dict):
        _fail("`task`", "an object {\"type\": ..., \"index\": ...}", task)
    task_type, index = task.get("type"), task.get("index")
    if task_type not in cluster:
        _fail("`task.type`", f"one of the cluster's task types {sorted(cluster)}", task_type)
    if isinstance(index, bool) or not isinstance(index, int) \
            or not 0 <= index < len(cluster[task_type]):
        _fail("`task.index`", f"an int in [0, {len(cluster[task_type])}) "
              f"(the {task_type!r} addresses)", index)
    return config
