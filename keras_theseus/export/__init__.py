"""Export compressed models for serving (TF Serving SavedModel)."""

from keras_theseus.export.serving import INPUT_NAMES
from keras_theseus.export.serving import export_for_serving
from keras_theseus.export.serving import serving_path
from keras_theseus.export.portable import export_onnx
from keras_theseus.export.portable import export_tflite
from keras_theseus.export.portable import onnx_predict
from keras_theseus.export.portable import tflite_predict
