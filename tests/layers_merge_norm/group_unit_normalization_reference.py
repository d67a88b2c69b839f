# Reference values of tests/layers_merge_norm/group_unit_normalization_test.cpp, computed with PyTorch in
# float64: torch.nn.functional.group_norm (channels moved first) and x / ||x|| over the axes.
# Run: /usr/bin/python3 tests/layers_merge_norm/group_unit_normalization_reference.py
import numpy as np, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
def pat(shape, phase):
    n = int(np.prod(shape)); return torch.tensor((0.5*np.sin(0.7*np.arange(n)+phase)).reshape(shape))
def show(name, t): print(name, np.array2string(t.detach().numpy().ravel(), precision=6, separator=', ', max_line_width=116, floatmode='fixed'))
x = pat((2,2,3,6), 0.3)
y = F.group_norm(x.permute(0,3,1,2), 3, pat((6,),1.0), pat((6,),2.0), eps=1e-3).permute(0,2,3,1)
show("group_norm_channels_last", y)
x1 = pat((2,4,5), 0.8) * 3.0
show("group_norm_channels_first", F.group_norm(x1, 2, None, None, eps=1e-3))
x2 = pat((2,3,4), 0.1)
show("unit_norm_last", x2 / x2.norm(dim=-1, keepdim=True))
show("unit_norm_12", x2 / x2.norm(dim=(1,2), keepdim=True))
