"""The special symbols that open every token output vocabulary, shared by the tasks that write
token targets (tasks/) and the decoders that read and write them (models/): a module below both.

    PAD = 0   fills a target sequence after its end; never scored
    BOS = 1   the decoder's first input
    EOS = 2   ends every target sequence (counted in Batch.target_lengths)
"""

PAD, BOS, EOS = 0, 1, 2

__all__ = ["PAD", "BOS", "EOS"]
