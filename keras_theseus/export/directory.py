"""Write an export directory whole, never over one a user has without being asked."""

import contextlib
import os
import shutil
import tempfile


@contextlib.contextmanager
def staged_directory(directory, overwrite=False):
    """Yield an empty staging directory that replaces `directory` on success.

    The files are written beside the target and moved in whole, so an
    interrupted export never leaves a directory that looks complete, and
    an existing `directory` is only removed once the new one is ready.

    Args:
        directory: the directory to create.
        overwrite: replace an existing `directory`; otherwise it raises
            `FileExistsError` before anything is written.

    Example:
    ```python
    with staged_directory("student_hf") as staging:
        write_files(staging)
    ```
    """
    directory = os.path.abspath(os.fspath(directory))
    if os.path.lexists(directory) and not overwrite:
        raise FileExistsError(f"{directory} exists; pass overwrite=True to replace it.")
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}-", dir=parent)
    try:
        yield staging
        if os.path.lexists(directory):
            if os.path.isdir(directory) and not os.path.islink(directory):
                shutil.rmtree(directory)
            else:
                os.remove(directory)
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
