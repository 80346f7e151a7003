"""Export compressed models: TF Serving, TFLite, ONNX, Hugging Face, keras-hub presets."""

from keras_theseus.export.serving import INPUT_NAMES
from keras_theseus.export.serving import export_for_serving
from keras_theseus.export.serving import serving_path
from keras_theseus.export.portable import export_onnx
from keras_theseus.export.portable import export_tflite
from keras_theseus.export.portable import onnx_predict
from keras_theseus.export.portable import tflite_predict
from keras_theseus.export.hf_checkpoint import attention_layout
from keras_theseus.export.hf_checkpoint import bert_hf_config
from keras_theseus.export.hf_checkpoint import bert_hf_weights
from keras_theseus.export.hf_checkpoint import save_hf_checkpoint
from keras_theseus.export.keras_hub_preset import save_keras_hub_preset
