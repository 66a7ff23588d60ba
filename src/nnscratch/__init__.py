"""nnscratch: neural networks from first principles on raw PyTorch tensors.

The layout is the mapping table (each module's docstring names the PyTorch piece it replaces):

    module.py       parameter(), Module       ↔ nn.Parameter, nn.Module
    init.py         linear_ init              ↔ nn.init / nn.Linear.reset_parameters
    layers.py       Linear                    ↔ nn.Linear
    models.py       LinearRegression          ↔ nn.Linear(in_features, 1)
    losses.py       mse_loss, ...             ↔ nn.MSELoss, ...
    optim/          SGD, ...                  ↔ torch.optim
    data/batches.py batches                   ↔ DataLoader(TensorDataset)
    loop.py         fit: the five-step loop   ↔ the training loop
    verify/         the executable mapping table (the only place that imports torch.nn)
"""

from nnscratch.layers import Linear
from nnscratch.loop import fit
from nnscratch.models import LinearRegression
from nnscratch.module import Module, parameter

__all__ = ["Linear", "LinearRegression", "Module", "fit", "parameter"]
__version__ = "0.1.0"
