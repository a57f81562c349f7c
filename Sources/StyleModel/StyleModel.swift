/// StyleLM: a small decoder-only transformer (LLaMA family) that learns from curated
/// outfits which item completes a look, trained and run on the CPU through OpenBLAS.
///
/// The pieces, each in its own file:
/// - `Tensor`, `Tape`: Float32 buffers and reverse-mode autodiff with fused ops
///   (every matrix product through `cblas_sgemm`);
/// - `StyleLMConfig`, `StyleLM`: the transformer, with Hugging Face LLaMA tensor names;
/// - `BPETokenizer`: byte-level BPE with byte fallback and special tokens;
/// - `SafeTensors`: the checkpoint format Python tools open.
public enum StyleModelInfo {
    /// Bumped when a checkpoint's meaning changes.
    public static let formatVersion = 1
}
