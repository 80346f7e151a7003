"""Training under `tf.distribute`: strategies by name, TF_CONFIG checks, scopes.

Every recipe (`finetune_teacher`, `compress_with_theseus`,
`distill_classifier`, `train_dynabert`, `search_subarchitectures`) takes
`strategy=`: a name from `STRATEGY_NAMES` or a `tf.distribute.Strategy`.
See docs/distributed.md.
"""

from keras_theseus.distribute.keras_patches import install as install_keras_patches
from keras_theseus.distribute.keras_patches import is_multi_worker
from keras_theseus.distribute.replication import check_built_in_scope
from keras_theseus.distribute.replication import replicate
from keras_theseus.distribute.replication import unreplicated
from keras_theseus.distribute.replication import variables_outside_scope
from keras_theseus.distribute.strategies import STRATEGY_NAMES
from keras_theseus.distribute.strategies import is_chief
from keras_theseus.distribute.strategies import resolve_strategy
from keras_theseus.distribute.strategies import strategy_scope
from keras_theseus.distribute.tf_config import parse_tf_config

__all__ = ["STRATEGY_NAMES", "check_built_in_scope", "install_keras_patches", "is_chief",
           "is_multi_worker", "parse_tf_config", "replicate", "resolve_strategy",
           "strategy_scope", "unreplicated", "variables_outside_scope"]
