# Reference values of tests/masking/masked_rnn_test.cpp: Keras's masked RNN semantics computed with PyTorch
# (each sample's kept steps run alone from zero states, laid out on the time axis as keras/src/backend's rnn
# does). Run: /usr/bin/python3 tests/masking/masked_rnn_reference.py
import numpy as np, torch
torch.set_default_dtype(torch.float64)
def pat(shape, phase):
    n = int(np.prod(shape)); return (0.5*np.sin(0.7*np.arange(n)+phase)).reshape(shape)
B,T,F,u = 2,4,3,2
x = pat((B,T,F), 0.0)
masks = {"right": np.array([[1,1,1,1],[1,1,0,0]]), "left": np.array([[1,1,1,1],[0,1,1,1]]), "middle": np.array([[1,0,1,1],[0,1,0,1]])}
t = torch.tensor
def lstm_torch():
    W,U,b = pat((F,4*u),1), pat((u,4*u),2), pat((4*u,),3)
    m = torch.nn.LSTM(F,u,batch_first=True)
    with torch.no_grad():
        m.weight_ih_l0.copy_(t(W.T)); m.weight_hh_l0.copy_(t(U.T)); m.bias_ih_l0.copy_(t(b)); m.bias_hh_l0.zero_()
    return m
def gru_torch():
    W,U,b = pat((F,3*u),1), pat((u,3*u),2), pat((2,3*u),3)
    reorder = lambda M: np.concatenate([np.split(M,3,-1)[i] for i in (1,0,2)], -1)
    m = torch.nn.GRU(F,u,batch_first=True)
    with torch.no_grad():
        m.weight_ih_l0.copy_(t(reorder(W).T)); m.weight_hh_l0.copy_(t(reorder(U).T)); m.bias_ih_l0.copy_(t(reorder(b[0]))); m.bias_hh_l0.copy_(t(reorder(b[1])))
    return m
def simple_torch():
    W,U,b = pat((F,u),1), pat((u,u),2), pat((u,),3)
    m = torch.nn.RNN(F,u,batch_first=True)
    with torch.no_grad():
        m.weight_ih_l0.copy_(t(W.T)); m.weight_hh_l0.copy_(t(U.T)); m.bias_ih_l0.copy_(t(b)); m.bias_hh_l0.zero_()
    return m
def keras_masked(m, mask, zero_output):
    seq = np.zeros((B,T,u)); last = np.zeros((B,u))
    for i in range(B):
        kept = [s for s in range(T) if mask[i,s]]
        y = m(t(x[i:i+1, kept]))[0][0].detach().numpy() if kept else np.zeros((0,u))
        prev = np.zeros(u); k = 0
        for s in range(T):
            if mask[i,s]: prev = y[k]; k += 1; seq[i,s] = prev
            else: seq[i,s] = 0 if zero_output else prev
        last[i] = seq[i,T-1]
    return seq, last
fmt = lambda a: ", ".join("%.7ff" % v for v in a.ravel())
for name, ctor in [("lstm", lstm_torch), ("gru", gru_torch), ("simple_rnn", simple_torch)]:
    m = ctor()
    for mk, mask in masks.items():
        seq, last = keras_masked(m, mask, False)
        print(f"// {name} {mk} sequence\n{{{fmt(seq)}}}")
        print(f"// {name} {mk} last\n{{{fmt(last)}}}")
    seq, _ = keras_masked(m, masks["middle"], True)
    print(f"// {name} middle zero_output_for_mask sequence\n{{{fmt(seq)}}}")
