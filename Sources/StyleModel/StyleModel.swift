// StyleLM: a small decoder-only transformer (LLaMA family) that learns from curated
// outfits which item completes a look, trained and run on the CPU through OpenBLAS.
//
// The pieces, each in its own files:
// - Tensor, Tape (TapeOps, TapeLayers, TapeAttention, TapeLosses): Float32 buffers and
//   reverse-mode autodiff with fused ops, every matrix product through cblas_sgemm;
// - StyleLMConfig, StyleLM: the trainable transformer with LoRA, Hugging Face LLaMA names;
// - StyleLMInference (InferenceBatch, InferenceKernels): the no-grad forward with a KV
//   cache, batched candidate scoring and generation;
// - BPETokenizer: byte-level BPE with byte fallback and special tokens;
// - OutfitPrompts: the paper's prompt recipe in tokens;
// - Training, StyleLMTraining: AdamW, schedules, batches, checkpoints, the base + SFT recipe;
// - SafeTensors, ModelDirectory: checkpoints Python tools open;
// - StyleLMScoring: a trained model as a scorer of candidates.

public enum StyleModelInfo {
    /// The model-directory format this Lookbook writes; it reads this and older ones.
    public static let formatVersion = 1
}
