"""Parts of addexp from outside it: the `gru_seq2seq` family and the `within_one` metric."""
