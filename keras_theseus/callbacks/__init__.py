"""keras_theseus callbacks, in one place as `keras.callbacks` users expect."""

from keras_theseus.theseus.replacement_scheduler import ReplacementScheduler
from keras_theseus.timing.timing_callback import TimingCallback
from keras_theseus.dynabert.callbacks import SubnetworkEvaluator
from keras_theseus.dynabert.callbacks import SubnetworkSampler
