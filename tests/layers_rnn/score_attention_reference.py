# Reference values of tests/layers_rnn/score_attention_test.cpp: Keras's Attention and AdditiveAttention
# (keras/src/layers/attention/attention.py, additive_attention.py) computed with PyTorch in float64.
# Run: /usr/bin/python3 tests/layers_rnn/score_attention_reference.py
import numpy as np, torch
torch.set_default_dtype(torch.float64)
def pat(shape, phase):
    n = int(np.prod(shape)); return torch.tensor((0.5*np.sin(0.7*np.arange(n)+phase)).reshape(shape))
q, v, k = pat((2,3,4),0.5), pat((2,5,3),1.5), pat((2,5,4),2.5)
q_mask = torch.tensor([[1.,1,0],[1,0,1]]); v_mask = torch.tensor([[1.,1,1,0,0],[1,0,1,1,1]])
def apply(scores, value, keep=None, qm=None):
    if keep is not None: scores = scores - 1e9*(1-keep)
    w = torch.softmax(scores, -1); out = w @ value
    if qm is not None: out = out*qm[..., None]
    return out, w
def dot(qq, kk, scale=None):
    s = qq @ kk.transpose(1,2); return s*scale if scale is not None else s
def concat(qq, kk, scale, weight):
    return weight*torch.tanh(scale*(qq[:,:,None,:]+kk[:,None,:,:])).sum(-1)
def additive(qq, kk, scale):
    return (scale*torch.tanh(qq[:,:,None,:]+kk[:,None,:,:])).sum(-1)
causal = torch.tril(torch.ones(3,5))[None]
def show(name, t): print(name, np.array2string(t.detach().numpy().ravel(), precision=6, separator=', ', max_line_width=116, floatmode='fixed'))
o, w = apply(dot(q, q), q); show("self_dot_output", o); show("self_dot_scores", w)
o, w = apply(dot(q, k, 0.7), v, keep=causal); show("causal_scaled_key_output", o); show("causal_scaled_key_scores", w)
o, w = apply(dot(q, k), v, keep=v_mask[:,None,:], qm=q_mask); show("masked_output", o); show("masked_scores", w)
o, w = apply(concat(q, k, 0.7, 1.3), v); show("concat_output", o)
o, w = apply(additive(q, k, pat((4,),3.0)), v, keep=v_mask[:,None,:], qm=q_mask); show("additive_masked_output", o); show("additive_masked_scores", w)
o, w = apply(additive(q, k, 1.0), v); show("additive_unscaled_output", o)
