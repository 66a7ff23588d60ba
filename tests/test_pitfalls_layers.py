"""The two pitfalls the new layers bring, with their symptoms, and PyTorch confirming the fix."""

import torch
from torch import nn

from nnscratch.lab.pitfalls import causal_mask_off_by_one as mask_pitfall
from nnscratch.lab.pitfalls import forget_eval, get, run
from nnscratch.layers.attention import causal_mask


def test_forget_eval_predictions_change_and_running_statistics_move():
    result = run(get("forget-eval"))
    b, c = result.broken.observed, result.correct.observed
    assert b["max |1st − 2nd| over 8 samples"] > 0.1  # a new dropout mask per call
    assert b["sample 0: 1st call"] != b["sample 0: in a batch of 2"]  # batch statistics
    assert b["running_mean moved by predicting"] > 0
    assert c["max |1st − 2nd| over 8 samples"] == 0 and c["running_mean moved by predicting"] == 0
    assert c["sample 0: 1st call"] == c["sample 0: 2nd call"] == c["sample 0: in a batch of 2"]


def test_forget_eval_torch_nn_in_eval_mode_predicts_what_the_fixed_model_does():
    model, X_test = forget_eval.trained_model()
    torch_model = nn.Sequential(
        nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 1)
    )
    torch_model.load_state_dict(model.state_dict())  # weights and running statistics
    model.eval(), torch_model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(X_test), torch_model(X_test), atol=1e-6, rtol=1e-5)
        torch_model.train()  # and nn's training mode shows the same symptom
        assert not torch.equal(torch_model(X_test), torch_model(X_test))


def trigrams_in_corpus(sample: str) -> float:
    """The fraction of the generated part's 3-character pieces that occur in the training text."""
    text = mask_pitfall.corpus().replace("\n", "⏎")
    generated = sample[len(mask_pitfall.PROMPT) - 2 :]
    pieces = [generated[i : i + 3] for i in range(len(generated) - 2)]
    return sum(p in text for p in pieces) / len(pieces)


def test_causal_mask_off_by_one_low_training_loss_and_nonsense_samples():
    result = run(get("causal-mask-off-by-one"))
    b, c = result.broken.observed, result.correct.observed
    assert b["training_loss"] < 0.2 < c["training_loss"]  # suspiciously low: it copies
    assert trigrams_in_corpus(b["greedy_sample"]) < trigrams_in_corpus(c["greedy_sample"])


def test_the_correct_mask_is_pytorchs_causal_mask():
    T = mask_pitfall.T
    correct = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)  # what `correct` hides
    torch_mask = nn.Transformer.generate_square_subsequent_mask(T)  # −inf above the diagonal
    assert torch.equal(correct, torch_mask == -torch.inf)
    assert torch.equal(correct, causal_mask(T))
    off_by_one = torch.ones(T, T, dtype=torch.bool).triu(diagonal=2)
    assert not off_by_one[0, 1]  # position 0 reads position 1: the character it predicts
