"""The operations of `nnscratch.autograd`, grouped by kind; each records one `Node` whose
backward formula lives in `nnscratch.backprop`:

    elementwise   + − ⊙ / ** neg exp log … where masked_fill relu tanh sigmoid gelu
    reduce        sum mean amax max
    shape         reshape view transpose permute squeeze expand indexing gather cat stack split
                  unfold constant_pad_nd
    matmul        @ addmm
    nn            conv2d max_pool2d layer_norm batch_norm softmax log_softmax attention
    attention     attention with any mask and scale (the plain form)
"""
