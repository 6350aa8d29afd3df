"""Neural-network building blocks with PyTorch's names: ``tinygan.nn.Linear``, ``nn.Module``...

``nn.functional`` holds the stateless ops (conv2d, batch_norm, losses), ``nn.init`` the
initialisers (PyTorch's defaults and the DCGAN init).
"""
from . import init  # noqa: F401
from .batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from .layers import (Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten, Identity,  # noqa: F401
                     LeakyReLU, Linear, ReLU, Sigmoid, Tanh, Unflatten)
from .container import ModuleDict, ModuleList, Sequential  # noqa: F401
from .module import Module, Parameter  # noqa: F401
from .normalization import (GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,  # noqa: F401
                            LayerNorm)
from .padding import (CircularPad1d, CircularPad2d, CircularPad3d, ConstantPad1d,  # noqa: F401
                      ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d,
                      ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d,
                      ZeroPad1d, ZeroPad2d, ZeroPad3d)
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d,  # noqa: F401
                      MaxPool1d, MaxPool2d, MaxUnpool1d, MaxUnpool2d, Upsample,
                      UpsamplingBilinear2d, UpsamplingNearest2d)

try:  # functional.py is the lead's; tolerate its absence while it is being written
    from . import functional  # noqa: F401
except ImportError:  # pragma: no cover
    pass

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Conv2d", "ConvTranspose2d",
           "BatchNorm1d", "BatchNorm2d", "Dropout", "LeakyReLU", "ReLU", "Tanh", "Sigmoid",
           "Flatten", "Unflatten", "Embedding", "Identity", "init", "functional"]
__all__ += ["LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]
__all__ += ["MaxPool1d", "MaxPool2d", "MaxUnpool1d", "MaxUnpool2d", "AvgPool1d", "AvgPool2d",
            "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "Upsample", "UpsamplingNearest2d",
            "UpsamplingBilinear2d"]
__all__ += ["ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
            "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d",
            "CircularPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d",
            "ZeroPad2d", "ZeroPad3d"]
# activation modules
from .activation import (CELU, ELU, GELU, SELU, Hardsigmoid, Hardswish, Mish, SiLU,  # noqa: F401,E402
                         Softmin, Softplus, Softsign)
__all__ += ["GELU", "SiLU", "ELU", "SELU", "CELU", "Mish", "Hardswish", "Hardsigmoid", "Softsign",
            "Softplus", "Softmin"]
from .activation import (GLU, Hardshrink, Hardtanh, LogSigmoid, LogSoftmax, PReLU,  # noqa: F401,E402
                         ReLU6, Softmax, Softshrink, Tanhshrink, Threshold)
__all__ += ["Hardtanh", "ReLU6", "Threshold", "Hardshrink", "Softshrink", "Tanhshrink",
            "LogSigmoid", "GLU", "PReLU", "Softmax", "LogSoftmax"]
# loss modules
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss  # noqa: F401,E402
__all__ += ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "L1Loss", "MSELoss", "NLLLoss"]
from .loss import (CosineEmbeddingLoss, CosineSimilarity, GaussianNLLLoss, HingeEmbeddingLoss,  # noqa: F401,E402
                   HuberLoss, KLDivLoss, MarginRankingLoss, PairwiseDistance, PoissonNLLLoss,
                   SmoothL1Loss, SoftMarginLoss, TripletMarginLoss)
__all__ += ["SmoothL1Loss", "HuberLoss", "KLDivLoss", "MarginRankingLoss", "SoftMarginLoss",
            "HingeEmbeddingLoss", "CosineEmbeddingLoss", "TripletMarginLoss", "PoissonNLLLoss",
            "GaussianNLLLoss", "CosineSimilarity", "PairwiseDistance"]
# channel dropout, gradient clipping (nn.utils), one-device DataParallel (nn.parallel)
from .dropout import Dropout2d, GaussianNoise  # noqa: F401,E402
from . import parallel, utils  # noqa: F401,E402
from .parallel import DataParallel  # noqa: F401,E402
__all__ += ["Dropout2d", "GaussianNoise", "DataParallel", "parallel", "utils"]
# gradient reversal (domain-adversarial training)
from .gradient_reversal import GradientReversal, gradient_reversal  # noqa: F401,E402
__all__ += ["GradientReversal", "gradient_reversal"]
# the GAN objectives (minimax, non-saturating, WGAN, WGAN-GP's gradient penalty, hinge, LSGAN)
from . import gan_loss  # noqa: F401,E402
__all__ += ["gan_loss"]
# Progressive GAN's layers: pixel norm, minibatch stddev, equalised learning rate
from .progressive import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm  # noqa: F401,E402
__all__ += ["PixelNorm", "MinibatchStdDev", "EqualizedLinear", "EqualizedConv2d"]
# minibatch discrimination (Salimans et al. 2016), PacGAN's packing; spectral_norm lives in nn.utils
from .minibatch import MinibatchDiscrimination, Pack  # noqa: F401,E402
__all__ += ["MinibatchDiscrimination", "Pack"]

# DiffAugment (Zhao et al. 2020): translation and cutout of D's inputs, a gather linear operator.
from .augment import DiffAugment, diff_augment  # noqa: F401,E402
# sub-pixel shuffles, im2col / col2im
from .rearrange import Fold, PixelShuffle, PixelUnshuffle, Unfold  # noqa: F401,E402
__all__ += ["PixelShuffle", "PixelUnshuffle", "Unfold", "Fold"]
# 1-D convolutions
from .conv1d import Conv1d, ConvTranspose1d  # noqa: F401,E402
from .dropout import Dropout1d  # noqa: F401,E402
__all__ += ["Conv1d", "ConvTranspose1d", "Dropout1d"]
# Parameters in a list or a dict
from .parameter_containers import ParameterDict, ParameterList  # noqa: F401,E402
__all__ += ["ParameterList", "ParameterDict"]
# recurrent layers (Elman RNN, LSTM, GRU): cells and multi-layer, bidirectional modules
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell  # noqa: F401,E402
__all__ += ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"]
