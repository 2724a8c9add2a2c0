"""What layergen knows of keras.layers classes by name: which own no
trainable weights, and which compute the same in training as at inference.
A class not named here may do either (and so may a class of another module).
"""

from __future__ import annotations

# Classes that own no trainable weights (by name or name part).
WEIGHTLESS_LAYER_PARTS = ("Dropout", "Pooling", "Noise", "Cropping", "ZeroPadding")
WEIGHTLESS_LAYERS = frozenset(
    [
        "Activation",
        "ReLU",
        "LeakyReLU",
        "ELU",
        "Softmax",
        "Flatten",
        "Reshape",
        "Permute",
        "RepeatVector",
        "Identity",
        "Masking",
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
        "Concatenate",
        "Dot",
        "UpSampling1D",
        "UpSampling2D",
        "UpSampling3D",
    ]
)

# Classes whose call is the same in training and at inference (by name or
# name part): the weightless ones above (not Dropout or Noise), and these.
SAME_IN_TRAINING_PARTS = ("Pooling", "Cropping", "ZeroPadding", "UpSampling")
SAME_IN_TRAINING = WEIGHTLESS_LAYERS | frozenset(
    [
        "Dense",
        "EinsumDense",
        "Embedding",
        "Conv1D",
        "Conv2D",
        "Conv3D",
        "Conv1DTranspose",
        "Conv2DTranspose",
        "Conv3DTranspose",
        "DepthwiseConv1D",
        "DepthwiseConv2D",
        "SeparableConv1D",
        "SeparableConv2D",
        "LayerNormalization",
        "RMSNormalization",
        "GroupNormalization",
        "UnitNormalization",
        "PReLU",
    ]
)
