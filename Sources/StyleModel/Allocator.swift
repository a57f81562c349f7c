#if canImport(Glibc)
import Glibc
#endif

/// The C allocator's settings for model work.
///
/// A training or DPO step allocates logits and gradients of up to 2,048 × 4,096 floats
/// (32 MiB) and frees them at its end. glibc serves blocks that large with `mmap` and
/// returns them to the system on `free`, so every step faults in fresh zeroed pages:
/// measured on a Polyvore DPO round, 63M page faults and a third of the CPU time in the
/// kernel. Raising the mmap threshold and never trimming the heap keeps those blocks in
/// the process for the next step (the same round with these thresholds, set through
/// `GLIBC_TUNABLES`: 15 min 15 s → 11 min 53 s, page faults 63M → 89k, peak RSS 377 →
/// 383 MiB, the same model version).
public enum Allocator {
    /// Blocks up to this size come from the heap instead of their own mapping.
    public static let mmapThreshold: Int32 = 32 << 20
    /// Extra heap requested at each growth.
    public static let topPad: Int32 = 64 << 20

    /// Applies the settings; true when the allocator took them (false elsewhere than glibc).
    /// Call once at program start, before threads allocate.
    @discardableResult
    public static func tuneForModelWork() -> Bool {
        #if canImport(Glibc)
        // malloc.h is not part of the Glibc module: look `mallopt` up in the C library.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        // M_MMAP_THRESHOLD = -3, M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2 (malloc.h).
        let mmap = mallopt(-3, mmapThreshold) == 1
        let trim = mallopt(-1, Int32.max) == 1
        let pad = mallopt(-2, topPad) == 1
        return mmap && trim && pad
        #else
        return false
        #endif
    }
}
