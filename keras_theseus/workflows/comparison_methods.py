"""How each method of a comparison grid trains one student (one cell)."""

import keras

from keras_theseus.models.classifier import build_text_classifier
from keras_theseus.models.classifier import compile_text_classifier
from keras_theseus.models.layer_dropping import drop_layers
from keras_theseus.models.precision import with_precision
from keras_theseus.models.presets import load_backbone


def uses_layer_search(spec):
    """Whether a spec's layers (or Theseus' init) are the layer search's pick."""
    return spec.options.get("layers", spec.options.get("init")) == "searched"


def student_layers(spec, num_layers, teacher_layers, searched=None):
    """The teacher layers a truncated / KD student keeps, or Theseus' init.

    `searched` is a callable giving the layer search's pick for `num_layers`
    (run only when a spec asks for `"searched"`).
    """
    from keras_theseus.distill.layer_selection import select_layers

    if uses_layer_search(spec):
        return list(searched(num_layers))
    choice = spec.options.get("layers", spec.options.get("init"))
    if spec.method == "theseus":
        return choice  # successor_source_layers validates it
    return select_layers(teacher_layers, num_layers, choice)


def train_student(spec, teacher, train, num_layers, seed, training, preset=None,
                  searched=None, verbose=2):
    """Train one student of the grid; return `(student, histories)`.

    Args:
        spec: the `MethodSpec`.
        teacher: the fine-tuned keras-hub `BertTextClassifier`.
        train: the seed's batched training `tf.data.Dataset`.
        num_layers: student depth k.
        seed: the cell's seed (init where random, dropout, draws).
        training: the config's `training` section (`epochs`,
            `learning_rate`); a spec's own `epochs` / `learning_rate` win.
        preset: the teacher's checkpoint (for `source: pretrained`).
        searched: callable k -> searched layers.
        verbose: `fit` verbosity.
    """
    options = spec.options
    # Every model below is built from the teacher and inherits its precision.
    teacher = with_precision(teacher, options.get("precision"),
                             float32_residual=options.get("float32_residual"))
    epochs = options.get("epochs", training["epochs"])
    learning_rate = options.get("learning_rate", training["learning_rate"])
    steps = int(train.cardinality())
    total_layers = teacher.backbone.num_layers
    keras.utils.set_random_seed(seed)
    if spec.method == "truncated":
        source = teacher
        if options["source"] == "pretrained":
            source = with_precision(
                build_text_classifier(load_backbone(preset), teacher.num_classes),
                options.get("precision"), float32_residual=options.get("float32_residual"))
        student = drop_layers(source, student_layers(spec, num_layers, total_layers, searched))
        compile_text_classifier(student, learning_rate=learning_rate, total_steps=steps * epochs)
        history = student.fit(train, epochs=epochs, verbose=verbose, shuffle=False)
        return student, {"finetune": history.history}
    if spec.method == "kd":
        from keras_theseus.distill import distill_classifier

        layers = student_layers(spec, num_layers, total_layers, searched)
        student, history = distill_classifier(
            teacher, train, student=drop_layers(teacher, layers), epochs=epochs,
            learning_rate=learning_rate, verbose=verbose,
            **{k: options[k] for k in ("temperature", "kd_weight", "label_weight",
                                       "hidden_mse_weight", "cosine_weight")})
        return student, {"distill": history.history}
    if spec.method == "theseus":
        from keras_theseus.theseus import ConstantReplacement
        from keras_theseus.theseus import compress_with_theseus
        from keras_theseus.theseus import default_schedule

        replacing = epochs - options["successor_epochs"]
        if replacing < 1:
            raise ValueError(f"Method {spec.label!r}: `epochs` ({epochs}) must exceed "
                             f"`successor_epochs` ({options['successor_epochs']}).")
        schedule = (default_schedule(steps * replacing, options["base"], options["reach_one_at"])
                    if options["schedule"] == "linear" else ConstantReplacement(options["base"]))
        result = compress_with_theseus(
            teacher, train, num_successor_layers=num_layers,
            init=student_layers(spec, num_layers, total_layers, searched), schedule=schedule,
            replacing_epochs=replacing, successor_epochs=options["successor_epochs"],
            learning_rate=learning_rate, train_embeddings=options["train_embeddings"],
            train_classifier=options["train_classifier"], seed=seed,
            kd_weight=options["kd_weight"], temperature=options["temperature"],
            successor_kd_weight=options.get("successor_kd_weight", 0.0), verbose=verbose)
        histories = {"replacing": result.replacing_history.history}
        if result.successor_history is not None:
            histories["successor"] = result.successor_history.history
        return result.successor, histories
    if spec.method == "dynabert":
        from keras_theseus.dynabert import DEFAULT_DEPTHS
        from keras_theseus.dynabert import DEFAULT_WIDTHS
        from keras_theseus.dynabert import extract_subnetwork
        from keras_theseus.dynabert import train_dynabert

        finetune = options["finetune_epochs"]
        if epochs - finetune < 2:
            raise ValueError(f"Method {spec.label!r}: `epochs` ({epochs}) must leave 2 epochs "
                             f"(DynaBERT_w, DynaBERT) before `finetune_epochs` ({finetune}).")
        depth = num_layers / total_layers
        width_epochs = (epochs - finetune) // 2
        # Importance from training batches: dev stays for model selection.
        result = train_dynabert(
            teacher, train, importance_data=train, importance_batches=min(steps, 32),
            widths=sorted({*DEFAULT_WIDTHS, options["width"]}, reverse=True),
            depths=sorted({*DEFAULT_DEPTHS, depth}, reverse=True), width_epochs=width_epochs,
            depth_epochs=epochs - finetune - width_epochs, learning_rate=learning_rate,
            verbose=verbose)
        student = extract_subnetwork(result.model, options["width"], depth)
        histories = {"dynabert_w": result.width_history.history,
                     "dynabert": result.depth_history.history}
        if finetune:
            compile_text_classifier(student, learning_rate=learning_rate,
                                    total_steps=steps * finetune)
            histories["finetune"] = student.fit(train, epochs=finetune, verbose=verbose,
                                                shuffle=False).history
        return student, histories
    raise ValueError(f"Unknown method {spec.method!r}.")
