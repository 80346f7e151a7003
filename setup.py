"""keras_theseus: compress BERT-style text encoders with Keras 3."""

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
version = {}
exec((HERE / "keras_theseus" / "version.py").read_text(), version)

setup(
    name="keras-theseus",
    version=version["__version__"],
    description=(
        "BERT-of-Theseus, distillation, DynaBERT and subarchitecture search "
        "for Keras 3 / keras-hub text encoders."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["keras_theseus", "keras_theseus.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow==2.21.*",
        "keras>=3.12",
        "keras-hub>=0.32",
        "tensorflow-datasets>=4.9",
        "importlib_resources",
        "numpy",
        "pandas",
        "safetensors",
        "matplotlib",
        # Intervals and exact tests of the comparison runner (t, binomial).
        "scipy",
        # Comparison grids written as YAML.
        "pyyaml",
    ],
    extras_require={
        # ONNX export (tf2onnx) and its check (onnxruntime).
        "export": ["tf2onnx==1.17.*", "onnx", "onnxruntime"],
        # The PyTorch peer benchmark (benchmarks/peer_pytorch.py) and the
        # parity tests against transformers' reference implementation.
        "bench": ["torch==2.13.0", "transformers"],
        # pytest-xdist: README's test command runs the suite in two processes.
        "dev": ["pytest", "pytest-xdist", "tf2onnx==1.17.*", "onnx", "onnxruntime",
                "torch==2.13.0", "transformers"],
    },
    entry_points={
        "console_scripts": ["keras-theseus=keras_theseus.cli:main"],
    },
)
