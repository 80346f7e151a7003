"""Result records for students of one teacher: latency, speedup and params measured once."""

from keras_theseus.reporting.results import make_record


def measure_student_records(teacher, students, *, experiment, dataset, teacher_name,
                            teacher_metric, metric="test_accuracy", split="test",
                            batch_size=32, sequence_length=128, repeats=10, warmup=2):
    """Time a teacher and its students interleaved and build one record per student.

    What every benchmark did by hand (latency → speedup → params → record),
    done once: the teacher and all students are timed in one
    `keras_theseus.timing.measure_latency` call on synthetic full-length
    batches (so every speedup is a ratio from the same rounds), and each
    record gets both parameter counts, both latencies and, from
    `make_record`, retention, speedup, device, versions and date.

    Args:
        teacher: the uncompressed classifier.
        students: `{method: spec}`, where `spec` is a dict with `model` and
            `metric` (the student's score), and optionally `config`
            (`student_config`), `notes`, `extra` and `train_step_ratio`.
        experiment, dataset, teacher_name: the records' `experiment`,
            `dataset` and `teacher` fields.
        teacher_metric: the teacher's score on the same split and metric.
        metric, split: what the scores are (`test_accuracy` on `test`).
        batch_size, sequence_length: the timed shape (capped at the
            teacher's maximum length).
        repeats, warmup: timed and untimed rounds.

    Returns:
        A list of records, in the order of `students` (append them with
        `append_record`).

    Example:
    ```python
    records = measure_student_records(
        teacher, {"kd 6→3": {"model": student, "metric": 0.873}},
        experiment="distill_movie_reviews", dataset="movie_reviews",
        teacher_name="all_minilm_l6_v2", teacher_metric=0.872)
    ```
    """
    from keras_theseus.timing import count_params
    from keras_theseus.timing import measure_latency
    from keras_theseus.timing import synthetic_inputs

    if not students:
        raise ValueError("`students` must name at least one student. Received: {}")
    allowed = {"model", "metric", "config", "notes", "extra", "train_step_ratio"}
    for method, spec in students.items():
        if not isinstance(spec, dict) or "model" not in spec or "metric" not in spec:
            raise ValueError(f"`students[{method!r}]` must be a dict with `model` and "
                             f"`metric`. Received: {spec!r}")
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"`students[{method!r}]` has unknown key(s) {sorted(unknown)}; "
                             f"allowed: {sorted(allowed)}.")
    if "teacher" in students:
        raise ValueError("`students` may not use the name 'teacher' (the teacher's own row).")
    length = min(sequence_length, teacher.backbone.max_sequence_length)
    models = {"teacher": teacher, **{m: s["model"] for m, s in students.items()}}
    latency = measure_latency(models, synthetic_inputs(batch_size, length,
                                                       teacher.backbone.vocabulary_size),
                              warmup=warmup, repeats=repeats)
    teacher_params = count_params(teacher)
    records = []
    for method, spec in students.items():
        records.append(make_record(
            experiment=experiment, method=method, dataset=dataset, teacher=teacher_name,
            metric=metric, split=split, teacher_metric=teacher_metric,
            student_metric=spec["metric"], student_config=spec.get("config"),
            teacher_params=teacher_params, student_params=count_params(spec["model"]),
            latency_ms_teacher=latency["teacher"]["median_ms"],
            latency_ms_student=latency[method]["median_ms"], batch_size=batch_size,
            sequence_length=length, train_step_ratio=spec.get("train_step_ratio"),
            notes=spec.get("notes"), extra=spec.get("extra")))
    return records
