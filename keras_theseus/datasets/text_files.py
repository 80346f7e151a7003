"""Reading UTF-8 text files line by line with errors that name file and line."""


def iter_utf8_lines(path):
    """Yield `(line_number, line)` with the line ending removed.

    A byte-order mark on the first line is dropped.

    Raises:
        ValueError: naming the file and line that is not valid UTF-8.
    """
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                yield lineno, raw.decode("utf-8-sig" if lineno == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}: line {lineno}: not valid UTF-8 ({e}).") from e
